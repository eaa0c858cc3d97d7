"""Accuracy in raw units: metrics, the naive and seasonal-naive baselines, and
rolling-origin backtests. Pure functions over a fitted forecaster's
`historical_forecasts`; the forecaster they are given is never changed
(backtests fit clones)."""

import numpy as np
import pandas as pd
from sklearn.base import clone

from tsgate.data import INFER, frame_times, season_length
from tsgate.validation import check_bool, check_positive_int, invalid

FIT_OPTIONS = ("validation", "epochs", "batch_size", "patience", "checkpoint_dir", "verbose")


def metrics(actual, forecast, scale):
    """MAE, RMSE, MAPE (%), sMAPE (%) and MASE (MAE over `scale`, the in-sample
    one-step naive MAE) over all windows, steps and targets."""
    error = forecast - actual
    mae = float(np.mean(np.abs(error)))
    with np.errstate(divide="ignore", invalid="ignore"):
        nonzero = actual != 0
        mape = float(np.mean(np.abs(error[nonzero] / actual[nonzero])) * 100) if nonzero.any() else float("nan")
        denominator = np.abs(actual) + np.abs(forecast)
        smape = float(np.mean(np.where(denominator > 0, 2 * np.abs(error) / denominator, 0.0)) * 100)
    return {"MAE": mae, "RMSE": float(np.sqrt(np.mean(error**2))), "MAPE": mape, "sMAPE": smape, "MASE": mae / scale}


def _keys(index, level, series_column):
    """The (series, time) keys of `index` with its `level` as the time."""
    times = index.get_level_values(level)
    return pd.MultiIndex.from_arrays([index.get_level_values(series_column), times]) if series_column else times


def baselines(observed, forecasts, season, lookback, series_column=None):
    """Actual values and the naive (last observed value) and seasonal-naive
    (the same phase of the last season within the lookback; naive when the
    lookback is shorter than a season) forecasts, each `(rows, n_target)`,
    for the rows of a `historical_forecasts` frame. `observed`: the targets on
    their regular grid, indexed like `Panel.frame`."""
    values = observed.to_numpy("float64")
    at_time = observed.index.get_indexer(_keys(forecasts.index, "time", series_column))
    at_origin = observed.index.get_indexer(_keys(forecasts.index, "origin", series_column))
    naive = values[at_origin]
    if lookback < season:
        return values[at_time], naive, naive
    step = at_time - at_origin  # 1 .. horizon: the grid is regular within a series
    return values[at_time], naive, values[at_time - season * -(-step // season)]


def evaluate(forecaster, df, test=0.2):
    """Metrics in raw units on the windows whose targets lie in the last
    `test` part of the time span (a fraction or a start timestamp), next to
    the naive and seasonal-naive baselines. Returns a DataFrame indexed by model."""
    forecaster._check_fitted()
    panel = forecaster.panel(df)
    start = panel.timestamp(panel.cutoff(test, "test"))
    forecasts = forecaster._historical(panel, start, "test")
    targets = list(forecaster.layout_.targets)
    observed = panel.frame(forecaster.series_column)[targets]
    season = season_length(forecaster.freq_)
    actual, naive, seasonal = baselines(observed, forecasts, season, forecaster.lookback, forecaster.series_column)
    history = observed[observed.index.get_level_values("time") < start]
    steps = history.groupby(level=0).diff() if forecaster.series_column else history.diff()
    changes = np.abs(steps.to_numpy("float64"))
    changes = changes[np.isfinite(changes)]
    # MASE's scale: the in-sample naive MAE (1 for a constant history, NaN without one).
    scale = (float(changes.mean()) or 1.0) if changes.size else float("nan")
    table = {
        "tsgate": metrics(actual, forecasts[targets].to_numpy("float64"), scale),
        "naive": metrics(actual, naive, scale),
        f"seasonal naive ({season})": metrics(actual, seasonal, scale),
    }
    return pd.DataFrame(table).T


def backtest(forecaster, df, folds=3, test=0.2, refit=True, **fit_options):
    """Rolling-origin evaluation: the last `test` fraction of the span is cut
    into `folds` chunks; each fold fits a clone of `forecaster` (same
    configuration, scaler re-fitted) on everything before its chunk (with
    refit=False only the first fold fits, the others reuse it) and evaluates
    it on the chunk. Returns a DataFrame of metrics per fold and model."""
    check_positive_int("folds", folds)
    check_bool("refit", refit)
    if isinstance(test, bool) or not isinstance(test, (int, float)) or not 0 < test < 1:
        raise invalid("test", "a fraction in (0, 1)", test)
    unknown = sorted(set(fit_options) - set(FIT_OPTIONS))
    if unknown:
        raise invalid("fit_options", f"keyword arguments of Forecaster.fit among {list(FIT_OPTIONS)}", unknown)
    template = clone(forecaster)
    panel = template._panel(df, template._check_params(), template.freq, INFER)  # every check before any fit
    start, end = panel.time.min(), panel.time.max()
    begin = start + (end - start) * (1 - test)
    steps = len(np.unique(panel.time[panel.time >= begin]))
    if folds > steps:
        raise invalid("folds", f"a positive integer up to the {steps} time steps of the test part", folds)
    edges = [panel.timestamp(begin + (end - begin) * k / folds) for k in range(folds + 1)]
    times = frame_times(df, forecaster.time_column)
    rows, model = [], None
    for k in range(folds):
        if refit or model is None:
            model = clone(forecaster).fit(df[times < edges[k]], **{"verbose": 0, **fit_options})
        chunk = df[times < edges[k + 1]] if k < folds - 1 else df
        table = evaluate(model, chunk, test=edges[k])
        table.insert(0, "fold", k)
        rows.append(table)
    return pd.concat(rows)
