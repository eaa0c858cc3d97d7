"""Forecast plots with matplotlib's object API: a `Figure` is made and saved
without pyplot, so the user's global backend and open figures stay as they
are. Titles name the target and, with several series, the series; quantile
forecasts are drawn with a band for each central interval (0.1-0.9, 0.25-0.75,
...), darker towards the median."""

import numpy as np
from matplotlib.figure import Figure

from tsgate.data import frame_times
from tsgate.evaluation import central_intervals, interval_name
from tsgate.layout import quantile_column
from tsgate.validation import invalid


def _series_rows(forecaster, df, series):
    """The rows of one series of `df` (the first fitted one by default) and its id."""
    if not forecaster.series_column:
        if series is not None:
            raise invalid("series", "None for a forecaster without a `series_column`", series)
        return df, None
    series = forecaster.series_[0] if series is None else series
    if series not in forecaster.series_:
        raise invalid("series", f"a series the forecaster was fitted on, among {forecaster.series_[:5]}", series)
    return df[df[forecaster.series_column] == series], series


def _target(forecaster, target):
    """`target`, a fitted target column (the first by default)."""
    targets = forecaster.layout_.targets
    if target is None:
        return targets[0]
    if not isinstance(target, str) or target not in targets:
        raise invalid("target", f"one of the forecast targets {list(targets)}", target)
    return target


def _title(target, series, what):
    return f"{target}{'' if series is None else f' of series {series!r}'}: {what}"


def _bands(ax, times, frame, target, quantiles, color, label=True):
    """A band per central interval of `target`'s quantile columns in `frame`."""
    pairs = central_intervals(quantiles)
    for k, (low, high) in enumerate(pairs):
        ax.fill_between(times, frame[quantile_column(target, low)], frame[quantile_column(target, high)],
                        color=color, alpha=0.15 + 0.25 * k / max(len(pairs) - 1, 1), linewidth=0,
                        label=f"{interval_name(low, high)} interval" if label else None)


def _save(fig, path):
    if path:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig


def plot_forecast(forecaster, df, path=None, history=None, series=None, target=None, future=None):
    """History, forecast and (with quantiles) the central intervals of
    `target` (default the first) after the end of `df`, for `series`
    (default the first fitted one), as a matplotlib Figure; saved as PNG
    when `path` is given. history: steps of history shown (default 3
    lookbacks); future: the known-future covariates, as for `predict`."""
    target = _target(forecaster, target)
    past, series = _series_rows(forecaster, df, series)
    forecast = forecaster.predict(df, future=future)
    if series is not None:
        forecast = forecast.xs(series, level=0)
    past = past.iloc[-(history or 3 * forecaster.lookback_) :]
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    ax.plot(frame_times(past, forecaster.time_column), past[target], label="history")
    ax.plot(forecast.index, forecast[target], label="forecast")
    if forecaster.layout_.quantiles:
        _bands(ax, forecast.index, forecast, target, forecaster.layout_.quantiles, "tab:orange")
    ax.set(title=_title(target, series, f"{forecaster.horizon}-step forecast"), ylabel=target)
    ax.legend()
    fig.autofmt_xdate()
    return _save(fig, path)


def plot_historical_forecasts(forecaster, df, start, path=None, series=None, target=None):
    """What a backtest shows: the actual values of `target` (default the
    first) of `series` (default the first fitted one) from `start` on, and
    the forecasts made at origins one horizon apart (each drawn from its
    origin), with a band for each central quantile interval when the model
    has quantiles; as a matplotlib Figure, saved as PNG when `path` is given."""
    target = _target(forecaster, target)
    actual, series = _series_rows(forecaster, df, series)
    forecasts = forecaster.historical_forecasts(df, start)
    if series is not None:
        forecasts = forecasts.xs(series, level=0)
    quantiles = forecaster.layout_.quantiles
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
            _bands(ax, window.index, window, target, quantiles, "tab:orange", label=k == 0)
    ax.set(title=_title(target, series, f"{forecaster.horizon}-step forecasts from rolling origins"), ylabel=target)
    ax.legend()
    fig.autofmt_xdate()
    return _save(fig, path)
