"""tsgate.preprocessing.Preprocessor: the fitted stage between a frame and the
model, on its own and as the Forecaster's single owner of that state. Missing values: sentinels
(`na_values`) become missing; values far outside the training range are
warned about."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly, two_series
from tsgate.data import Panel
from tsgate.forecaster import Forecaster
from tsgate.preprocessing import Preprocessor

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def preprocessor(**params):
    arguments = Forecaster("y", lookback=24, horizon=6, **params).get_params(deep=False)
    return Preprocessor.from_params(arguments)


def test_fit_transform_cuts_windows_at_the_cutoff_and_scales_on_training_rows_only():
    df = hourly(300)
    df.iloc[250:, 0] += 50.0  # after the cutoff: must not reach the scaler
    stage = preprocessor()
    windows = stage.fit_transform(df, validation=pd.Timestamp("2024-01-10"), batch_size=16)
    train_rows = df.index < "2024-01-10"
    assert windows.counts == {"train": int(train_rows.sum()) - 24 - 6 + 1, "validation": windows.n_validation,
                              "dropped_for_gaps": 0}
    assert windows.n_validation == int((~train_rows).sum()) - 6 + 1  # first target at the cutoff, inputs before it
    mean, std = df.loc[train_rows, "y"].mean(), df.loc[train_rows, "y"].std(ddof=0)
    inputs, targets = next(iter(windows.train))
    assert inputs["past_target"].shape == (16, 24, 1) and targets.shape == (16, 6, 1)
    np.testing.assert_allclose(stage.scaler_.inverse_transform(np.zeros((1, 1)))[0, 0], mean, rtol=1e-5)
    np.testing.assert_allclose(stage.scaler_.inverse_transform(np.ones((1, 1)))[0, 0] - mean, std, rtol=1e-5)
    assert stage.fit_end_ == df.index[-1] and stage.series_ == [None]  # one series: a Timestamp
    assert stage.series_ends_.tolist() == [df.index[-1]]


def test_missing_targets_are_nan_labels_but_filled_inputs():
    df = hourly(200)
    df.iloc[100:103, 0] = np.nan
    windows = preprocessor(fill="ffill").fit_transform(df, validation=0.2, batch_size=1000)
    inputs, targets = next(iter(windows.train))
    assert np.isfinite(inputs["past_target"].numpy()).all()
    assert np.isnan(targets.numpy()).any() and not np.isnan(targets.numpy()).all()


def test_the_json_state_reads_back_to_the_same_inputs_and_frames():
    df = two_series().assign(kind=lambda d: np.where(d.index.hour < 12, "day", "night"))
    stage = preprocessor(series_column="site", past_covariates=["kind"], categorical=["kind"],
                         static_covariates=["elevation"], target_transform="log1p", scale_per_series=True)
    stage.fit_transform(df, validation=0.2, batch_size=32)
    state = json.loads(json.dumps(stage.to_json()))
    again = preprocessor(series_column="site", past_covariates=["kind"], categorical=["kind"],
                         static_covariates=["elevation"], target_transform="log1p", scale_per_series=True)
    again.load_json(state)
    assert again.to_json() == state and again.layout_ == stage.layout_
    pd.testing.assert_series_equal(again.fit_end_, stage.fit_end_)
    (panel, starts), (panel_again, starts_again) = stage.origins(df), again.origins(df)
    np.testing.assert_array_equal(starts, starts_again)
    for (a, b) in zip(stage.inputs(panel, starts), again.inputs(panel_again, starts_again)):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    outputs = {"forecast": np.arange(len(starts) * 6, dtype="float32").reshape(len(starts), 6, 1)}
    pd.testing.assert_frame_equal(stage.frame(panel, starts, outputs), again.frame(panel_again, starts, outputs))


def test_forecaster_reads_its_fitted_state_through_the_preprocessor():
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4)
    assert not hasattr(forecaster, "scaler_") and not hasattr(forecaster, "layout_")
    forecaster.fit(hourly(200), epochs=1, verbose=0)
    stage = forecaster.preprocessor_
    for name in ("layout_", "scaler_", "encoder_", "target_transform_", "freq_", "tz_", "series_"):
        assert getattr(forecaster, name) is getattr(stage, name), name
    assert forecaster.fit_end_ == stage.fit_end_ == stage.series_ends_.iloc[0]
    with pytest.raises(AttributeError):
        forecaster.scaler_ = None  # one owner: the preprocessor's state is not replaced through the facade


def test_warnings_point_at_the_users_line():
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, past_covariates=["x"]).fit(
        hourly(200), epochs=1, verbose=0)
    df = hourly(60, start="2024-02-01")
    df.iloc[-3:, 1] = 1e6
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forecaster.predict(df)
    assert [w.filename for w in caught if "far outside" in str(w.message)] == [__file__]



def test_sentinels_are_missing_values():
    df = hourly(60)
    df.iloc[[5, 9], 0] = -9999.0
    with pytest.raises(ValueError, match=r"Column 'y' has NaN or inf at \['2024-01-01 05:00:00', '2024-01-01 09:00"):
        Panel.from_frame(df, ["y", "x"], na_values=-9999)
    panel = Panel.from_frame(df, ["y", "x"], na_values=[-9999, -1e30], fill="interpolate")
    assert (panel.values[:, 0] > 0).all() and panel.observed[:, 0].sum() == 58
    actual = panel.frame()["y"]  # what evaluation scores against: missing stays missing
    assert actual.isna().sum() == 2 and np.isnan(actual.iloc[5])
    assert Forecaster("y", lookback=12, horizon=3, units=4, na_values=-9999, fill="ffill").fit(
        df, epochs=1, verbose=0).scaler_.range_[0, 0] > 0
    for bad in ("-9999", [1, "x"], True):
        with pytest.raises(ValueError, match="argument `na_values`"):
            Forecaster("y", lookback=12, horizon=3, na_values=bad).fit(df, epochs=1, verbose=0)


def test_values_far_outside_the_training_range_are_warned_about(trained):
    forecaster, df = trained
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecaster.predict(df)
    shifted = df.copy()
    last_a = shifted.index[shifted.site == "a"][-1]
    shifted.loc[(shifted.site == "a") & shifted.index.isin(last_a - pd.to_timedelta([20, 21], "h")), "x"] = -9999.0
    with pytest.warns(UserWarning, match=r"column 'x' has 2 value\(s\) far outside its training range.*-9999.*"
                                         r"pass `na_values`"):
        forecaster.predict(shifted)
    with pytest.warns(UserWarning, match="column 'x' has"):
        forecaster.evaluate(shifted, test=0.2)
