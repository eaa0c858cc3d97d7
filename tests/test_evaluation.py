"""tsgate.evaluation: metrics, baselines, seasons, evaluate and backtest."""

import functools

import keras
import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly
from tsgate.data import season_length
from tsgate.evaluation import baselines, metrics, quantile_metrics
from tsgate.model_selection import BacktestResult
from tsgate.forecaster import Forecaster

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def test_trained_forecaster_beats_the_naive_baseline(trained):
    forecaster, df = trained
    table = forecaster.evaluate(df, test=0.2)
    assert table.loc["tsgate", "MAE"] < 0.5 * table.loc["naive", "MAE"]
    assert list(table.columns) == ["MAE", "RMSE", "MAPE", "sMAPE", "MASE", "direction", "pinball", "CRPS", "coverage 0.1-0.9",
                                   "width 0.1-0.9", "below 0.1", "below 0.5", "below 0.9"]
    assert list(table.index) == ["tsgate", "naive", "seasonal naive (24)"]
    assert table.loc["naive", ["pinball", "coverage 0.1-0.9"]].isna().all()  # the baselines have no quantiles
    assert 0.5 < table.loc["tsgate", "coverage 0.1-0.9"] <= 1 and table.loc["tsgate", "width 0.1-0.9"] > 0


def test_baselines_take_the_origin_and_the_last_season():
    index = pd.date_range("2024-01-01", periods=10, freq="h", name="time")
    observed = pd.DataFrame({"y": np.arange(10.0)}, index=index)
    forecasts = pd.DataFrame(
        {"y": 0.0},
        index=pd.MultiIndex.from_arrays([[index[5]] * 3, index[6:9]], names=["origin", "time"]),
    )
    actual, naive, seasonal = baselines(observed, forecasts, season=2)
    np.testing.assert_array_equal(actual[:, 0], [6, 7, 8])
    np.testing.assert_array_equal(naive[:, 0], [5, 5, 5])
    np.testing.assert_array_equal(seasonal[:, 0], [4, 5, 4])  # steps 1, 2, 3 -> lags 2, 2, 4


@pytest.mark.parametrize("freq,season", [
    ("h", 24), ("15min", 96), ("min", 1440), ("2h", 12), ("7min", 1), ("bh", 8), ("D", 7), ("5D", 1), ("B", 5),
    ("C", 5), (pd.offsets.CustomBusinessDay(weekmask="Mon Tue Wed Thu Fri Sat", holidays=["2024-01-01"]), 6),
    ("W", 52), ("W-WED", 52), ("2W", 26), ("SMS", 24), ("MS", 12), ("ME", 12), ("BME", 12), ("3MS", 4),
    ("QS", 4), ("QE-MAR", 4), ("BQE", 4), ("YE", 1),
])
def test_season_is_the_calendar_cycle_above_a_step(freq, season):
    assert season_length(freq) == season


def test_metrics_of_a_known_error():
    actual = np.array([[1.0, 2.0], [4.0, 0.0]])
    table = metrics(actual, actual + 1.0, scale=2.0)
    assert table["MAE"] == 1.0 and table["RMSE"] == 1.0 and table["MASE"] == 0.5
    assert table["MAPE"] == pytest.approx(100 * (1 + 0.5 + 0.25) / 3)


def test_metrics_skip_missing_actuals():
    actual = np.array([1.0, np.nan, 4.0, np.nan])
    forecast = np.array([2.0, 100.0, 2.0, -7.0])
    assert metrics(actual, forecast, scale=1.0) == metrics(np.array([1.0, 4.0]), np.array([2.0, 2.0]), scale=1.0)
    assert metrics(actual, forecast, 1.0)["RMSE"] == pytest.approx(np.sqrt(2.5))
    assert np.isnan(list(metrics(np.full(3, np.nan), np.zeros(3), 1.0).values())).all()
    levels = (0.1, 0.5, 0.9)
    quantiles = np.array([[0.0, 1.0, 2.0]] * 4)
    assert quantile_metrics(actual, quantiles, levels) == quantile_metrics(actual[[0, 2]], quantiles[[0, 2]], levels)


