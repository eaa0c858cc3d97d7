"""Forecast plots with matplotlib's object API: a `Figure` is made and saved
without pyplot, so the user's global backend and open figures stay as they are."""

import numpy as np
from matplotlib.figure import Figure

from tsgate.data import frame_times
from tsgate.layout import quantile_column


def _series_rows(forecaster, df, series):
    """The rows of one series of `df` (the first fitted one by default) and its id."""
    if not forecaster.series_column:
        return df, None
    series = forecaster.series_[0] if series is None else series
    return df[df[forecaster.series_column] == series], series


def _save(fig, path):
    if path:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig


def plot_forecast(forecaster, df, path=None, history=None, series=None):
    """History, forecast and (with quantiles) the outer interval of the
    first target after the end of `df`, as a matplotlib Figure; saved as PNG
    when `path` is given. history: steps of history shown (default 3 lookbacks)."""
    forecast = forecaster.predict(df)
    past, series = _series_rows(forecaster, df, series)
    if series is not None:
        forecast = forecast.xs(series, level=0)
    target, quantiles = forecaster.layout_.targets[0], forecaster.layout_.quantiles
    past = past.iloc[-(history or 3 * forecaster.lookback) :]
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    ax.plot(frame_times(past, forecaster.time_column), past[target], label="history")
    ax.plot(forecast.index, forecast[target], label="forecast")
    if quantiles:
        low, high = quantiles[0], quantiles[-1]
        ax.fill_between(forecast.index, forecast[quantile_column(target, low)], forecast[quantile_column(target, high)],
                        alpha=0.3, label=f"{low:g}-{high:g} interval")
    ax.set(title=f"{target}: {forecaster.horizon}-step forecast", ylabel=target)
    ax.legend()
    fig.autofmt_xdate()
    return _save(fig, path)


def plot_historical_forecasts(forecaster, df, start, path=None, series=None):
    """What a backtest shows: the first target's actual values from `start`
    on, and the forecasts made at origins one horizon apart (each drawn from
    its origin), with the outer quantile interval when the model has one."""
    forecasts = forecaster.historical_forecasts(df, start)
    actual, series = _series_rows(forecaster, df, series)
    if series is not None:
        forecasts = forecasts.xs(series, level=0)
    target, quantiles = forecaster.layout_.targets[0], forecaster.layout_.quantiles
    origins = forecasts.index.get_level_values("origin").unique()[:: forecaster.horizon]
    times = frame_times(actual, forecaster.time_column)
    shown = times >= origins[0]
    fig = Figure(figsize=(12, 4))
    ax = fig.subplots()
    ax.plot(times[shown], np.asarray(actual[target])[shown], color="black", linewidth=1, label="actual")
    for k, origin in enumerate(origins):
        window = forecasts.xs(origin, level="origin")
        ax.plot(window.index, window[target], color="tab:orange", label="forecast" if k == 0 else None)
        if quantiles:
            low, high = quantile_column(target, quantiles[0]), quantile_column(target, quantiles[-1])
            ax.fill_between(window.index, window[low], window[high], color="tab:orange", alpha=0.2,
                            label=f"{quantiles[0]:g}-{quantiles[-1]:g} interval" if k == 0 else None)
    ax.set(title=f"{target}: {forecaster.horizon}-step forecasts from rolling origins", ylabel=target)
    ax.legend()
    fig.autofmt_xdate()
    return _save(fig, path)
