"""The forecasting pipeline: panels, windows, scalers, Forecaster, CLI, bad input."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from tests.helpers import BACKEND, hourly, two_series
from tsgate.data import Panel, calendar_features, window_dataset
from tsgate.forecaster import Forecaster
from tsgate.scaling import AffineScaler

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def test_windows_align_targets_after_the_input():
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


def test_scaler_statistics_are_those_of_the_training_rows():
    df = hourly(500)
    df.iloc[400:, 0] += 100.0  # a shift after the cutoff must not leak into the scaler
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4)
    forecaster.fit(df, validation=0.2, epochs=1, verbose=0)
    panel = Panel.from_frame(df, ["y"])
    cutoff = forecaster._cutoff(panel, 0.2, "validation")
    reference = StandardScaler().fit(df[df.index < pd.Timestamp(cutoff)][["y"]])
    np.testing.assert_allclose(forecaster.scaler_.scale_[0, 0], 1 / reference.scale_[0], rtol=1e-6)
    np.testing.assert_allclose(forecaster.scaler_.offset_[0, 0], -reference.mean_[0] / reference.scale_[0], rtol=1e-6)


def test_affine_scaler_per_series_json_and_keras_ops():
    values = np.array([[1.0, 10], [3.0, 30], [5.0, 50], [100.0, 0], [300.0, 2]])
    groups = np.array([0, 0, 0, 1, 1])
    scaler = AffineScaler(MinMaxScaler(), per_series=True).fit(values, groups, ["a", "b"])
    scaled = scaler.transform(values, groups)
    np.testing.assert_allclose(scaled[:3].min(0), 0, atol=1e-6)
    np.testing.assert_allclose(scaled[:3].max(0), 1, atol=1e-6)
    restored = AffineScaler.from_json(json.loads(json.dumps(scaler.to_json())))
    np.testing.assert_allclose(restored.inverse_transform(scaled, groups), values, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(restored.keras_transform(values[3:].astype("float32"), group=1)), scaled[3:], atol=1e-6)
    from sklearn.preprocessing import PowerTransformer

    with pytest.raises(ValueError, match="not affine"):
        AffineScaler(PowerTransformer()).fit(np.abs(np.random.default_rng(0).normal(size=(50, 1))) + 1)


@pytest.mark.parametrize("freq,season", [("h", 24), ("15min", 96), ("2h", 12), ("D", 7), ("B", 5), ("7min", 1)])
def test_seasonal_naive_season_follows_the_frequency(freq, season):
    forecaster = Forecaster("y", lookback=4, horizon=2)
    forecaster.freq_ = pd.tseries.frequencies.to_offset(freq).freqstr
    assert forecaster.season() == season


def test_calendar_features_are_sin_cos_of_the_field():
    index = pd.date_range("2024-01-01", periods=48, freq="h")
    features = calendar_features(index, ["hour"])
    np.testing.assert_allclose(features["hour_sin"].iloc[6], 1.0, atol=1e-12)
    np.testing.assert_allclose(features["hour_cos"].iloc[12], -1.0, atol=1e-12)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    df = two_series()
    forecaster = Forecaster(
        "y", lookback=48, horizon=12, units=16, series_column="site", past_covariates=["x"],
        static_covariates=["elevation"], calendar=["hour"], quantiles=(0.1, 0.5, 0.9), learning_rate=1e-2,
    )
    forecaster.fit(df, validation=0.25, epochs=12, verbose=0)
    return forecaster, df


def test_trained_forecaster_beats_the_naive_baseline(trained):
    forecaster, df = trained
    table = forecaster.evaluate(df, test=0.2)
    assert table.loc["tsgate", "MAE"] < 0.5 * table.loc["naive", "MAE"]
    assert set(table.columns) == {"MAE", "RMSE", "MAPE", "sMAPE", "MASE"}


def test_predict_returns_raw_units_at_future_timestamps(trained):
    forecaster, df = trained
    forecast = forecaster.predict(df)
    assert forecast.index.names == ["site", "time"]
    last_b = df[df.site == "b"].index[-1]
    times_b = forecast.loc["b"].index
    assert times_b[0] == last_b + pd.Timedelta("1h") and len(times_b) == 12
    assert 15 < forecast.loc["b", "y"].mean() < 25 and 5 < forecast.loc["a", "y"].mean() < 15  # raw units
    assert (forecast["y_q0.1"] <= forecast["y_q0.9"]).all()


def test_save_and_load_reproduce_predictions(trained, tmp_path):
    forecaster, df = trained
    forecaster.save(tmp_path / "f")
    assert not list(tmp_path.glob("**/*.pkl"))
    loaded = Forecaster.load(tmp_path / "f")
    pd.testing.assert_frame_equal(loaded.predict(df), forecaster.predict(df))


def test_future_covariates_are_required_at_predict_time():
    df = hourly(300)
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, future_covariates=["x"])
    forecaster.fit(df, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="future covariates"):
        forecaster.predict(df)
    future = hourly(6, start=df.index[-1] + pd.Timedelta("1h"))
    assert len(forecaster.predict(df, future=future)) == 6
    with pytest.raises(ValueError, match="lacks covariates"):
        forecaster.predict(df, future=future.iloc[:4])


def test_columns_at_predict_time_must_match_fit(trained):
    forecaster, df = trained
    with pytest.raises(ValueError, match=r"\['x'\].*missing"):
        forecaster.predict(df.drop(columns="x"))


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda df: df.iloc[::-1], "sorted.*row 1"),
        (lambda df: pd.concat([df.iloc[:5], df.iloc[4:]]), "Duplicate timestamp"),
        (lambda df: df.assign(y=df.y.where(df.index != df.index[7])), r"'y'.*NaN or inf.*2024-01-01 07:00"),
        (lambda df: df.assign(x=np.where(np.arange(len(df)) == 3, np.inf, df.x)), r"'x'.*NaN or inf"),
        (lambda df: df.assign(x="a"), r"'x' must be numeric"),
        (lambda df: df.iloc[:25], "Not enough data.*at least 30"),
    ],
)
def test_bad_input_is_named_before_tensorflow_sees_it(mutate, message):
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, past_covariates=["x"])
    with pytest.raises(ValueError, match=message):
        forecaster.fit(mutate(hourly(200)), epochs=1, verbose=0)
    assert forecaster.model is None


def test_stride_keeps_every_nth_window():
    full = Forecaster("y", lookback=24, horizon=6, units=4)
    full.fit(hourly(300), epochs=1, verbose=0)
    strided = Forecaster("y", lookback=24, horizon=6, units=4, stride=4)
    strided.fit(hourly(300), epochs=1, verbose=0)
    assert strided.windows_["train"] == -(-full.windows_["train"] // 4)


def test_fill_repairs_nan_only_when_asked():
    df = hourly(200)
    df.iloc[10, 0] = np.nan
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, fill="interpolate")
    forecaster.fit(df, epochs=1, verbose=0)
    assert forecaster.windows_["train"] > 0


def test_cli_trains_evaluates_and_forecasts(tmp_path):
    csv = tmp_path / "series.csv"
    hourly(300).reset_index().to_csv(csv, index=False)
    run = lambda *args: subprocess.run([sys.executable, "-m", "tsgate.cli", *args], capture_output=True, text=True)  # noqa: E731
    trained = run("train", str(csv), "--model", str(tmp_path / "m"), "--target", "y", "--lookback", "24",
                  "--horizon", "6", "--units", "4", "--epochs", "1", "--verbose", "0")
    assert trained.returncode == 0, trained.stderr[-2000:]
    evaluated = run("evaluate", str(csv), "--model", str(tmp_path / "m"))
    assert evaluated.returncode == 0 and "naive" in evaluated.stdout, evaluated.stderr[-2000:]
    parquet = tmp_path / "series.parquet"
    hourly(300).reset_index().to_parquet(parquet)
    forecast = run("forecast", str(parquet), "--model", str(tmp_path / "m"), "--output", str(tmp_path / "f.csv"))
    assert forecast.returncode == 0, forecast.stderr[-2000:]
    assert len(pd.read_csv(tmp_path / "f.csv")) == 6
    exported = run("export", "--model", str(tmp_path / "m"), "--output", str(tmp_path / "serving"), "--version", "7")
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert (tmp_path / "serving" / "7" / "saved_model.pb").exists()


@pytest.mark.parametrize("quantiles", [None, (0.1, 0.5, 0.9)])
def test_a_series_forecast_does_not_depend_on_the_series_beside_it(quantiles):
    # Three series with horizon 3 (and 3 quantiles): a batch of exactly
    # `horizon` windows, which keras.ops.add on TensorFlow adds along the wrong axis.
    frames = [hourly(120, seed=k, level=10.0 * (k + 1)).assign(site=name) for k, name in enumerate("abc")]
    df = pd.concat(frames)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, series_column="site", quantiles=quantiles)
    forecaster.fit(df, epochs=1, batch_size=3, verbose=0)
    together = forecaster.predict(df)
    for name, frame in zip("abc", frames):
        alone = forecaster.predict(frame)
        np.testing.assert_allclose(together.loc[name, "y"], alone.loc[name, "y"], rtol=1e-5)
