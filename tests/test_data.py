"""tsgate.data, tsgate.layout and tsgate.windows: panels, gaps, cut-offs,
windows, calendar features, seasons."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly, two_series
from tsgate.data import Panel, extend, season_length
from tsgate.layout import Layout, calendar_features

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="windows are gathered with tf.data")


def test_windows_align_targets_after_the_input():
    from tsgate.windows import window_dataset

    df = pd.DataFrame({"y": np.arange(10.0)}, index=pd.date_range("2024-01-01", periods=10, freq="D", name="time"))
    panel = Panel.from_frame(df, ["y"])
    starts, dropped = panel.window_starts(3 + 2)
    np.testing.assert_array_equal(starts, np.arange(6))
    assert dropped == 0
    x, y = next(iter(window_dataset({"target": panel.values}, starts, 3, 2, batch_size=10)))
    # The input ending at t is followed by the targets t+1 .. t+2.
    np.testing.assert_array_equal(x["past_target"].numpy()[2, :, 0], [2, 3, 4])
    np.testing.assert_array_equal(y.numpy()[2, :, 0], [5, 6])


def test_no_window_straddles_a_gap():
    df = hourly(50).drop(pd.Timestamp("2024-01-01 20:00"))
    panel = Panel.from_frame(df, ["y"])
    assert panel.gap_rows == 1 and len(panel.values) == 50
    starts, dropped = panel.window_starts(10)
    assert dropped == 10  # the 10 spans that would contain 20:00
    gap = int(np.flatnonzero(~panel.valid)[0])
    assert all(not (s <= gap < s + 10) for s in starts)
    assert len(starts) == 41 - 10


def test_several_series_of_different_lengths_stay_apart():
    panel = Panel.from_frame(two_series(), ["y"], series_column="site", static_columns=["elevation"])
    assert panel.series == ["a", "b"] and list(np.diff(panel.offsets)) == [400, 300]
    starts, _ = panel.window_starts(30)
    assert len(starts) == (400 - 29) + (300 - 29)
    assert not any(s < 400 < s + 30 for s in starts)  # no window spans two series
    np.testing.assert_array_equal(panel.static[:, 0], [1.0, 2.0])


def test_windows_select_targets_by_cutoff():
    panel = Panel.from_frame(hourly(100), ["y"])
    cutoff = panel.cutoff(0.25, "validation")
    before, _ = panel.windows(10, 5, before=cutoff)
    after, _ = panel.windows(10, 5, after=cutoff)
    assert (panel.time[before + 14] < cutoff).all() and (panel.time[after + 10] >= cutoff).all()
    assert len(before) + len(after) <= len(panel.window_starts(15)[0])
    assert panel.cutoff("2024-01-03", "test") == np.datetime64("2024-01-03")
    with pytest.raises(ValueError, match="argument `test`"):
        panel.cutoff(1.5, "test")


def test_panel_frame_is_indexed_by_series_and_time():
    frame = Panel.from_frame(two_series(), ["y"], series_column="site").frame("site")
    assert frame.index.names == ["site", "time"] and len(frame) == 700
    assert frame.loc["b"].index[0] == pd.Timestamp("2024-01-05")


def test_extend_appends_the_horizon_with_future_covariates():
    df = hourly(30)
    future = hourly(3, start=df.index[-1] + pd.Timedelta("1h"), seed=5)
    extended = extend(df, 3, "h", future=future, future_columns=("x",))
    assert len(extended) == 33 and extended.index[-1] == df.index[-1] + pd.Timedelta("3h")
    np.testing.assert_array_equal(extended["x"].iloc[-3:], future["x"])
    with pytest.raises(ValueError, match="lacks covariates"):
        extend(df, 3, "h", future=future.iloc[:2], future_columns=("x",))


@pytest.mark.parametrize("freq,season", [("h", 24), ("15min", 96), ("2h", 12), ("D", 7), ("B", 5), ("7min", 1)])
def test_seasonal_naive_season_follows_the_frequency(freq, season):
    assert season_length(freq) == season


def test_calendar_features_are_sin_cos_of_the_field():
    index = pd.date_range("2024-01-01", periods=48, freq="h")
    features = calendar_features(index, ["hour"])
    np.testing.assert_allclose(features["hour_sin"].iloc[6], 1.0, atol=1e-12)
    np.testing.assert_allclose(features["hour_cos"].iloc[12], -1.0, atol=1e-12)


def test_layout_splits_values_and_scaling_by_role():
    layout = Layout(("y",), past=("x",), future=("f",), calendar=("hour",), static=("s",))
    values = np.arange(12.0).reshape(4, 3)
    arrays = layout.arrays(values, pd.date_range("2024-01-01", periods=4, freq="h").to_numpy())
    np.testing.assert_array_equal(arrays["target"][:, 0], values[:, 0])
    np.testing.assert_array_equal(arrays["past_covariates"][:, 0], values[:, 1])
    assert arrays["future_covariates"].shape == (4, 3)  # f, hour_sin, hour_cos
    scaling = layout.input_scaling(np.array([[2.0, 3.0, 4.0]]), np.array([[1.0, 1.0, 1.0]]))
    np.testing.assert_array_equal(scaling["future_covariates"][0], [[4.0, 1.0, 1.0]])
    np.testing.assert_array_equal(scaling["future_covariates"][1], [[1.0, 0.0, 0.0]])
    assert layout.input_columns()["future_covariates"] == ["f", "hour_sin", "hour_cos"]
    spec = layout.spec(8, 2)
    assert spec.input_shapes() == {"past_target": (8, 1), "past_covariates": (8, 1),
                                   "future_covariates": (2, 3), "static": (1,)}
