"""Model selection on time: rolling-origin backtests that fit clones
(`backtest`), and `WindowSplit`, the cross-validation splitter that lets
scikit-learn's `GridSearchCV` and `cross_validate` tune a `Forecaster` on
its own windows (`Forecaster.score`).

    search = GridSearchCV(Forecaster("y", lookback=24, horizon=6), {"units": [8, 16]},
                          cv=WindowSplit(lookback=24, n_splits=3))
    search.fit(df)                          # each candidate fitted on the rows before a fold, scored after
"""

import inspect
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from tsgate.data import fraction_cutoff, frame_times
from tsgate.evaluation import check_by, check_season, evaluate_forecasts
from tsgate.preprocessing import Preprocessor
from tsgate.choices import UNITS
from tsgate.validation import check_choice, check_fraction, check_non_negative_int, check_positive_int, invalid

NOT_INHERITED = ("checkpoint_dir", "callbacks", "verbose")  # fit options a backtest never takes from the last fit


def chunk_edges(begin, end, folds):
    """The `folds + 1` boundaries of `folds` equal chunks of the span [begin,
    end] (times of one kind, e.g. datetime64)."""
    return [begin + (end - begin) * k / folds for k in range(folds + 1)]


@dataclass(frozen=True)
class BacktestResult:
    """What `backtest` returns (DataFrames in raw units).

    folds: one row per fold (index "fold"): `train_end`, the last timestamp
        the fold's model was fitted on; `test_start` and `test_end`, the
        first and last target timestamps it is scored on; `fitted`, whether
        the fold fitted its own model from scratch; `trained`, how its model
        came: "fit", "update" (the previous fold's, updated) or "reused".
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


def backtest(forecaster, df, folds=3, test=0.2, refit=True, by=None, season=None, update_options=None, units="raw",
             gap=0, window=None, **fit_options):
    """Rolling-origin evaluation on clones: the last `test` fraction of the
    span is cut into `folds` chunks; each fold fits a clone of `forecaster`
    (same configuration, scaler re-fitted) on everything before its chunk
    (with refit=False only the first fold fits, the others reuse its model;
    with refit="update" each later fold updates the previous fold's model
    on the rows since, `Forecaster.update` with `update_options`) and scores
    the windows whose targets lie in the chunk. `forecaster` itself is
    never fitted or changed.

    fit_options: any keyword argument of `Forecaster.fit` (epochs,
        batch_size, patience, validation, verbose, ...) for every fold. Not
        given, an option takes the value of the forecaster's last fit
        (`fit_options_`; not checkpoint_dir, callbacks or verbose, and
        validation only as a fraction), else fit's default (epochs=20 for an
        unfitted forecaster); verbose defaults to 0. `callbacks` are the
        same instances in every fold (Keras gives each fold's model to them
        by `set_model`): state they keep across fits, such as a log of
        epochs or a TensorBoard directory, spans every fold.
    by, season, units: as in `evaluate`.
    gap: timestamps left out between a fold's training rows and its test
        chunk (an embargo: no training target lies within `gap` steps of a
        scored one); window: None (expanding: every row before), or the
        number of timestamps a fold trains on (sliding). Both count the
        frame's distinct timestamps.

    Returns a `BacktestResult`: `folds` (boundaries), `forecasts`, `metrics`.
    """
    check_positive_int("folds", folds)
    if not (isinstance(refit, bool) or (isinstance(refit, str) and refit == "update")):
        raise invalid("refit", 'True, False or "update"', refit)
    update_options = {"verbose": 0, **(update_options or {})}
    check_fraction("test", test)
    options = _fit_options(forecaster, fit_options)
    check_by(by, forecaster.series_column)
    check_season(season)
    check_choice("units", units, UNITS)
    check_non_negative_int("gap", gap)
    if window is not None:
        check_positive_int("window", window)
    _, _, panel = Preprocessor.from_params(forecaster.get_params(deep=False)).fit_panel(df)  # every check first
    begin, end = fraction_cutoff(panel.time.min(), panel.time.max(), test), panel.time.max()
    steps = len(np.unique(panel.time[panel.time >= begin]))
    if folds > steps:
        raise invalid("folds", f"a positive integer up to the {steps} time steps of the test part", folds)
    edges = [panel.timestamp(edge) for edge in chunk_edges(begin, end, folds)]
    times = frame_times(df, forecaster.time_column)
    distinct = pd.DatetimeIndex(times.unique()).sort_values()
    first = distinct.searchsorted(edges[0]) - gap - (window or 0)
    if first < 0 or distinct.searchsorted(edges[0]) - gap < 1:
        raise ValueError(f"backtest: the first fold has {distinct.searchsorted(edges[0])} timestamps before its test "
                         f"part, fewer than gap={gap} + window={window or 0} + 1 (`gap`, `window`); give a smaller one or "
                         "a smaller `test`.")
    bounds, forecasts, tables, model, train_end = [], [], [], None, None
    for k in range(folds):
        trained = "fit" if model is None or refit is True else "update" if refit == "update" else "reused"
        if trained != "reused":
            stop = distinct.searchsorted(edges[k]) - gap  # the first timestamp left out of training
            rows = times < distinct[stop]
            if window is not None:
                rows &= times >= distinct[stop - window]
            train = df[np.asarray(rows)]
            model = clone(forecaster).fit(train, **options) if trained == "fit" else model.update(train, **update_options)
            train_end = frame_times(train, forecaster.time_column).max()
        chunk = df[times < edges[k + 1]] if k < folds - 1 else df
        table, forecast = evaluate_forecasts(model, chunk, edges[k], by, season, units)
        scored = forecast.index.get_level_values("time")
        bounds.append({"train_end": train_end, "test_start": scored.min(), "test_end": scored.max(),
                       "fitted": trained == "fit", "trained": trained})
        forecasts.append(forecast)
        tables.append(table)
    return BacktestResult(pd.DataFrame(bounds, index=pd.RangeIndex(folds, name="fold")),
                          pd.concat(forecasts, keys=range(folds), names=["fold"]),
                          pd.concat(tables, keys=range(folds), names=["fold"]))


class WindowSplit:
    """Time-series cross-validation of a forecaster's frame, for
    scikit-learn (`GridSearchCV(forecaster, grid, cv=WindowSplit(...))`,
    `cross_validate`): the last `test` fraction of the time span is cut into
    `n_splits` chunks, as `backtest` cuts it; split k trains on the rows
    before chunk k and tests on the rows of chunk k together with the
    `lookback` timestamps before it (the inputs of its first windows; the
    forecaster's `lookback`), so that `Forecaster.score` scores exactly the
    windows whose targets lie in chunk k and were never fitted on. Rows are
    split by their timestamps (the index, or `time_column`), so a long frame
    of many series splits every series at the same times. A chunk without a
    timestamp, or a split with fewer than `lookback` timestamps before its
    chunk, is an error. With `Forecaster(lookback="auto")` each fold plans
    its own lookback: give a fixed one to tune, or the largest the folds
    plan (a fold that plans a shorter one also scores windows just before
    its chunk, and warns that they were fitted on).

    split(X) yields `(train, test)` arrays of row positions of `X`.
    """

    def __init__(self, lookback, n_splits=3, test=0.2, time_column=None):
        self.lookback, self.n_splits, self.test, self.time_column = lookback, n_splits, test, time_column

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def split(self, X, y=None, groups=None):
        check_positive_int("n_splits", self.n_splits)
        check_positive_int("lookback", self.lookback)
        check_fraction("test", self.test)
        times = frame_times(X, self.time_column).to_numpy()
        distinct = np.unique(times)
        edges = chunk_edges(fraction_cutoff(distinct[0], distinct[-1], self.test), distinct[-1], self.n_splits)
        firsts = [*np.searchsorted(distinct, edges[:-1]), len(distinct)]  # the first timestamp of each chunk
        for k in range(self.n_splits):
            first = firsts[k]
            if first < self.lookback or firsts[k + 1] <= first:
                raise ValueError(f"WindowSplit: split {k} has {first} timestamps before its test chunk (lookback="
                                 f"{self.lookback} needs as many) and {firsts[k + 1] - first} in it (at least one is "
                                 "needed); use a smaller `n_splits` or another `test`.")
            inside = times < edges[k + 1] if k < self.n_splits - 1 else np.ones(len(times), bool)
            yield np.flatnonzero(times < edges[k]), np.flatnonzero(inside & (times >= distinct[first - self.lookback]))