def test_quantile_metrics_of_a_hand_made_example():
    levels = (0.1, 0.25, 0.5, 0.75, 0.9)
    quantiles = np.array([[0.0, 1.0, 2.0, 3.0, 4.0], [10.0, 11.0, 12.0, 13.0, 16.0]])
    actual = np.array([3.5, 10.0])  # inside 0.1-0.9 both times (10 on its edge), inside 0.25-0.75 never
    table = quantile_metrics(actual, quantiles, levels)
    assert list(table) == ["pinball", "CRPS", "coverage 0.1-0.9", "width 0.1-0.9", "coverage 0.25-0.75",
                           "width 0.25-0.75", "below 0.1", "below 0.25", "below 0.5", "below 0.75", "below 0.9"]
    assert table["coverage 0.1-0.9"] == 1.0 and table["width 0.1-0.9"] == (4 + 6) / 2
    assert table["coverage 0.25-0.75"] == 0.0 and table["width 0.25-0.75"] == 2.0
    first, second = [0.35, 0.625, 0.75, 0.375, 0.05], [0.0, 0.75, 1.0, 0.75, 0.6]  # q (y − ŷ) or (1 − q)(ŷ − y)
    assert table["pinball"] == pytest.approx((sum(first) + sum(second)) / 10)
    assert table["CRPS"] == pytest.approx(2 * table["pinball"])
    assert [table[f"below {q:g}"] for q in levels] == [0.5, 0.5, 0.5, 0.5, 1.0]  # 3.5 ≤ 4 only; 10 ≤ all
    assert list(quantile_metrics(actual, quantiles[:, 1:], levels[1:]))[:4] == [
        "pinball", "CRPS", "coverage 0.25-0.75", "width 0.25-0.75"]


def test_crps_from_many_quantiles_is_the_normal_distributions_closed_form():
    from scipy.stats import norm

    levels = tuple(np.round(np.arange(0.01, 1.0, 0.01), 2))
    actual = np.array([-1.3, 0.0, 0.4, 2.5])
    quantiles = np.tile(norm.ppf(levels), (len(actual), 1))
    exact = np.mean(actual * (2 * norm.cdf(actual) - 1) + 2 * norm.pdf(actual) - 1 / np.sqrt(np.pi))
    assert quantile_metrics(actual, quantiles, levels)["CRPS"] == pytest.approx(exact, rel=0.02)


def test_baselines_skip_missing_values():
    index = pd.date_range("2024-01-01", periods=8, freq="h", name="time")
    observed = pd.DataFrame({"y": [0.0, 1.0, np.nan, 3.0, np.nan, 5.0, 6.0, np.nan]}, index=index)
    forecasts = pd.DataFrame({"y": 0.0}, index=pd.MultiIndex.from_arrays([[index[4]] * 3, index[5:8]],
                                                                          names=["origin", "time"]))
    actual, naive, seasonal = baselines(observed, forecasts, season=2)
    np.testing.assert_array_equal(actual[:, 0], [5, 6, np.nan])  # a missing actual stays missing
    np.testing.assert_array_equal(naive[:, 0], [3, 3, 3])  # the last value observed at the origin
    np.testing.assert_array_equal(seasonal[:, 0], [3, 3, 3])  # lags 2, 2, 4: rows 3, 4 (3 carried), 3


def test_missing_actuals_are_left_out_of_every_metric():
    df = hourly(240)
    df.loc[df.index[[200, 205, 230]], "y"] = np.nan  # filled for the inputs, never scored
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, fill="ffill", quantiles=(0.1, 0.5, 0.9))
    table = forecaster.fit(df, epochs=1, verbose=0).evaluate(df, test=0.2)
    forecasts = forecaster.historical_forecasts(df, start=0.2)
    truth = df["y"].reindex(forecasts.index.get_level_values("time")).to_numpy()
    seen = np.isfinite(truth)
    assert (~seen).sum() == 9  # each missing value is a target of 3 windows
    assert table.loc["tsgate", "MAE"] == pytest.approx(np.mean(np.abs(forecasts["y"].to_numpy() - truth)[seen]))
    inside = (forecasts["y_q0.1"].to_numpy() <= truth) & (truth <= forecasts["y_q0.9"].to_numpy())
    assert table.loc["tsgate", "coverage 0.1-0.9"] == pytest.approx(inside[seen].mean())
    assert np.isfinite(table.to_numpy()[:, :5]).all()


