"""tsgate.data, tsgate.layout and tsgate.windows: panels, gaps, cut-offs,
windows, calendar features, seasons."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly, two_series
from tsgate import cli
from tsgate.calendar_features import calendar_features
from tsgate.data import Panel, frame_times, future_values, season_length
from tsgate.layout import Layout

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


def test_a_fraction_cut_off_snaps_to_the_first_row_at_or_after_it():
    daily = hourly(500).resample("D").mean()  # 21 days: 22 % of the 20-day span starts at 14:24 on day 16
    cutoff = Panel.from_frame(daily, ["y"]).cutoff(0.22, "test")
    assert cutoff == np.datetime64(daily.index[-5])
    from tsgate.cli.options import cutoff_time

    assert cutoff_time(daily.index, 0.22, "--test") == daily.index[-5]


def test_panel_frame_is_indexed_by_series_and_time():
    frame = Panel.from_frame(two_series(), ["y"], series_column="site").frame("site")
    assert frame.index.names == ["site", "time"] and len(frame) == 700
    assert frame.loc["b"].index[0] == pd.Timestamp("2024-01-05")


def test_extend_appends_the_horizon_and_future_reads_its_covariates():
    df = hourly(30)
    panel, added = Panel.from_frame(df, ["y", "x"]).extend(3)
    assert len(panel.values) == 33 and added.tolist() == [[30, 31, 32]]
    assert panel.index()[-1] == df.index[-1] + pd.Timedelta("3h") and panel.valid.all()
    # A future frame whose index is an unnamed date_range, as users build it.
    future = hourly(3, start=df.index[-1] + pd.Timedelta("1h"), seed=5).rename_axis(None)
    values = future_values(future, panel, added, ["x"])
    np.testing.assert_allclose(values[0, :, 0], future["x"], rtol=1e-6)
    with pytest.raises(ValueError, match="lacks covariates"):
        future_values(future.iloc[:2], panel, added, ["x"])


@pytest.mark.parametrize(
    "future,message",
    [
        (np.zeros((3, 1)), "argument `future`, expected a pandas DataFrame"),
        (pd.DataFrame({"x": [1.0, 2.0, 3.0]}), "`future` needs a DatetimeIndex"),
        (pd.DataFrame({"z": [1.0]}, index=pd.DatetimeIndex(["2024-01-02 06:00"])), r"\['x'\] are missing from `future`"),
        (pd.DataFrame({"x": [1.0] * 4}, index=pd.DatetimeIndex(["2024-01-02 06:00", "2024-01-02 07:00",
                                                              "2024-01-02 07:00", "2024-01-02 08:00"])),
         "`future` has timestamp 2024-01-02 07:00:00 more than once"),
        (pd.DataFrame({"x": [1.0, np.nan, 3.0]}, index=pd.date_range("2024-01-02 06:00", periods=3, freq="h")),
         "'x' of `future` has NaN or inf at \\['2024-01-02 07:00:00'\\]; clean it"),
        (pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.date_range("2024-01-02 06:00", periods=3, freq="h", tz="UTC")),
         "`future` has timestamps in time zone 'UTC'"),
    ],
)
def test_bad_future_frames_are_named(future, message):
    panel, added = Panel.from_frame(hourly(30), ["y", "x"]).extend(3)
    with pytest.raises(ValueError, match=message):
        future_values(future, panel, added, ["x"])


def test_values_beyond_float32_are_refused_with_column_series_and_time():
    df = two_series()
    df.loc[(df.site == "b") & (df.index == pd.Timestamp("2024-01-06 03:00")), "x"] = 1e39
    with pytest.raises(ValueError, match=r"'x' in series 'b' of `df` has values beyond the float32 range.*"
                                         r"2024-01-06 03:00"):
        Panel.from_frame(df, ["y", "x"], series_column="site")
    with pytest.raises(ValueError, match="beyond the float32 range"):  # fill repairs missing values, not these
        Panel.from_frame(df, ["y", "x"], series_column="site", fill="zero")


@pytest.mark.parametrize(
    "values,kind",
    [(lambda n: np.arange(n) + 1j, "complex"), (lambda n: ["a"] * n, "dtype"), (lambda n: np.ones(n, bool), "dtype bool"),
     (lambda n: pd.date_range("2024", periods=n), "dtype datetime64")],
)
def test_columns_that_are_not_real_numbers_are_refused_by_name(values, kind):
    df = hourly(30)
    df["x"] = values(len(df))
    with pytest.raises(ValueError, match=f"Column 'x' of `df` must be numeric \\(real numbers\\), got {kind}"):
        Panel.from_frame(df, ["y", "x"])


def test_nullable_columns_are_read_with_their_missing_values():
    df = hourly(30).astype({"x": "Float64"})
    df.loc[df.index[4], "x"] = pd.NA
    with pytest.raises(ValueError, match=r"'x' has NaN or inf at \['2024-01-01 04:00:00'\]"):
        Panel.from_frame(df, ["y", "x"])
    assert np.isfinite(Panel.from_frame(df, ["y", "x"], fill="interpolate").values).all()


def test_rows_without_series_id_are_an_error_not_dropped():
    df = two_series()
    df.loc[df.index[[5, 9]], "site"] = None
    with pytest.raises(ValueError, match=r"Column 'site' of `df` has no series id \(NaN/None\) at rows \[5, 9\] "
                                         r"\(\['2024-01-01 05:00:00', '2024-01-01 09:00:00'\]\)"):
        Panel.from_frame(df, ["y"], series_column="site")
    df["site"] = [(1, 2)] * len(df)
    with pytest.raises(ValueError, match="must be strings or numbers"):
        Panel.from_frame(df, ["y"], series_column="site")


def test_a_column_with_nothing_to_fill_from_is_named():
    df = two_series()
    df.loc[df.site == "b", "y"] = np.nan
    with pytest.raises(ValueError, match=r"Column 'y' in series 'b' of `df` has no finite value: fill='ffill'"):
        Panel.from_frame(df, ["y"], series_column="site", fill="ffill")


def test_static_covariates_must_be_finite_and_constant():
    df = two_series()
    df.loc[df.index[3], "elevation"] = np.nan
    with pytest.raises(ValueError, match=r"'elevation' in series 'a' has NaN or inf at \['2024-01-01 03:00:00'\]"):
        Panel.from_frame(df, ["y"], series_column="site", static_columns=["elevation"], fill="zero")
    df.loc[df.index[3], "elevation"] = 5.0
    with pytest.raises(ValueError, match="'elevation' varies over time in series 'a'"):
        Panel.from_frame(df, ["y"], series_column="site", static_columns=["elevation"])


@pytest.mark.parametrize(
    "mutate,time_column,message",
    [
        (lambda df: df.iloc[:0], None, "`df` is empty"),
        (lambda df: df.rename_axis("y"), None, "index of `df` is named 'y' like one of its columns"),
        (lambda df: df.reset_index(drop=True), None, "needs a DatetimeIndex or a `time_column`; its index is a RangeIndex"),
        (lambda df: df.reset_index(), "when", r"\['when'\] are missing"),
        (lambda df: df.reset_index().assign(time=lambda d: d.time.astype("int64")), "time", "must hold timestamps"),
        (lambda df: df.reset_index().assign(time="soon"), "time", "holds values that are not timestamps"),
        (lambda df: df.set_axis(df.index.where(np.arange(len(df)) != 2)), None, r"NaT\) at rows \[2\]"),
        (lambda df: pd.concat([df, df[["y"]]], axis=1), None, r"\['y'\] appear more than once"),
        (lambda df: df.set_axis(pd.MultiIndex.from_product([["a"], df.columns]), axis=1), None, "MultiIndex columns"),
    ],
)
def test_frames_without_usable_rows_or_timestamps_are_named(mutate, time_column, message):
    with pytest.raises(ValueError, match=message):
        Panel.from_frame(mutate(hourly(30)), ["y"], time_column=time_column)


def test_series_of_different_frequencies_need_freq():
    daily = hourly(30).set_axis(pd.date_range("2024-01-01", periods=30, freq="D", name="time")).assign(site="b")
    df = pd.concat([hourly(30).assign(site="a"), daily])
    with pytest.raises(ValueError, match=r"frequency in series 'b' \(D\) differs from the first series' \(h\)"):
        Panel.from_frame(df, ["y"], series_column="site")


def test_time_zones_are_converted_to_the_expected_one_and_never_mixed_with_naive():
    berlin = hourly(48).tz_localize("Europe/Berlin")
    panel = Panel.from_frame(berlin.tz_convert("Asia/Tokyo"), ["y"], tz="Europe/Berlin")
    assert panel.tz == "Europe/Berlin" and panel.index()[0] == pd.Timestamp("2024-01-01", tz="Europe/Berlin")
    np.testing.assert_array_equal(panel.time, Panel.from_frame(berlin, ["y"]).time)  # the same instants
    hours = Layout(("y",), calendar=("hour",)).arrays(panel.values, panel.index())["future_covariates"]
    np.testing.assert_allclose(hours[6], [1.0, 0.0], atol=1e-6)  # 06:00 in Berlin, whatever the frame's zone
    assert Panel.from_frame(berlin, ["y"], tz="infer").tz == "Europe/Berlin"
    with pytest.raises(ValueError, match="without a time zone, but the forecaster was fitted on timestamps in 'UTC'"):
        Panel.from_frame(hourly(48), ["y"], tz="UTC")
    with pytest.raises(ValueError, match="in time zone 'Europe/Berlin', but the forecaster was fitted on timestamps "
                                         "without a time zone"):
        Panel.from_frame(berlin, ["y"], tz=None)
    # A naive cut-off is read in the panel's zone; a zoned one for naive data is refused.
    assert panel.timestamp(panel.cutoff("2024-01-02", "test")) == pd.Timestamp("2024-01-02", tz="Europe/Berlin")
    with pytest.raises(ValueError, match="argument `test`, expected a timestamp without time zone"):
        Panel.from_frame(hourly(48), ["y"]).cutoff(pd.Timestamp("2024-01-02", tz="UTC"), "test")


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


def test_frame_times_are_the_index_or_the_parsed_time_column():
    # one helper for the API and the CLI (which reads time columns as text)
    df = pd.DataFrame({"time": ["2024-01-01 00:00", "2024-01-01 01:00"], "y": [1.0, 2.0]})
    expected = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 01:00"], name="time")
    pd.testing.assert_index_equal(frame_times(df, "time"), expected)
    pd.testing.assert_index_equal(frame_times(df.set_index(expected)), expected)
    assert not hasattr(cli, "frame_times")


def test_sort_reads_a_newest_first_frame_as_the_sorted_one():
    df = two_series().reset_index()
    shuffled = df.sample(frac=1.0, random_state=0)
    options = {"time_column": "time", "series_column": "site", "static_columns": ["elevation"]}
    sorted_panel = Panel.from_frame(df, ["y", "x"], **options)
    panel = Panel.from_frame(shuffled, ["y", "x"], sort=True, **options)
    np.testing.assert_array_equal(panel.values, sorted_panel.values)
    np.testing.assert_array_equal(panel.time, sorted_panel.time)
    with pytest.raises(ValueError, match="must be sorted in series .* pass `sort=True`"):
        Panel.from_frame(shuffled, ["y", "x"], **options)


@pytest.mark.parametrize("duplicates, expected", [("first", 1.0), ("last", 3.0), ("mean", 2.0)])
def test_duplicate_timestamps_keep_the_first_the_last_or_their_mean(duplicates, expected):
    df = hourly(10)
    extra = df.iloc[[4, 4]].assign(y=[2.0, 3.0])  # row 4 three times: 1.0, then 2.0 and 3.0 appended
    df.loc[df.index[4], "y"] = 1.0
    panel = Panel.from_frame(pd.concat([df, extra]), ["y"], sort=True, duplicates=duplicates)
    assert len(panel.values) == 10 and panel.values[4, 0] == expected
    np.testing.assert_array_equal(np.delete(panel.values[:, 0], 4), np.delete(df["y"].to_numpy("float32"), 4))
    with pytest.raises(ValueError, match="Duplicate timestamp .* pass `duplicates` \\('first', 'last' or 'mean'\\)"):
        Panel.from_frame(pd.concat([df, extra]), ["y"], sort=True)
    with pytest.raises(ValueError, match="argument `duplicates`"):
        Panel.from_frame(df, ["y"], duplicates="max")


def test_averaged_duplicates_keep_the_last_one_hot_category_not_a_fraction():
    df = hourly(10).assign(wind_E=1.0, wind_N=0.0)
    extra = df.iloc[[4]].assign(y=3.0, wind_E=0.0, wind_N=1.0)
    panel = Panel.from_frame(pd.concat([df, extra]), ["y", "wind_E", "wind_N"], sort=True, duplicates="mean",
                             indicators=("wind_E", "wind_N"))
    assert panel.values[4, 0] == np.float32((df["y"].iloc[4] + 3.0) / 2) and list(panel.values[4, 1:]) == [0.0, 1.0]


def _series_frames(freq, tz, fill, seed=0):
    """Six series of different starts, lengths and missing timestamps (NaN
    values too with `fill`), a static column, one frame per series."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(6):
        stamps = pd.date_range(pd.Timestamp("2024-01-01") + pd.Timedelta(days=5 * k), periods=30 + 7 * k, freq=freq,
                               tz=tz)
        keep = rng.random(len(stamps)) > 0.2
        keep[[0, -1]] = True
        values = rng.normal(size=(len(stamps), 2))
        if fill:
            values[rng.random(values.shape) < 0.1] = np.nan
            values[[0, -1], 0] = [np.inf, 1.0]
        parts.append(pd.DataFrame({"time": stamps, "site": f"s{k}", "a": values[:, 0], "b": values[:, 1],
                                   "z": float(k)})[keep])
    return parts


