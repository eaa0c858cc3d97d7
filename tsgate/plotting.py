"""Forecast plots with matplotlib's object API: a `Figure` is made and saved
without pyplot, so the user's global backend and open figures stay as they
are. Titles name the target and, with several series, the series; quantile
forecasts are drawn with a band for each central interval (0.1-0.9, 0.25-0.75,
...), darker towards the median; `plot_calibration` shows whether they hold."""

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from tsgate.data import frame_times
from tsgate.evaluation import central_intervals, interval_name
from tsgate.layout import quantile_column
from tsgate.validation import check_positive_int, invalid

ORIGINS = 12  # plot_historical_forecasts: the origins drawn by default


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


def plot_historical_forecasts(forecaster, df, start, path=None, series=None, target=None, end=None,
                              origins=ORIGINS):
    """What a backtest shows: the actual values of `target` (default the
    first) of `series` (default the first fitted one) from `start` on, and
    the forecasts made at origins one horizon apart (each drawn from its
    origin), with a band for each central quantile interval when the model
    has quantiles; as a matplotlib Figure, saved as PNG when `path` is given.
    end: the last target time drawn (a timestamp; default: the data's end).
    origins: how many origins to draw, the first from `start` (default
    `ORIGINS`, so that a year of daily forecasts stays readable; the title
    says how many there were), or None for every one."""
    target = _target(forecaster, target)
    if origins is not None:
        check_positive_int("origins", origins)
    actual, series = _series_rows(forecaster, df, series)
    forecasts = forecaster.historical_forecasts(df, start)
    if series is not None:
        forecasts = forecasts.xs(series, level=0)
    if end is not None:
        times = forecasts.index.get_level_values("time")
        end = pd.Timestamp(end)
        end = end.tz_localize(times.tz) if times.tz is not None and end.tz is None else end
        last = times.to_series().groupby(forecasts.index.get_level_values("origin")).transform("max")
        forecasts = forecasts[(last <= end).to_numpy()]
        if forecasts.empty:
            raise ValueError(f"No forecast window between `start` and end={end!r}: give a later `end`.")
    quantiles = forecaster.layout_.quantiles
    every = forecasts.index.get_level_values("origin").unique()[:: forecaster.horizon]
    drawn = every if origins is None else every[:origins]
    forecasts = forecasts[forecasts.index.get_level_values("origin").isin(drawn)]
    times = frame_times(actual, forecaster.time_column)
    shown = (times >= drawn[0]) & (times <= forecasts.index.get_level_values("time").max())
    fig = Figure(figsize=(12, 4))
    ax = fig.subplots()
    ax.plot(times[shown], np.asarray(actual[target])[shown], color="black", linewidth=1, label="actual")
    for k, origin in enumerate(drawn):
        window = forecasts.xs(origin, level="origin")
        ax.plot(window.index, window[target], color="tab:orange", label="forecast" if k == 0 else None)
        if quantiles:
            _bands(ax, window.index, window, target, quantiles, "tab:orange", label=k == 0)
    some = "" if len(drawn) == len(every) else f" (the first {len(drawn)} of {len(every)}: pass origins= or end=)"
    ax.set(title=_title(target, series, f"{forecaster.horizon}-step forecasts from rolling origins{some}"),
           ylabel=target)
    ax.legend()
    fig.autofmt_xdate()
    return _save(fig, path)


def plot_calibration(forecaster, df, test=0.2, path=None, target=None):
    """Whether the quantiles hold what they say, on the windows whose
    targets lie in the last `test` part of `df` (as `evaluate`): left, the
    share of actuals of `target` (default the first) below each quantile
    against its level (on the diagonal when calibrated), over every step and
    for each horizon step; right, the coverage of each central interval by
    step against its nominal share. A matplotlib Figure, saved as PNG when
    `path` is given. Needs quantiles (a quantile head, or a calibrated point
    forecaster)."""
    levels = forecaster.layout_.quantiles
    if not levels:
        raise ValueError("plot_calibration needs forecast quantiles: fit with quantiles=(0.1, 0.5, 0.9), or calibrate "
                         "a point forecaster (calibration='conformal', forecaster.calibrate(df, start=...)).")
    target = _target(forecaster, target)
    table = forecaster.evaluate(df, test, by=["target", "horizon"]).xs((target, "tsgate"), level=("target", "model"))
    below = table[[f"below {q:g}" for q in levels]].to_numpy()  # (horizon, levels)
    steps = table.index.to_numpy()
    fig = Figure(figsize=(11, 4.5))
    reliability, coverage = fig.subplots(1, 2)
    cmap = colormaps["viridis"]
    for k, step in enumerate(steps):
        reliability.plot(levels, below[k], color=cmap(k / max(len(steps) - 1, 1)), linewidth=0.8, alpha=0.6,
                         label=f"step {step}" if k in (0, len(steps) - 1) else None)
    reliability.plot(levels, below.mean(axis=0), "o-", color="black", linewidth=2, label="every step")
    reliability.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="calibrated")
    reliability.set(xlim=(0, 1), ylim=(0, 1), xlabel="quantile level", ylabel="share of actuals below",
                    title=_title(target, None, "quantile calibration"))
    reliability.legend(loc="upper left")
    for k, (low, high) in enumerate(central_intervals(levels)):
        name = interval_name(low, high)
        line, = coverage.plot(steps, table[f"coverage {name}"], marker=".", label=f"{name} interval")
        coverage.axhline(high - low, color=line.get_color(), linestyle="--", linewidth=1)
    coverage.set(ylim=(0, 1.02), xlabel="horizon step", ylabel="coverage",
                 title="coverage by horizon step (dashed: nominal)")
    coverage.legend(loc="lower left")
    return _save(fig, path)