def test_evaluate_by_series_target_and_horizon(trained):
    forecaster, df = trained
    pooled = forecaster.evaluate(df, test=0.2)
    forecasts = forecaster.historical_forecasts(df, start=0.2)
    by_series = forecaster.evaluate(df, test=0.2, by="series")
    assert list(by_series.index.names) == ["site", "model"]  # the series level is named as in the forecasts
    for site in ("a", "b"):
        own = forecasts.xs(site, level="site")
        truth = df[df["site"] == site]["y"].reindex(own.index.get_level_values("time")).to_numpy()
        assert by_series.loc[(site, "tsgate"), "MAE"] == pytest.approx(np.mean(np.abs(own["y"].to_numpy() - truth)))
        steps = df[(df["site"] == site) & (df.index < forecasts.index.get_level_values("time").min())]["y"].diff()
        assert by_series.loc[(site, "tsgate"), "MASE"] == pytest.approx(
            by_series.loc[(site, "tsgate"), "MAE"] / steps.abs().mean())  # each series' own naive scale
    both = forecaster.evaluate(df, test=0.2, by=["target", "series"])
    assert list(both.index.names) == ["target", "site", "model"]
    pd.testing.assert_frame_equal(both.xs("y", level="target"), by_series)
    by_horizon = forecaster.evaluate(df, test=0.2, by="horizon")
    assert list(by_horizon.index.get_level_values("horizon").unique()) == list(range(1, 13))
    tsgate = by_horizon.xs("tsgate", level="model")
    assert tsgate["MAE"].mean() == pytest.approx(pooled.loc["tsgate", "MAE"])  # every step scores as many values
    assert tsgate["MASE"].mean() == pytest.approx(pooled.loc["tsgate", "MASE"])
    by_target = forecaster.evaluate(df, test=0.2, by=["target", "horizon"])
    assert list(by_target.index.names) == ["target", "horizon", "model"] and len(by_target) == 12 * 3
    assert set(by_target.index.get_level_values("target")) == {"y"}


def test_evaluate_season_overrides_the_frequencys(trained):
    forecaster, df = trained
    table = forecaster.evaluate(df, test=0.2, season=12)
    assert list(table.index) == ["tsgate", "naive", "seasonal naive (12)"]
    assert table.loc["seasonal naive (12)", "MAE"] != forecaster.evaluate(df, test=0.2).loc["seasonal naive (24)", "MAE"]


@pytest.mark.parametrize("kwargs,argument", [
    ({"by": "site"}, "by"), ({"by": ["series", "series"]}, "by"), ({"by": 1}, "by"), ({"season": 0}, "season"),
    ({"season": 2.5}, "season"), ({"season": True}, "season"),
])
def test_evaluate_names_bad_by_and_season(trained, kwargs, argument):
    forecaster, df = trained
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        forecaster.evaluate(df, **kwargs)


def test_by_series_needs_a_series_column():
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4)
    with pytest.raises(ValueError, match="argument `by`.*series_column"):
        forecaster.backtest(hourly(200), folds=2, by="series")


def test_backtest_fits_clones_and_leaves_the_forecaster_alone(trained):
    forecaster, df = trained
    state = {name: value for name, value in vars(forecaster).items() if name.endswith("_")}
    weights, before = forecaster.model_.get_weights(), forecaster.predict(df)
    result = forecaster.backtest(df, folds=2, test=0.3, epochs=1, verbose=0)
    assert isinstance(result, BacktestResult)
    assert list(result.metrics.index.names) == ["fold", "model"]
    assert list(result.metrics.index) == [(k, m) for k in (0, 1) for m in ("tsgate", "naive", "seasonal naive (24)")]
    assert {name: value for name, value in vars(forecaster).items() if name.endswith("_")}.keys() == state.keys()
    assert all(getattr(forecaster, name) is value for name, value in state.items())
    for now, then in zip(forecaster.model_.get_weights(), weights):
        np.testing.assert_array_equal(now, then)
    pd.testing.assert_frame_equal(forecaster.predict(df), before)


