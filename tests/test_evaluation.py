"""tsgate.evaluation and tsgate.plotting: metrics, baselines, backtests, plots."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly
from tsgate.data import season_length
from tsgate.evaluation import baselines, metrics
from tsgate.forecaster import Forecaster

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def test_trained_forecaster_beats_the_naive_baseline(trained):
    forecaster, df = trained
    table = forecaster.evaluate(df, test=0.2)
    assert table.loc["tsgate", "MAE"] < 0.5 * table.loc["naive", "MAE"]
    assert set(table.columns) == {"MAE", "RMSE", "MAPE", "sMAPE", "MASE"}
    assert list(table.index) == ["tsgate", "naive", "seasonal naive (24)"]


def test_baselines_take_the_origin_and_the_last_season():
    index = pd.date_range("2024-01-01", periods=10, freq="h", name="time")
    observed = pd.DataFrame({"y": np.arange(10.0)}, index=index)
    forecasts = pd.DataFrame(
        {"y": 0.0},
        index=pd.MultiIndex.from_arrays([[index[5]] * 3, index[6:9]], names=["origin", "time"]),
    )
    actual, naive, seasonal = baselines(observed, forecasts, season=2, lookback=4)
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


def test_backtest_fits_clones_and_leaves_the_forecaster_alone(trained):
    forecaster, df = trained
    model, before = forecaster.model_, forecaster.predict(df)
    folds = forecaster.backtest(df, folds=2, test=0.3, epochs=1)
    assert list(folds["fold"].unique()) == [0, 1] and set(folds.index) == {"tsgate", "naive", "seasonal naive (24)"}
    assert forecaster.model_ is model
    pd.testing.assert_frame_equal(forecaster.predict(df), before)


def test_backtest_without_refit_fits_once(monkeypatch):
    df = hourly(400)
    fits = []
    original = Forecaster.fit
    monkeypatch.setattr(Forecaster, "fit", lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    Forecaster("y", lookback=24, horizon=6, units=4).backtest(df, folds=3, test=0.4, refit=False, epochs=1)
    assert len(fits) == 1


def test_plots_leave_the_matplotlib_backend_alone(trained, tmp_path):
    import matplotlib

    forecaster, df = trained
    backend = matplotlib.get_backend()
    fig = forecaster.plot(df, tmp_path / "forecast.png", series="b")
    assert matplotlib.get_backend() == backend
    assert (tmp_path / "forecast.png").stat().st_size > 10_000
    assert [line.get_label() for line in fig.axes[0].lines] == ["history", "forecast"]


def test_historical_forecast_plot_shows_forecasts_against_actuals(trained, tmp_path):
    from tsgate.plotting import plot_historical_forecasts

    forecaster, df = trained
    fig = plot_historical_forecasts(forecaster, df, pd.Timestamp("2024-01-15"), tmp_path / "backtest.png")
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels[0] == "actual" and "forecast" in labels and len(labels) > 3  # several origins
    assert (tmp_path / "backtest.png").stat().st_size > 10_000


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
    folds = Forecaster("y", lookback=24, horizon=6, units=4, calendar=["hour"]).backtest(df, folds=2, test=0.3, epochs=1)
    assert list(folds["fold"].unique()) == [0, 1] and np.isfinite(folds.drop(columns="fold").to_numpy()).all()