@pytest.mark.parametrize("freq, tz, fill", [("h", None, None), ("h", "Europe/Paris", "interpolate"),
                                            ("D", "Europe/Paris", "ffill"), ("B", None, "zero"), ("MS", None, None),
                                            ("W-SUN", "UTC", "interpolate")])
def test_a_panel_of_many_series_equals_its_series_put_on_their_grids_one_at_a_time(freq, tz, fill):
    """The panel is built over the whole frame at once (series interleaved
    in its rows): each series' grid, gaps, fills, static row, windows and
    horizon equal those of a panel of that series alone."""
    parts = _series_frames(freq, tz, fill)
    every = pd.concat(parts).sort_values("time", kind="stable")  # the series' rows interleaved
    options = dict(freq=freq, time_column="time", series_column="site", static_columns=["z"], fill=fill)
    panel = Panel.from_frame(every, ["a", "b"], **options)
    alone = [Panel.from_frame(part, ["a", "b"], **options) for part in parts]
    assert panel.series == [f"s{k}" for k in range(6)]  # in order of first appearance
    assert panel.gap_rows == sum(p.gap_rows for p in alone) and panel.tz == alone[0].tz
    extended, added = panel.extend(3)
    for k, (rows, one) in enumerate(zip(panel.series_slices(), alone)):
        np.testing.assert_array_equal(panel.values[rows], one.values)
        np.testing.assert_array_equal(panel.observed[rows], one.observed)
        np.testing.assert_array_equal(panel.valid[rows], one.valid)
        np.testing.assert_array_equal(panel.time[rows], one.time)
        np.testing.assert_array_equal(panel.static[k], one.static[0])
        one_extended, _ = one.extend(3)
        np.testing.assert_array_equal(extended.time[extended.series_slices()[k]], one_extended.time)
        np.testing.assert_array_equal(extended.values[extended.series_slices()[k]], one_extended.values)
        np.testing.assert_array_equal(extended.time[added[k]], one_extended.time[-3:])
        starts, dropped = panel.window_starts(5)
        mine = starts[(starts >= rows.start) & (starts < rows.stop)] - rows.start
        np.testing.assert_array_equal(mine, one.window_starts(5)[0])