def test_backtest_returns_fold_boundaries_forecasts_and_metrics():
    df = hourly(300)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, quantiles=(0.1, 0.5, 0.9))
    result = forecaster.backtest(df, folds=3, test=0.3, epochs=1, by="horizon", season=12)
    folds = result.folds
    assert list(folds.columns) == ["train_end", "test_start", "test_end", "fitted", "trained"]
    assert folds["fitted"].all() and (folds["trained"] == "fit").all()
    assert (folds["train_end"] < folds["test_start"]).all() and (folds["test_start"] <= folds["test_end"]).all()
    assert (folds["test_start"].iloc[1:].to_numpy() > folds["test_end"].iloc[:-1].to_numpy()).all()
    assert folds["test_start"].iloc[0] >= df.index[int(0.7 * len(df)) - 1] and folds["test_end"].iloc[-1] == df.index[-1]
    assert list(result.forecasts.index.names) == ["fold", "origin", "time"]
    for k, fold in folds.iterrows():  # each fold's forecasts start after its training data and lie in its test part
        forecast = result.forecasts.xs(k, level="fold")
        assert forecast.index.get_level_values("origin").min() == fold["train_end"]
        times = forecast.index.get_level_values("time")
        assert times.min() == fold["test_start"] and times.max() == fold["test_end"]
    assert list(result.metrics.index.names) == ["fold", "horizon", "model"]
    assert set(result.metrics.index.get_level_values("model")) == {"tsgate", "naive", "seasonal naive (12)"}
    assert len(result.metrics) == 3 * 3 * 3 and "coverage 0.1-0.9" in result.metrics


def test_backtest_fits_with_the_last_fit_options_unless_given(monkeypatch):
    calls = []
    original = Forecaster.fit

    @functools.wraps(original)  # the same signature: backtest reads fit's options from it
    def fit(self, df, **options):  # records what a fold asks for, fits one quick epoch
        calls.append(options)
        return original(self, df, **{**options, "epochs": 1, "patience": 0})

    monkeypatch.setattr(Forecaster, "fit", fit)
    df = hourly(240)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4)
    forecaster.backtest(df, folds=2, test=0.3)
    names = ("validation", "epochs", "batch_size", "patience", "checkpoint_dir", "verbose")
    calls[:] = [{name: call[name] for name in names} for call in calls]
    assert calls[0] == {"validation": 0.2, "epochs": 20, "batch_size": 64, "patience": 5, "checkpoint_dir": None,
                        "verbose": 0}  # never fitted: fit's defaults, folds quiet
    calls.clear()
    forecaster.fit_options_ = {"validation": 0.3, "epochs": 7, "batch_size": 16, "patience": 2,
                               "checkpoint_dir": "elsewhere", "verbose": 2}
    forecaster.backtest(df, folds=2, test=0.3, batch_size=8, verbose=1)
    calls[:] = [{name: call[name] for name in names} for call in calls]
    assert calls == [{"validation": 0.3, "epochs": 7, "batch_size": 8, "patience": 2, "checkpoint_dir": None,
                      "verbose": 1}] * 2
    calls.clear()
    forecaster.fit_options_["validation"] = "2024-01-08"  # a date would lie outside the early folds
    forecaster.backtest(df, folds=2, test=0.3, verbose=0)
    assert [c["validation"] for c in calls] == [0.2, 0.2]


