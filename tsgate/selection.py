"""Choosing a configuration on the validation windows, by successive halving.

    >>> best = select(presets.make("long_horizon", "OT", 96), df, presets.candidates("long_horizon"),
    ...               **presets.fit_options("long_horizon"))
    >>> best.selection_          # the table: candidate, rung, epochs, validation MSE, fit seconds

Each candidate (a dict of `Forecaster` arguments over the given forecaster's;
`builder_options` merged over its own) is fitted on the training rows of
`df` with early stopping on its validation windows, as `fit` does, for a
fraction of the epochs; the better 1/eta by validation MSE go on to a rung
eta times longer, until one is left, fitted with every epoch: with n
candidates, ceil(log_eta n) + 1 rungs, a budget of about that many full
fits' epochs (Jamieson & Talwalkar 2016, the inner loop of Hyperband);
early stopping shortens the winner's last fit most, so measured against it
the selection costs more. Every rung refits
from scratch, so the schedule (a cosine decay over the rung's epochs) runs
whole in each.

Candidates are compared on one scale whatever loss they train on: the mean
over targets of each target's MSE on the validation windows (every window,
stride 1), each series' errors divided by the variance of its observed
values before the validation cut-off, the z-scored MSE of
`benchmarks/accuracy.py`. The test rows are never seen. A candidate whose
fit fails (diverges, or takes arguments the data cannot) is out of the race,
its error in the table; when every candidate of a rung fails, so does
`select`. Written here rather than with scikit-learn's
`HalvingGridSearchCV`, whose budget is rows or a constructor argument and
whose folds refit on more rows: a forecaster's budget is its epochs, and
its validation windows are the ones `fit` early-stops on.
"""

import math
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone

from tsgate.evaluation import actuals
from tsgate.validation import check_fitted, check_positive_int, invalid

FITTED_ON = "tsgate: .* windows that select scores"  # the validation windows: selection scores them knowingly


def select(forecaster, df, candidates, validation=0.2, epochs=20, eta=2, batch_size=64, patience=5,
           steps_per_epoch=None, verbose=0):
    """The best of `candidates` for `df` (see the module), fitted with
    `epochs`, with the table of every fit as `selection_` (a DataFrame:
    candidate (its position), rung, epochs, validation_mse, fit_seconds
    (scoring included), the candidate's arguments as text, and an error
    column when a fit failed), saved with it.
    `forecaster` is not changed. The other arguments are `fit`'s."""
    candidates = _check_candidates(candidates, forecaster.get_params(deep=False))
    check_positive_int("epochs", epochs)
    if not isinstance(eta, int) or isinstance(eta, bool) or eta < 2:
        raise invalid("eta", "an int of at least 2 (the share of candidates kept by each rung is 1/eta)", eta)
    rungs = math.ceil(math.log(len(candidates), eta) - 1e-9) + 1
    alive, rows, winner = list(range(len(candidates))), [], None
    for rung in range(rungs):
        budget = math.ceil(epochs / eta ** (rungs - 1 - rung))
        scores, errors = {}, {}
        for position in alive:
            start = time.perf_counter()
            row = {"candidate": position, "rung": rung, "epochs": budget, "arguments": repr(candidates[position])}
            try:
                fitted = configured(forecaster, candidates[position]).fit(
                    df, validation, epochs=budget, batch_size=batch_size, patience=patience,
                    steps_per_epoch=steps_per_epoch, verbose=verbose)
                scores[position], winner = validation_mse(fitted, df, validation), fitted
            except ValueError as error:  # diverged, or arguments this data cannot take: out of the race
                scores[position], errors[position] = math.inf, error
                row["error"] = str(error)
            rows.append({**row, "validation_mse": scores[position],
                         "fit_seconds": round(time.perf_counter() - start, 2)})
        if len(errors) == len(alive):  # nothing left to choose
            position, error = next(iter(errors.items()))
            raise ValueError(f"select: candidate {position} {candidates[position]!r} failed: {error}") from error
        alive = sorted(alive, key=scores.get)[: math.ceil(len(alive) / eta)]
    winner.selection_ = pd.DataFrame(rows)
    return winner


def configured(forecaster, candidate):
    """An unfitted copy of `forecaster` with the arguments of `candidate`
    (its `builder_options` merged over the forecaster's)."""
    candidate = dict(candidate)
    if "builder_options" in candidate:
        candidate["builder_options"] = {**(forecaster.builder_options or {}), **candidate["builder_options"]}
    return clone(forecaster).set_params(**candidate)


def validation_mse(forecaster, df, validation):
    """The z-scored MSE of the fitted `forecaster` on the windows of `df`
    whose targets start at or after the `validation` cut-off (see the
    module), a float."""
    check_fitted(forecaster)
    panel = forecaster.panel(df)
    after = panel.cutoff(validation, "validation")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", FITTED_ON, UserWarning)
        forecasts = forecaster.forecast_windows(panel, after, "select", ("validation", validation))
    targets, series_column = list(forecaster.layout_.targets), forecaster.series_column
    observed = panel.frame(series_column)[targets]
    before = observed[observed.index.get_level_values("time") < panel.timestamp(after)]
    if series_column:  # each series z-scored by its own statistics, as each file of the benchmark is
        variance = before.groupby(level=0).var(ddof=0).reindex(forecasts.index.get_level_values(series_column))
    else:
        variance = before.var(ddof=0).to_frame().T
    variance = variance.to_numpy("float64")
    error = (forecasts[targets].to_numpy("float64") - actuals(forecaster, panel, forecasts)) ** 2
    scaled = error / np.where(variance > 0, variance, 1.0)  # a constant history: its MSE as it is
    if not np.isfinite(scaled).any():
        raise ValueError("select: the validation windows have no observed target value to score.")
    return float(np.nanmean(np.nanmean(scaled, axis=0)))


def _check_candidates(candidates, params):
    """`candidates`: a non-empty list of dicts of the Forecaster arguments
    `params` names (their values are checked by each fit)."""
    if not isinstance(candidates, (list, tuple)) or not candidates or not all(
            isinstance(c, dict) and set(c) <= set(params) for c in candidates):
        raise invalid("candidates", f"a non-empty list of dicts of Forecaster arguments (among {sorted(params)})",
                      candidates)
    return list(candidates)