def test_the_first_series_with_a_problem_is_named_whatever_the_others_hold():
    """A panel checks every series at once; the error still names the first
    series (in the frame's order) and its first problem."""
    parts = _series_frames("h", None, None)
    parts[4].loc[parts[4].index[3], "a"] = np.nan  # a later series: NaN
    parts[2] = parts[2].assign(z=np.arange(len(parts[2]), dtype=float))  # an earlier one: a varying static
    every = pd.concat(parts).sort_values("time", kind="stable")
    options = dict(freq="h", time_column="time", series_column="site", static_columns=["z"])
    with pytest.raises(ValueError, match="'z' varies over time in series 's2'"):
        Panel.from_frame(every, ["a", "b"], **options)
    parts[1] = parts[1].assign(time=parts[1]["time"] + pd.Timedelta("30min") * (np.arange(len(parts[1])) == 5).astype(int))
    every = pd.concat(parts).sort_values("time", kind="stable")
    with pytest.raises(ValueError, match=r"Timestamp .*:30:00 in series 's1' is not on the grid"):
        Panel.from_frame(every, ["a", "b"], **options)


def test_future_rows_of_other_dates_or_ids_are_missing_covariates_named():
    df = pd.DataFrame({"s": [1] * 5 + [2] * 5, "t": list(pd.date_range("2024-01-01", periods=5, freq="D")) * 2,
                       "y": np.arange(10.0), "x": 0.0})
    extended, added = Panel.from_frame(df, ["y", "x"], time_column="t", series_column="s").extend(2)
    ids_as_text = pd.DataFrame({"s": ["1", "1", "2", "2"], "t": list(pd.DatetimeIndex(extended.time[added[0]])) * 2,
                                "x": [1.0, 2, 3, 4]})
    with pytest.raises(ValueError, match=r"lacks covariates for \['2024-01-06 00:00:00', '2024-01-07 00:00:00'\] "
                                         r"\(series 1\)"):
        future_values(ids_as_text, extended, added, ["x"], "t", "s")


def test_a_step_finer_than_the_timestamps_unit_keeps_every_grid_point():
    """500 ms steps over timestamps stored in whole seconds (Parquet's
    timestamp[s]): the grid is not truncated to seconds."""
    stamps = pd.DatetimeIndex(["2024-01-01 00:00:00", "2024-01-01 00:00:01", "2024-01-01 00:00:03"]).as_unit("s")
    panel = Panel.from_frame(pd.DataFrame({"t": stamps, "y": [0.0, 1.0, 2.0]}), ["y"], time_column="t", freq="500ms")
    assert len(panel.valid) == 7 and panel.gap_rows == 4
    np.testing.assert_array_equal(panel.valid, [True, False, True, False, False, False, True])
    extended, added = panel.extend(2)
    assert list(pd.DatetimeIndex(extended.time[added[0]]).strftime("%S.%f")) == ["03.500000", "04.000000"]


def test_a_grid_of_more_steps_than_rows_can_fill_is_a_wrong_freq_named_before_anything_is_built():
    df = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2022-03-11"]), "y": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"The timestamps span 69120001 steps of s for 2 rows; is `freq` right\?"):
        Panel.from_frame(df, ["y"], time_column="t", freq="s")
