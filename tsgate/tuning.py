"""Tuning a forecaster's arguments, its lookback included: a random search
over a space of values, raced by successive halving on `fit`'s validation
windows (`tsgate.selection.select`).

    >>> best = tune(Forecaster("y", lookback=24, horizon=12), df,
    ...             {"lookback": [24, 48, 96], "units": [16, 32, 64], "learning_rate": [1e-3, 3e-3]}, n_trials=8)
    >>> best.selection_            # the trials: arguments, rung, epochs, validation MSE, seconds

The first trial is the forecaster as given, the others distinct random
points of the grid the space spans (`n_trials` in all, at most the grid's
size), so the search never returns a configuration that did worse than the
given one on the validation windows. A Keras tuner cannot re-window the data
when the lookback changes (keras-tuner #412, #590); here each trial is a
`Forecaster`, which windows its own data. Written on `select` rather than
with Optuna or KerasTuner: the race, its budget (epochs) and its score (the
z-scored validation MSE) are the ones `select` already measures, and the
search adds no dependency.
"""

import itertools

import numpy as np

from tsgate.selection import select
from tsgate.validation import check_positive_int, invalid


def tune(forecaster, df, space, n_trials=8, seed=0, **select_options):
    """The best of `n_trials` configurations of `forecaster` drawn from
    `space` ({Forecaster argument: a list of values}), fitted on `df`, with
    the table of every trial as `selection_`; `select_options` are
    `select`'s (validation, epochs, eta, batch_size, patience,
    steps_per_epoch, verbose). `forecaster` is not changed."""
    return select(forecaster, df, trials(forecaster, space, n_trials, seed), **select_options)


def trials(forecaster, space, n_trials=8, seed=0):
    """The candidates of `tune`: {} (the forecaster as given), then distinct
    random points of `space`'s grid, `n_trials` in all."""
    params = forecaster.get_params(deep=False)
    if not isinstance(space, dict) or not space or not all(
            name in params and isinstance(values, (list, tuple)) and len(values) > 0 for name, values in space.items()):
        raise invalid("space", f"a dict of Forecaster arguments (among {sorted(params)}) to non-empty lists of values",
                      space)
    check_positive_int("n_trials", n_trials)
    names = sorted(space)
    grid = [dict(zip(names, point)) for point in itertools.product(*(space[name] for name in names))]
    given = {name: params[name] for name in names}
    grid = [point for point in grid if point != given]  # the given configuration is the first trial already
    order = np.random.default_rng(seed).permutation(len(grid))[: n_trials - 1]
    return [{}, *(grid[k] for k in order)]