def test_backtest_without_refit_fits_once(monkeypatch):
    df = hourly(400)
    fits = []
    original = Forecaster.fit
    monkeypatch.setattr(Forecaster, "fit", lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    Forecaster("y", lookback=24, horizon=6, units=4).backtest(df, folds=3, test=0.4, refit=False, epochs=1)
    assert len(fits) == 1


def test_backtest_runs_the_same_callbacks_in_every_fold():
    class Models(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_begin(self, logs=None):
            self.seen.append(self.model)

    models = Models()
    Forecaster("y", lookback=24, horizon=6, units=4).backtest(hourly(300), folds=2, test=0.3, epochs=1,
                                                              callbacks=[models])
    assert len(models.seen) == 2 and models.seen[0] is not models.seen[1]  # one instance, each fold's model


@pytest.mark.parametrize("test", ["soon", None, 1.5, 0, [0.2], pd.Timestamp("2024-01-10", tz="UTC")])
def test_evaluate_names_a_bad_test_argument(trained, test):
    forecaster, df = trained
    with pytest.raises(ValueError, match="argument `test`"):
        forecaster.evaluate(df, test=test)


def test_evaluate_says_when_no_window_lies_after_test(trained):
    forecaster, df = trained
    with pytest.raises(ValueError, match="No complete window .* after `test`"):
        forecaster.evaluate(df, test="2030-01-01")


@pytest.mark.parametrize(
    "kwargs,argument",
    [({"folds": 0}, "folds"), ({"folds": "3"}, "folds"), ({"test": "0.2"}, "test"), ({"test": 1.0}, "test"),
     ({"refit": 1}, "refit"), ({"epoch": 1}, "fit_options"), ({"epochs": 0}, "epochs"),
     ({"folds": 2**65}, "folds"), ({"folds": 200}, "folds")],  # more folds than the test part has steps
)
def test_backtest_names_bad_arguments_before_fitting(kwargs, argument, monkeypatch):
    fits = []
    monkeypatch.setattr(Forecaster, "_set_fitted", lambda *a, **k: fits.append(1))
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        Forecaster("y", lookback=24, horizon=6, units=4).backtest(hourly(400), **{"folds": 2, **kwargs})
    assert not fits


def test_backtest_refuses_a_bad_frame_before_fitting():
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4)
    with pytest.raises(ValueError, match="`df` is empty"):
        forecaster.backtest(hourly(400).iloc[:0], folds=2)
    with pytest.raises(ValueError, match="'y' has NaN or inf"):
        forecaster.backtest(hourly(400).assign(y=np.nan), folds=2)


def test_backtest_of_a_zoned_frame():
    df = hourly(400).tz_localize("America/New_York")
    result = Forecaster("y", lookback=24, horizon=6, units=4, calendar=["hour"]).backtest(df, folds=2, test=0.3, epochs=1)
    moving = result.metrics.drop(index="naive", level="model")  # the naive forecast has no direction
    assert list(result.folds.index) == [0, 1] and np.isfinite(moving.to_numpy()).all()
    assert str(result.folds["test_start"].dt.tz) == "America/New_York"


def test_scoring_the_windows_fitted_on_is_warned_and_the_right_pattern_is_not(tmp_path):
    import warnings

    from tests.helpers import two_series

    df = two_series()  # a: 2024-01-01 for 400 h; b: from 2024-01-05 for 300 h
    cutoff = pd.Timestamp("2024-01-14")
    leaky = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site").fit(df, epochs=1, verbose=0)
    ends = leaky.fit_end_
    assert ends.index.name == "site" and list(ends.index) == ["a", "b"]
    assert ends["a"] == df[df.site == "a"].index.max() and ends["b"] == df[df.site == "b"].index.max()
    with pytest.warns(UserWarning, match="windows that historical_forecasts scores"):
        scored = len(leaky.historical_forecasts(df, start=0.2)) // 6
    with pytest.warns(UserWarning, match=rf"{scored} of the {scored} windows that evaluate scores .* fitted on") as caught:
        leaky.evaluate(df, test=0.2)
    assert "fit(df[df.index < cutoff]" in str(caught[0].message) and caught[0].filename == __file__

    sound = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site")
    sound.fit(df[df.index < cutoff], epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        sound.evaluate(df, test=cutoff)
        loaded = Forecaster.load(sound.save(tmp_path / "f"))
        pd.testing.assert_series_equal(loaded.fit_end_, sound.fit_end_)
        loaded.historical_forecasts(df, start=cutoff)
    # a series whose own data ended earlier at fit: only its windows up to that end overlap
    short = df[(df.site == "a") | (df.index < "2024-01-10")]
    partial = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site").fit(short, epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # b's windows from its fit end on overlap nothing
        b_windows = len(partial.historical_forecasts(df[df.site == "b"], start=pd.Timestamp("2024-01-10"))) // 6
    with pytest.warns(UserWarning, match=r"^tsgate: (\d+) of the") as caught:
        table = partial.historical_forecasts(df, start=pd.Timestamp("2024-01-10"))
    assert int(str(caught[0].message).split()[1]) == len(table) // 6 - b_windows


def test_the_seasonal_baseline_reaches_a_season_back_past_a_short_lookback_or_is_left_out():
    index = pd.date_range("2024-01-01", periods=12, freq="h", name="time")
    observed = pd.DataFrame({"y": np.arange(12.0)}, index=index)
    forecasts = pd.DataFrame({"y": 0.0}, index=pd.MultiIndex.from_arrays([[index[8]] * 2, index[9:11]],
                                                                          names=["origin", "time"]))
    _, naive, seasonal = baselines(observed, forecasts, season=6)  # whatever the model's lookback
    np.testing.assert_array_equal(seasonal[:, 0], [3, 4])  # a season (6 rows) before each target, not the naive 8
    np.testing.assert_array_equal(baselines(observed, forecasts, season=10)[2][:, 0], [np.nan, 0])  # row 9 - 10: none


def test_a_short_lookback_with_a_long_season_scores_a_true_seasonal_baseline_and_a_test_at_the_start_a_finite_mase():
    df = hourly(600)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, seed=1).fit(df.iloc[:400], epochs=1, verbose=0)
    table = forecaster.evaluate(df, test=df.index[400])  # lookback 12 < the daily season of 24
    assert table.loc["seasonal naive (24)", "MAE"] < 0.5 * table.loc["naive", "MAE"]  # a sine's phase, not naive
    with pytest.warns(UserWarning, match=r"seasonal naive baseline \(24\) scores \d+ of \d+ forecast rows"):
        early = forecaster.evaluate(df.iloc[:200], test=df.index[0])  # the first windows have no season before
    late = forecaster.evaluate(df.iloc[:200], test=df.index[12])  # the same windows
    np.testing.assert_allclose(early.loc["tsgate", "MASE"], late.loc["tsgate", "MASE"])
    assert np.isfinite(early.loc["tsgate", "MASE"])


def test_metrics_in_the_scaled_units_are_the_raw_ones_times_the_scale():
    df = hourly(400)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, quantiles=(0.1, 0.5, 0.9), seed=1)
    forecaster.fit(df.iloc[:300], epochs=1, verbose=0)
    raw = forecaster.evaluate(df, test=df.index[300])
    scaled = forecaster.evaluate(df, test=df.index[300], units="scaled")
    scale = forecaster.scaler_.scale_[0, 0]  # z = y * scale + offset: 1 / the training rows' std
    np.testing.assert_allclose(scale, 1 / df["y"].iloc[:240].std(ddof=0), rtol=1e-6)  # validation 0.2 left out
    for column in ("MAE", "RMSE", "width 0.1-0.9", "pinball"):
        np.testing.assert_allclose(scaled[column].dropna(), raw[column].dropna() * scale, rtol=1e-5)
    for column in ("MASE", "coverage 0.1-0.9", "below 0.9"):  # ratios and shares do not move
        np.testing.assert_allclose(scaled[column].dropna(), raw[column].dropna(), rtol=1e-6)
    with pytest.raises(ValueError, match="argument `units`"):
        forecaster.evaluate(df, units="z")


def test_direction_is_the_share_of_moves_from_the_origin_called_right():
    from tsgate.evaluation import metrics

    actual, origin = np.array([2.0, 0.0, 1.0, 5.0]), np.array([1.0, 1.0, 1.0, 1.0])
    forecast = np.array([3.0, 2.0, 7.0, 0.5])  # up (right), up (wrong), no actual move (left out), down (wrong)
    assert metrics(actual, forecast, 1.0, origin)["direction"] == pytest.approx(100 / 3)
    assert np.isnan(metrics(actual, origin, 1.0, origin)["direction"])  # the naive forecast never moves
    assert "direction" not in metrics(actual, forecast, 1.0)
