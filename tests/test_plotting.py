"""tsgate.plotting: forecast and historical-forecast figures."""

import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from tests.helpers import BACKEND, hourly
from tsgate.plotting import plot_historical_forecasts

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_plots_leave_the_matplotlib_backend_alone(trained, tmp_path):
    import matplotlib

    forecaster, df = trained
    backend = matplotlib.get_backend()
    fig = forecaster.plot(df, tmp_path / "forecast.png", series="b")
    assert matplotlib.get_backend() == backend
    assert (tmp_path / "forecast.png").stat().st_size > 10_000
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["history", "forecast"]
    assert ax.get_title() == "y of series 'b': 12-step forecast"
    assert [band.get_label() for band in bands(ax)] == ["0.1-0.9 interval"]


def test_historical_forecast_plot_shows_forecasts_and_intervals_against_actuals(trained, tmp_path):
    forecaster, df = trained
    fig = plot_historical_forecasts(forecaster, df, pd.Timestamp("2024-01-15"), tmp_path / "backtest.png", series="a")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    origins = len(labels) - 1
    assert labels[0] == "actual" and labels[1] == "forecast" and origins > 3  # several origins
    assert ax.get_title() == "y of series 'a': 12-step forecasts from rolling origins"
    assert len(bands(ax)) == origins and bands(ax)[0].get_label() == "0.1-0.9 interval"
    actual = ax.lines[0].get_ydata()
    drawn = ax.lines[0].get_xdata()
    expected = df[(df["site"] == "a") & (df.index >= drawn[0]) & (df.index <= drawn[-1])]["y"].to_numpy()
    assert list(actual) == list(expected)  # the actuals drawn are series a's
    for line, band in zip(ax.lines[1:], bands(ax)):  # each band encloses its median forecast
        low, high = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()
        assert low <= line.get_ydata().min() and line.get_ydata().max() <= high
    assert (tmp_path / "backtest.png").stat().st_size > 10_000


def test_nested_bands_for_every_central_interval():
    from tsgate import Forecaster

    df = hourly(160)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, quantiles=(0.1, 0.25, 0.5, 0.75, 0.9))
    fig = forecaster.fit(df, epochs=1, verbose=0).plot(df)
    ax = fig.axes[0]
    assert ax.get_title() == "y: 3-step forecast"  # one series: no series named
    outer, inner = bands(ax)
    assert [outer.get_label(), inner.get_label()] == ["0.1-0.9 interval", "0.25-0.75 interval"]
    assert outer.get_alpha() < inner.get_alpha()  # darker towards the median
    (outer_low, outer_high), (inner_low, inner_high) = [
        (band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()) for band in (outer, inner)]
    assert outer_low <= inner_low <= inner_high <= outer_high


@pytest.mark.parametrize("kwargs,argument", [({"series": "c"}, "series"), ({"target": "x"}, "target"),
                                             ({"target": 0}, "target")])
def test_plots_name_a_bad_series_or_target(trained, kwargs, argument):
    forecaster, df = trained
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        forecaster.plot(df, **kwargs)
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        plot_historical_forecasts(forecaster, df, 0.2, **kwargs)


def test_forecast_plot_takes_future_covariates(tmp_path):
    from tsgate import Forecaster

    df = hourly(150)
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, future_covariates=["x"], seed=0)
    forecaster.fit(df.iloc[:146], epochs=1, verbose=0)
    past, future = df.iloc[:146], df.iloc[146:][["x"]]
    fig = forecaster.plot(past, future=future)
    forecast = fig.axes[0].lines[1]
    expected = forecaster.predict(past, future=future)["y"]
    assert list(forecast.get_ydata()) == pytest.approx(list(expected))
    with pytest.raises(ValueError, match="future"):
        forecaster.plot(past)


def test_a_long_test_part_draws_the_first_origins_and_says_so_or_those_up_to_end(trained):
    forecaster, df = trained
    start = pd.Timestamp("2024-01-15")
    every = plot_historical_forecasts(forecaster, df, start, series="a", origins=None).axes[0]
    total = len(every.lines) - 1
    three = plot_historical_forecasts(forecaster, df, start, series="a", origins=3).axes[0]
    assert len(three.lines) - 1 == 3 < total
    assert three.get_title().endswith(f"(the first 3 of {total}: pass origins= or end=)")
    assert three.lines[0].get_xdata()[-1] == three.lines[-1].get_xdata()[-1]  # the actuals stop with the forecasts
    end = three.lines[2].get_xdata()[-1]  # the second origin's last target
    upto = plot_historical_forecasts(forecaster, df, start, series="a", end=end).axes[0]
    assert len(upto.lines) - 1 == 2 and pd.Timestamp(upto.lines[-1].get_xdata()[-1]) <= pd.Timestamp(end)
    with pytest.raises(ValueError, match="argument `origins`"):
        plot_historical_forecasts(forecaster, df, start, origins=0)
    with pytest.raises(ValueError, match="No forecast window between `start` and end="):
        plot_historical_forecasts(forecaster, df, start, end=start)
