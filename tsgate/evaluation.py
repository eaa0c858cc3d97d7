"""Accuracy in raw units: point and probabilistic metrics, the naive and
seasonal-naive baselines, and rolling-origin backtests. Pure functions over
a fitted forecaster's `historical_forecasts`; the forecaster they are given
is never changed (backtests fit clones).

Every metric skips the values whose actual is missing (NaN in
`Panel.frame`): a missing target is left out, never scored as a number.
"""

import inspect
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from tsgate.choices import GROUPS  # what `by` may name
from tsgate.data import frame_times, season_length
from tsgate.layout import quantile_column
from tsgate.validation import check_bool, check_positive_int, invalid

NOT_INHERITED = ("checkpoint_dir", "callbacks", "verbose")  # fit options a backtest never takes from the last fit


def metrics(actual, forecast, scale):
    """MAE, RMSE, MAPE (%), sMAPE (%) and MASE (MAE over `scale`, the
    in-sample one-step naive MAE) of `forecast` against `actual` (arrays of
    one shape), over the values whose actual is finite; NaN without any."""
    keep = np.isfinite(actual)
    actual, forecast = actual[keep], forecast[keep]
    if not actual.size:
        return dict.fromkeys(("MAE", "RMSE", "MAPE", "sMAPE", "MASE"), float("nan"))
    error = forecast - actual
    mae = float(np.mean(np.abs(error)))
    with np.errstate(divide="ignore", invalid="ignore"):
        nonzero = actual != 0
        mape = float(np.mean(np.abs(error[nonzero] / actual[nonzero])) * 100) if nonzero.any() else float("nan")
        denominator = np.abs(actual) + np.abs(forecast)
        smape = float(np.mean(np.where(denominator > 0, 2 * np.abs(error) / denominator, 0.0)) * 100)
    return {"MAE": mae, "RMSE": float(np.sqrt(np.mean(error**2))), "MAPE": mape, "sMAPE": smape, "MASE": mae / scale}


def central_intervals(levels):
    """The central intervals among sorted quantile `levels`, outermost
    first: [(low, high)], levels with low + high = 1 (to rounding)."""
    return [(low, high) for low in levels if low < 0.5 for high in levels if np.isclose(low + high, 1.0)]


def interval_name(low, high):
    """'0.1-0.9': how columns name the central interval between two levels."""
    return f"{low:g}-{high:g}"


def quantile_metrics(actual, quantiles, levels):
    """Probabilistic metrics of `quantiles` `(n, Q)` (sorted `levels`)
    against `actual` `(n,)`, over the finite actuals:

        pinball                 mean over values and levels of max(q (y − ŷ_q), (q − 1)(y − ŷ_q))
        coverage <lo>-<hi>      share of actuals with ŷ_lo ≤ y ≤ ŷ_hi, for each pair of levels lo + hi = 1
        width <lo>-<hi>         mean of ŷ_hi − ŷ_lo

    (NaN without a finite actual)."""
    pairs = [(list(levels).index(low), list(levels).index(high)) for low, high in central_intervals(levels)]
    levels = np.asarray(levels, "float64")
    keep = np.isfinite(actual)
    actual, quantiles = actual[keep], quantiles[keep]
    nan = not actual.size
    error = actual[:, None] - quantiles
    table = {"pinball": float("nan") if nan else float(np.mean(np.maximum(levels * error, (levels - 1) * error)))}
    for low, high in pairs:
        name = interval_name(levels[low], levels[high])
        inside = (quantiles[:, low] <= actual) & (actual <= quantiles[:, high])
        table[f"coverage {name}"] = float("nan") if nan else float(np.mean(inside))
        table[f"width {name}"] = float("nan") if nan else float(np.mean(quantiles[:, high] - quantiles[:, low]))
    return table


def _keys(index, level, series_column):
    """The (series, time) keys of `index` with its `level` as the time."""
    times = index.get_level_values(level)
    return pd.MultiIndex.from_arrays([index.get_level_values(series_column), times]) if series_column else times


