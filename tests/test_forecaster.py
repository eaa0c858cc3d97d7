"""tsgate.Forecaster: fit, predict, historical forecasts, bad input, the
scikit-learn estimator contract, save and load."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import tsgate
from tests.helpers import BACKEND, hourly, two_series
from tsgate.data import Panel
from tsgate.forecaster import Forecaster

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def test_scaler_statistics_are_those_of_the_training_rows():
    df = hourly(500)
    df.iloc[400:, 0] += 100.0  # a shift after the cutoff must not leak into the scaler
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4).fit(df, validation=0.2, epochs=1, verbose=0)
    cutoff = Panel.from_frame(df, ["y"]).cutoff(0.2, "validation")
    reference = StandardScaler().fit(df[df.index < pd.Timestamp(cutoff)][["y"]])
    np.testing.assert_allclose(forecaster.scaler_.scale_[0, 0], 1 / reference.scale_[0], rtol=1e-6)
    np.testing.assert_allclose(forecaster.scaler_.offset_[0, 0], -reference.mean_[0] / reference.scale_[0], rtol=1e-6)


def test_predict_returns_raw_units_at_future_timestamps(trained):
    forecaster, df = trained
    forecast = forecaster.predict(df)
    assert forecast.index.names == ["site", "time"]
    last_b = df[df.site == "b"].index[-1]
    times_b = forecast.loc["b"].index
    assert times_b[0] == last_b + pd.Timedelta("1h") and len(times_b) == 12
    assert 15 < forecast.loc["b", "y"].mean() < 25 and 5 < forecast.loc["a", "y"].mean() < 15  # raw units
    assert (forecast["y_q0.1"] <= forecast["y_q0.9"]).all()
    assert list(forecast.columns) == ["y_q0.1", "y_q0.5", "y_q0.9", "y"]


def test_historical_forecasts_are_the_forecasts_from_each_origin(trained):
    forecaster, df = trained
    history = forecaster.historical_forecasts(df, start=pd.Timestamp("2024-01-16"))
    assert history.index.names == ["site", "origin", "time"]
    a = history.loc["a"]
    origin = a.index.get_level_values("origin")[-1]
    assert (a.index.get_level_values("time")[-12:] > origin).all()
    truncated = df[(df.site == "a") & (df.index <= origin)]
    np.testing.assert_allclose(a.xs(origin, level="origin")["y"], forecaster.predict(truncated)["y"], rtol=1e-5)
    assert (history.index.get_level_values("time") >= pd.Timestamp("2024-01-16")).all()


def test_save_and_load_reproduce_predictions(trained, tmp_path):
    forecaster, df = trained
    forecaster.save(tmp_path / "f")
    assert not list(tmp_path.glob("**/*.pkl"))
    loaded = Forecaster.load(tmp_path / "f")
    pd.testing.assert_frame_equal(loaded.predict(df), forecaster.predict(df))
    assert loaded.get_params() == forecaster.get_params()


def test_future_covariates_are_required_at_predict_time():
    df = hourly(300)
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, future_covariates=["x"]).fit(df, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="future covariates"):
        forecaster.predict(df)
    future = hourly(6, start=df.index[-1] + pd.Timedelta("1h"))
    assert len(forecaster.predict(df, future=future)) == 6
    # A future frame indexed by an unnamed date_range, as users build one.
    unnamed = pd.DataFrame({"x": future["x"].to_numpy()}, index=pd.date_range(future.index[0], periods=6, freq="h"))
    pd.testing.assert_frame_equal(forecaster.predict(df, future=unnamed), forecaster.predict(df, future=future))
    with pytest.raises(ValueError, match="argument `future`, expected a pandas DataFrame"):
        forecaster.predict(df, future=future.to_numpy())
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
        (lambda df: df.assign(x="a"), r"'x' of `df` must be numeric"),
        (lambda df: df.iloc[:25], "Not enough data.*at least 30"),
    ],
)
def test_bad_input_is_named_before_tensorflow_sees_it(mutate, message):
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, past_covariates=["x"])
    with pytest.raises(ValueError, match=message):
        forecaster.fit(mutate(hourly(200)), epochs=1, verbose=0)
    assert not hasattr(forecaster, "model_")


@pytest.mark.parametrize(
    "kwargs,argument",
    [({"lookback": 0}, "lookback"), ({"units": 2.5}, "units"), ({"quantiles": (0.1, 0.9)}, "quantiles"),
     ({"calendar": ["weekday"]}, "calendar"), ({"builder": "nope"}, "builder"), ({"learning_rate": -1.0}, "learning_rate"),
     ({"fill": "mean"}, "fill"), ({"scaler": "zscore"}, "scaler"), ({"target": 3}, "target"),
     ({"loss": "l1"}, "loss"), ({"schedule": "step"}, "schedule"), ({"learning_rate": float("nan")}, "learning_rate"),
     ({"learning_rate": 0}, "learning_rate"), ({"target": ["y", 2]}, "target"), ({"quantiles": ["a", 0.5]}, "quantiles"),
     ({"quantiles": 0.5}, "quantiles"), ({"quantiles": [[0.5]]}, "quantiles"), ({"cell": ["gru"]}, "cell"),
     ({"cell": "rnn"}, "cell"), ({"series_column": ["site"]}, "series_column"), ({"time_column": "y"}, "time_column"),
     ({"freq": "fortnightly"}, "freq"), ({"freq": "-1h"}, "freq"), ({"seed": -1}, "seed"),
     ({"builder_options": {"units": 8}}, "builder_options"), ({"builder_options": {"nope": 1}}, "builder_options"),
     ({"scaler": StandardScaler}, "scaler"), ({"calendar": ["hour", "hour"]}, "calendar"),
     ({"stride": 0}, "stride"), ({"lookback": 2**40}, "lookback"), ({"learning_rate": 2**2000}, "learning_rate")],
)
def test_bad_arguments_are_named_at_fit(kwargs, argument):
    forecaster = Forecaster(**{"target": "y", "lookback": 24, "horizon": 6, **kwargs})
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        forecaster.fit(hourly(200), epochs=1, verbose=0)


@pytest.mark.parametrize("schedule,final_rate", [("constant", 0.01), ("cosine", 0.0)])
def test_loss_and_learning_rate_schedule_are_used(schedule, final_rate):
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, loss="mae", learning_rate=0.01, schedule=schedule)
    forecaster.fit(hourly(200), epochs=2, verbose=0)
    optimizer = forecaster.model_.optimizer
    assert float(optimizer.learning_rate) == pytest.approx(final_rate, abs=1e-7)
    assert forecaster.model_.loss.loss.__name__ == "mean_absolute_error"


def test_a_failed_fit_leaves_the_fitted_state_as_it_was():
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4).fit(hourly(200), epochs=1, verbose=0)
    model, scaler = forecaster.model_, forecaster.scaler_
    with pytest.raises(ValueError, match="Not enough data"):
        forecaster.fit(hourly(20), epochs=1, verbose=0)
    assert forecaster.model_ is model and forecaster.scaler_ is scaler


def test_unfitted_forecaster_says_so():
    with pytest.raises(NotFittedError, match="not fitted"):
        Forecaster("y", lookback=4, horizon=2).predict(hourly(20))


def test_constructor_stores_arguments_unchanged_and_clones():
    scaler = MinMaxScaler(feature_range=(-1, 1))
    forecaster = Forecaster("y", lookback=24, horizon=6, quantiles=(0.9, 0.1, 0.5), scaler=scaler,
                            builder_options={"dropout": 0.1})
    assert forecaster.target == "y" and forecaster.quantiles == (0.9, 0.1, 0.5) and forecaster.scaler is scaler
    twin = clone(forecaster)
    assert twin.get_params()["quantiles"] == (0.9, 0.1, 0.5) and twin.scaler is not scaler
    assert twin.scaler.get_params() == scaler.get_params()
    assert forecaster.set_params(units=8).units == 8


def test_save_load_fit_reproduces_the_configuration(tmp_path):
    df = hourly(300)
    forecaster = Forecaster("y", lookback=24, horizon=6, cell=tsgate.LSTM(6, layer_norm=True),
                            scaler=MinMaxScaler(feature_range=(-1, 1)), builder_options={"dropout": 0.1}, seed=3)
    forecaster.fit(df, epochs=1, verbose=0)
    forecaster.save(tmp_path / "f")
    loaded = Forecaster.load(tmp_path / "f")
    assert loaded.cell.get_config() == forecaster.cell.get_config()
    assert loaded.scaler.get_params() == forecaster.scaler.get_params() and loaded.builder_options == {"dropout": 0.1}
    refitted, original = loaded.fit(df, epochs=1, verbose=0), clone(forecaster).fit(df, epochs=1, verbose=0)
    assert [type(layer).__name__ for layer in refitted.model_.layers] == [type(layer).__name__ for layer in original.model_.layers]
    pd.testing.assert_frame_equal(refitted.predict(df), original.predict(df), rtol=1e-5)


def test_save_refuses_what_it_cannot_restore(tmp_path):
    import keras

    class Unregistered(keras.layers.Layer):
        def call(self, x):
            return x[:, -1]

    forecaster = Forecaster("y", lookback=24, horizon=6, cell=Unregistered()).fit(hourly(200), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Cannot save `cell`"):
        forecaster.save(tmp_path / "f")
    assert not (tmp_path / "f").exists()


def test_stride_keeps_every_nth_window():
    full = Forecaster("y", lookback=24, horizon=6, units=4).fit(hourly(300), epochs=1, verbose=0)
    strided = Forecaster("y", lookback=24, horizon=6, units=4, stride=4).fit(hourly(300), epochs=1, verbose=0)
    assert strided.windows_["train"] == -(-full.windows_["train"] // 4)


def test_fill_repairs_nan_only_when_asked():
    df = hourly(200)
    df.iloc[10, 0] = np.nan
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, fill="interpolate").fit(df, epochs=1, verbose=0)
    assert forecaster.windows_["train"] > 0


def test_gaps_warn_instead_of_printing():
    df = hourly(200).drop(pd.Timestamp("2024-01-02 05:00"))
    with pytest.warns(UserWarning, match=r"dropped because they would straddle a gap.*frequency is 'h' \(inferred\); 1 "
                                         r"timestamps.*2024-01-02 05:00:00.*: pass fill='ffill'"):
        Forecaster("y", lookback=24, horizon=6, units=4).fit(df, epochs=1, verbose=0)


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


def test_per_series_scaling_follows_the_series_id():
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site", scale_per_series=True)
    df = two_series()
    forecaster.fit(df, epochs=1, verbose=0)
    both = forecaster.predict(df)
    assert 5 < both.loc["a", "y"].mean() < 15 and 15 < both.loc["b", "y"].mean() < 25
    only_b = forecaster.predict(df[df.site == "b"])  # "b" first in the frame: still b's scaler
    np.testing.assert_allclose(only_b.loc["b", "y"], both.loc["b", "y"], rtol=1e-5)


def test_refitting_infers_the_new_frames_frequency():
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4).fit(hourly(200), epochs=1, verbose=0)
    daily = hourly(200).set_axis(pd.date_range("2020-01-01", periods=200, freq="D", name="time"))
    assert forecaster.fit(daily, epochs=1, verbose=0).freq_ == "D"
    assert forecaster.predict(daily).index[0] == daily.index[-1] + pd.Timedelta("1D")


@pytest.mark.parametrize(
    "kwargs,argument",
    [({"epochs": 0}, "epochs"), ({"epochs": 2.0}, "epochs"), ({"batch_size": "64"}, "batch_size"),
     ({"patience": -1}, "patience"), ({"validation": None}, "validation"), ({"validation": 1.5}, "validation"),
     ({"validation": [0.2]}, "validation"), ({"checkpoint_dir": 3}, "checkpoint_dir"), ({"verbose": 5}, "verbose"),
     ({"verbose": 0.0}, "verbose"), ({"batch_size": 2**31}, "batch_size"), ({"steps_per_epoch": 0}, "steps_per_epoch"),
     ({"steps_per_epoch": 2.5}, "steps_per_epoch")],
)
def test_bad_fit_arguments_are_named_before_anything_runs(kwargs, argument):
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4)
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        forecaster.fit(hourly(200), **{"verbose": 0, **kwargs})
    assert not hasattr(forecaster, "model_")


def test_static_covariates_are_scaled_like_every_input():
    # Series near 60 with a static covariate in the hundred thousands: fed raw, it
    # swamped the head (forecasts of -1.8e5).
    frames = [hourly(200, seed=k, level=60.0 + k).assign(site=k, population=1e5 * (k + 1)) for k in range(3)]
    df = pd.concat(frames)
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site", static_covariates=["population"])
    forecaster.fit(df, epochs=2, verbose=0)
    np.testing.assert_allclose(forecaster.scaler_.transform_static([[1e5], [2e5], [3e5]]).ravel(),
                               [-1.2247449, 0.0, 1.2247449], rtol=1e-5)
    forecast = forecaster.predict(df)
    assert forecast["y"].between(50, 70).all()
    inputs, _ = forecaster.serving_inputs(df)
    np.testing.assert_allclose(inputs["static"][:, 0], [1e5, 2e5, 3e5])  # served in raw units, scaled in the graph


def test_calendar_features_follow_the_training_time_zone():
    df = hourly(300).tz_localize("Europe/Berlin")
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, calendar=["hour"]).fit(df, epochs=1, verbose=0)
    assert forecaster.tz_ == "Europe/Berlin"
    here = forecaster.predict(df)
    there = forecaster.predict(df.tz_convert("Asia/Tokyo"))  # the same instants, another wall clock
    pd.testing.assert_frame_equal(there, here)
    assert str(here.index.tz) == "Europe/Berlin"
    with pytest.raises(ValueError, match="without a time zone, but the forecaster was fitted on timestamps in "
                                         "'Europe/Berlin'"):
        forecaster.predict(df.tz_localize(None))
    naive = Forecaster("y", lookback=24, horizon=6, units=4).fit(hourly(300), epochs=1, verbose=0)
    assert naive.tz_ is None
    with pytest.raises(ValueError, match="in time zone 'Europe/Berlin', but the forecaster was fitted on timestamps "
                                         "without a time zone"):
        naive.predict(df)
    table = forecaster.evaluate(df, test="2024-01-12")  # a naive start is read in the training zone
    assert np.isfinite(table.drop(columns="direction").to_numpy()).all()  # the naive forecast has no direction


def test_an_all_nan_series_is_named_not_forecast_from_zeros():
    df = two_series()
    df.loc[df.site == "b", "y"] = np.nan
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site", fill="zero")
    with pytest.raises(ValueError, match="Column 'y' in series 'b' of `df` has no finite value"):
        forecaster.fit(df, epochs=1, verbose=0)


def test_a_diverged_fit_is_an_error_not_a_forecaster():
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, learning_rate=1e30)
    with pytest.raises(ValueError, match="Training diverged.*lower `learning_rate`"):
        forecaster.fit(hourly(120), epochs=2, verbose=0)
    assert not hasattr(forecaster, "model_")


def test_predict_names_what_is_wrong_with_df_and_future(trained):
    forecaster, df = trained
    with pytest.raises(ValueError, match="`df` is empty"):
        forecaster.predict(df.iloc[:0])
    with pytest.raises(ValueError, match="index of `df` is named 'y'"):
        forecaster.predict(df.rename_axis("y"))
    with pytest.raises(ValueError, match="'site' of `df` has no series id"):
        forecaster.predict(df.assign(site=df.site.where(np.arange(len(df)) != 3)))
    with pytest.raises(ValueError, match=r"'x' in series 'a' of `df` has values beyond the float32 range"):
        forecaster.predict(df.assign(x=np.where(np.arange(len(df)) == 3, 1e39, df.x)))
    timed = Forecaster("y", lookback=24, horizon=6, units=4, time_column="when")
    timed.fit(hourly(200).rename_axis("when").reset_index(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\['when'\] are missing from `df`"):
        timed.predict(hourly(200))


def test_numpy_integer_sizes_work_like_python_ints():
    df = hourly(120)
    sizes = {"lookback": np.int64(12), "horizon": np.int32(3), "units": np.int64(4), "layers": np.int16(1)}
    forecast = Forecaster("y", **sizes, seed=0).fit(df, epochs=1, verbose=0).predict(df)
    assert forecast.shape == (3, 1) and np.isfinite(forecast.to_numpy()).all()


def test_quantiles_that_are_not_finite_are_an_error_naming_the_series(trained, monkeypatch):
    # Box-Cox's inverse with λ < 0 sends a quantile beyond -1/λ to inf while the median stays finite.
    forecaster, df = trained
    predict = forecaster.raw_model_.predict

    def overflowing(*args, **kwargs):
        outputs = predict(*args, **kwargs)
        outputs["quantiles"][-1, :, :, -1] = np.inf  # the last window: series "b"
        return outputs

    monkeypatch.setattr(forecaster.raw_model_, "predict", overflowing)
    with pytest.raises(ValueError, match="The forecast quantiles of series 'b' are not finite"):
        forecaster.predict(df)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
def test_messages_call_the_one_series_of_a_frame_the_series_not_series_none():
    df = hourly(200)
    forecaster = Forecaster("y", lookback=24, horizon=3, units=4).fit(df, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"^The series needs 24 consecutive rows"):
        forecaster.predict(df.iloc[:10])


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
def test_a_forecaster_reads_every_frame_sorted_and_deduplicated_as_asked(tmp_path):
    df = hourly(300)
    newest_first = pd.concat([df, df.iloc[[100]]]).iloc[::-1]  # a download, newest first, one row twice
    options = {"lookback": 24, "horizon": 3, "units": 4, "seed": 1}
    forecaster = Forecaster("y", sort=True, duplicates="last", **options).fit(newest_first, epochs=1, verbose=0)
    plain = Forecaster("y", **options).fit(df, epochs=1, verbose=0)
    np.testing.assert_allclose(forecaster.predict(newest_first).to_numpy(), plain.predict(df).to_numpy(), rtol=1e-6)
    loaded = Forecaster.load(forecaster.save(str(tmp_path / "f")))
    assert (loaded.sort, loaded.duplicates) == (True, "last")
    with pytest.raises(ValueError, match="argument `duplicates`"):
        Forecaster("y", duplicates="max", **options).fit(df, epochs=1)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
@pytest.mark.parametrize("value", [1e20, 3e38])
def test_a_huge_finite_target_in_the_validation_rows_is_named_not_called_a_divergence(value):
    df = hourly(300)
    df.loc[df.index[280], "y"] = value  # in the validation rows: the scaler never saw it
    with pytest.raises(ValueError, match=r"Column 'y' holds .*e\+(20|38) at 2024-01-12 16:00:00, 1 value\(s\) beyond "
                                         r".* Is it a sentinel"):
        Forecaster("y", lookback=24, horizon=3, units=4).fit(df, epochs=1, verbose=0)