def baselines(observed, forecasts, season, lookback, series_column=None):
    """Actual values and the naive (last observed value) and seasonal-naive
    (the same phase of the last season within the lookback; naive when the
    lookback is shorter than a season) forecasts, each `(rows, n_target)`,
    for the rows of a `historical_forecasts` frame. `observed`: the targets on
    their regular grid, indexed like `Panel.frame`, NaN where missing: the
    actuals keep the NaN, the baselines take the last value observed at or
    before their lag."""
    last_seen = observed.groupby(level=0).ffill() if series_column else observed.ffill()
    actual, values = observed.to_numpy("float64"), last_seen.to_numpy("float64")
    at_time = observed.index.get_indexer(_keys(forecasts.index, "time", series_column))
    at_origin = observed.index.get_indexer(_keys(forecasts.index, "origin", series_column))
    naive = values[at_origin]
    if lookback < season:
        return actual[at_time], naive, naive
    step = at_time - at_origin  # 1 .. horizon: the grid is regular within a series
    return actual[at_time], naive, values[at_time - season * -(-step // season)]


def _check_by(by, series_column):
    """`by` as a list of names in GROUPS (empty for None)."""
    names = [] if by is None else [by] if isinstance(by, str) else by
    expected = f"None, one of {list(GROUPS)} or a list of them"
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n in GROUPS for n in names) \
            or len(set(names)) < len(names):
        raise invalid("by", expected, by)
    if "series" in names and not series_column:
        raise invalid("by", f"{expected} ('series' needs a forecaster with a `series_column`)", by)
    return list(names)


def _check_season(season):
    return None if season is None else check_positive_int("season", season)


def _scores(forecaster, panel, forecasts, start, season, by):
    """The metrics table of `forecasts` (a `historical_forecasts` frame of
    `panel` whose targets lie at or after `start`), grouped by `by`."""
    layout, series_column = forecaster.layout_, forecaster.series_column
    targets, levels = list(layout.targets), layout.quantiles
    observed = panel.frame(series_column)[targets]
    actual, naive, seasonal = baselines(observed, forecasts, season, forecaster.lookback, series_column)
    models = {"tsgate": forecasts[targets].to_numpy("float64"), "naive": naive,
              f"seasonal naive ({season})": seasonal}
    rows, n_target = actual.shape
    keys = {  # one value per forecast value, rows × targets in C order
        "series": np.repeat(forecasts.index.get_level_values(series_column), n_target) if series_column else None,
        "target": np.tile(np.asarray(targets, dtype=object), rows),
        "horizon": np.repeat(np.tile(np.arange(1, forecaster.horizon + 1), rows // forecaster.horizon), n_target),
    }
    quantiles = None
    if levels:
        columns = [quantile_column(t, q) for t in targets for q in levels]
        quantiles = forecasts[columns].to_numpy("float64").reshape(rows * n_target, len(levels))

    # MASE's scale: the in-sample naive MAE of the group's series and targets
    # before `start` (1 for a constant history, NaN without one).
    history = observed[observed.index.get_level_values("time") < start]
    steps = history.groupby(level=0).diff() if series_column else history.diff()
    changes = pd.DataFrame({"change": np.abs(steps.to_numpy("float64")).ravel(),
                            "target": np.tile(np.asarray(targets, dtype=object), len(steps))})
    if series_column:
        changes["series"] = np.repeat(steps.index.get_level_values(0), n_target)
    changes = changes[np.isfinite(changes["change"])]
    scaled_by = [name for name in by if name != "horizon"]
    scales = changes.groupby(scaled_by)["change"].mean() if scaled_by else None

    groups = {(): np.arange(rows * n_target)} if not by else \
        pd.DataFrame({name: keys[name] for name in by}).groupby(by, sort=True).indices
    table = {}
    for key, positions in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        own = tuple(value for name, value in zip(by, key) if name != "horizon")
        scale = changes["change"].mean() if not own else scales.get(own[0] if len(own) == 1 else own, float("nan"))
        scale = float(scale) or 1.0  # NaN stays NaN
        for model, values in models.items():
            row = metrics(actual.ravel()[positions], values.ravel()[positions], scale)
            if levels:
                probabilistic = quantile_metrics(actual.ravel()[positions], quantiles[positions], levels)
                row.update(probabilistic if model == "tsgate" else dict.fromkeys(probabilistic, float("nan")))
            table[(*key, model)] = row
    frame = pd.DataFrame.from_dict(table, orient="index")
    names = [series_column if name == "series" else name for name in by]
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=[*names, "model"]) if by else \
        pd.Index([key[-1] for key in table], name="model")
    return frame


def _evaluate(forecaster, df, test, by, season, stacklevel=3):
    """(metrics table, forecasts) of `evaluate`; `stacklevel` of the warning
    for windows the forecaster was fitted on."""
    forecaster._check_fitted()
    by, season = _check_by(by, forecaster.series_column), _check_season(season)
    panel = forecaster.panel(df)
    start = panel.timestamp(panel.cutoff(test, "test"))
    forecasts = forecaster._historical(panel, start, "test", stacklevel=stacklevel + 1)
    season = season_length(forecaster.freq_) if season is None else season
    return _scores(forecaster, panel, forecasts, start, season, by), forecasts


def evaluate(forecaster, df, test=0.2, by=None, season=None):
    """Metrics in raw units on the windows whose targets lie in the last
    `test` part of the time span (a fraction or a start timestamp), next to
    the naive and seasonal-naive baselines.

    Columns: MAE, RMSE, MAPE, sMAPE, MASE (see `metrics`) and, for a
    forecaster with quantiles, pinball, coverage and width of each central
    interval (see `quantile_metrics`; NaN for the baselines). Missing
    actuals are skipped.

    by: None (default) pools every series, target and step: a DataFrame
        indexed by model ("tsgate", "naive", "seasonal naive (s)"). "series",
        "target", "horizon" (the step, 1 .. horizon) or a list of them: one
        row per group and model, indexed by (*by, "model"), the series level
        named by the `series_column` (`.reset_index()` gives the long, tidy
        form). MASE divides by the in-sample naive MAE
        of the group's series and targets.
    season: the seasonal-naive baseline's lag in steps (default
        `tsgate.data.season_length` of the forecaster's frequency).
    """
    return _evaluate(forecaster, df, test, by, season, stacklevel=4)[0]


@dataclass(frozen=True)
class BacktestResult:
    """What `backtest` returns (DataFrames in raw units).

    folds: one row per fold (index "fold"): `train_end`, the last timestamp
        the fold's model was fitted on; `test_start` and `test_end`, the
        first and last target timestamps it is scored on; `fitted`, whether
        the fold fitted its own model (False: it reuses the previous one).
    forecasts: the `historical_forecasts` of every fold, indexed by
        ("fold", [series,] "origin", "time").
    metrics: the `evaluate` table of every fold, indexed by ("fold", [*by,]
        "model"); `metrics.groupby("model").mean()` averages the folds.
    """

    folds: pd.DataFrame
    forecasts: pd.DataFrame
    metrics: pd.DataFrame


def _fit_options(forecaster, fit_options):
    """The keyword arguments of each fold's `fit`: fit's defaults, replaced
    by the options of the forecaster's last fit (`fit_options_`, when fitted)
    except `NOT_INHERITED` and a `validation` that is not a fraction,
    `verbose=0`, then `fit_options`."""
    parameters = list(inspect.signature(type(forecaster).fit).parameters.values())[2:]  # after self, df
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    unknown = sorted(set(fit_options) - set(defaults))
    if unknown and not takes_any:
        raise invalid("fit_options", f"keyword arguments of Forecaster.fit among {sorted(defaults)}", unknown)
    inherited = {name: value for name, value in getattr(forecaster, "fit_options_", {}).items()
                 if name in defaults and name not in NOT_INHERITED}
    validation = inherited.get("validation")
    if not isinstance(validation, numbers.Real) or isinstance(validation, bool):
        inherited.pop("validation", None)  # a cut-off date would lie outside the early folds
    return {**defaults, **inherited, "verbose": 0, **fit_options}


def backtest(forecaster, df, folds=3, test=0.2, refit=True, by=None, season=None, **fit_options):
    """Rolling-origin evaluation on clones: the last `test` fraction of the
    span is cut into `folds` chunks; each fold fits a clone of `forecaster`
    (same configuration, scaler re-fitted) on everything before its chunk
    (with refit=False only the first fold fits, the others reuse its model)
    and scores the windows whose targets lie in the chunk. `forecaster`
    itself is never fitted or changed.

    fit_options: any keyword argument of `Forecaster.fit` (epochs,
        batch_size, patience, validation, verbose, ...) for every fold. Not
        given, an option takes the value of the forecaster's last fit
        (`fit_options_`; not checkpoint_dir, callbacks or verbose, and
        validation only as a fraction), else fit's default (epochs=20 for an
        unfitted forecaster); verbose defaults to 0. `callbacks` are the
        same instances in every fold (Keras gives each fold's model to them
        by `set_model`): state they keep across fits, such as a log of
        epochs or a TensorBoard directory, spans every fold.
    by, season: as in `evaluate`.

    Returns a `BacktestResult`: `folds` (boundaries), `forecasts`, `metrics`.
    """
    check_positive_int("folds", folds)
    check_bool("refit", refit)
    if isinstance(test, bool) or not isinstance(test, (int, float)) or not 0 < test < 1:
        raise invalid("test", "a fraction in (0, 1)", test)
    options = _fit_options(forecaster, fit_options)
    _check_by(by, forecaster.series_column)
    _check_season(season)
    template = clone(forecaster)
    _, _, panel = template._fit_panel(df)  # every check before any fit
    start, end = panel.time.min(), panel.time.max()
    begin = start + (end - start) * (1 - test)
    steps = len(np.unique(panel.time[panel.time >= begin]))
    if folds > steps:
        raise invalid("folds", f"a positive integer up to the {steps} time steps of the test part", folds)
    edges = [panel.timestamp(begin + (end - begin) * k / folds) for k in range(folds + 1)]
    times = frame_times(df, forecaster.time_column)
    bounds, forecasts, tables, model, train_end = [], [], [], None, None
    for k in range(folds):
        fitted = refit or model is None
        if fitted:
            train = df[times < edges[k]]
            model = clone(forecaster).fit(train, **options)
            train_end = frame_times(train, forecaster.time_column).max()
        chunk = df[times < edges[k + 1]] if k < folds - 1 else df
        table, forecast = _evaluate(model, chunk, edges[k], by, season)
        scored = forecast.index.get_level_values("time")
        bounds.append({"train_end": train_end, "test_start": scored.min(), "test_end": scored.max(), "fitted": fitted})
        forecasts.append(forecast)
        tables.append(table)
    return BacktestResult(pd.DataFrame(bounds, index=pd.RangeIndex(folds, name="fold")),
                          pd.concat(forecasts, keys=range(folds), names=["fold"]),
                          pd.concat(tables, keys=range(folds), names=["fold"]))
