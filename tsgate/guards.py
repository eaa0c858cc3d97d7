"""Checks of a frame's panel against a fitted stage, before the model sees
it: an error for targets the target transform cannot take, warnings (at the
user's line, `tsgate.validation.warn`) for windows scored that the model was
fitted on and for values far outside the training range. Called by
`tsgate.preprocessing.Preprocessor`; the place for the next check of the
kind (drift, say)."""

import numpy as np
import pandas as pd

from tsgate.data import naive_utc
from tsgate.scaling import SCALED_LIMIT
from tsgate.transforms import transformed
from tsgate.validation import warn


def check_transformable(panel, transform, n_target, fill, series_column):
    """Every value of the `n_target` target columns (the first ones) of
    `panel` in the domain of `transform` (None: any), else an error naming
    column and time: observed values as the data's, filled ones (`fill`) as
    the fill's."""
    if transform is None:
        return
    bad = transform.outside(panel.values[:, :n_target])
    observed = panel.observed[:, :n_target]
    for where, mine in ((bad & observed, True), (bad & ~observed & panel.valid[:, None], False)):
        if not where.any():
            continue
        row, j = (int(axis[0]) for axis in np.nonzero(where))
        series = f" of series {panel.series[panel.series_index()[row]]!r}" if series_column else ""
        example = f"e.g. {panel.values[row, j]:g} at {panel.index()[row]}"
        if mine:
            raise ValueError(f"Target column {panel.columns[j]!r}{series} has {int(where[:, j].sum())} value(s) "
                             f"that target_transform={transform.method!r} cannot take (it needs "
                             f"{transform.domain()}), {example}; drop them (na_values=...) or choose another "
                             "transform.")
        raise ValueError(f"fill={fill!r} fills {int(where[:, j].sum())} missing value(s) of target column "
                         f"{panel.columns[j]!r}{series} with values that target_transform={transform.method!r} "
                         f"cannot take (it needs {transform.domain()}), {example}; choose another `fill` "
                         "('ffill' or 'interpolate') or another transform.")


def check_scaled(panel, scaled):
    """A value whose scaled magnitude exceeds `SCALED_LIMIT` (its loss would
    overflow float32) is an error naming its column, time and value."""
    huge = np.abs(np.nan_to_num(scaled, nan=0.0)) > SCALED_LIMIT
    if huge.any():
        row, column = np.argwhere(huge)[0]
        raise ValueError(f"Column {panel.columns[column]!r} holds {panel.values[row, column]:g} at "
                         f"{panel.index()[row]}, {int(huge[:, column].sum())} value(s) beyond what its scaler (fitted "
                         f"on the training rows) can take ({SCALED_LIMIT:g} in scaled units): a loss on it overflows. "
                         "Is it a sentinel for missing values (pass `na_values`)?")


def fitted_ends(panel, fit_end):
    """`(n_series,)` datetime64 on the panel's clock: the last timestamp
    each series of `panel` had in the data fitted on (`fit_end`, a Series by
    series id), NaT for a series never fitted on."""
    ends = dict(zip(fit_end.index, naive_utc(pd.DatetimeIndex(fit_end))))
    return np.asarray([ends.get(sid, np.datetime64("NaT")) for sid in panel.series], "datetime64[ns]")


def warn_fitted_on(panel, starts, lookback, fit_end, verb, name=None, effect="their errors are optimistic"):
    """A warning when windows at `starts` have targets at or before the last
    timestamp their series had in the frame fitted on (`fit_end`, a Series
    by series id; None: unknown): training or validation windows, whose
    scores are optimistic (`effect`, what that does to `verb`'s result).
    `verb`: the method that scores them; `name`: its argument that chose
    them (None: it scores every window of its frame)."""
    if fit_end is None:
        return
    inside = panel.time[starts + lookback] <= fitted_ends(panel, fit_end)[panel.series_index()[starts]]
    if inside.any():
        then = f"{verb}(df, {name}=cutoff)" if name else \
            f"{verb} the rows from it on (as tsgate.model_selection.WindowSplit splits)"
        warn(f"tsgate: {int(inside.sum())} of the {len(starts)} windows that {verb} scores have targets at or "
             f"before the end of the data this forecaster was fitted on ({fit_end.max()}): the training and "
             f"validation windows, on which early stopping chose the weights, so {effect}. Fit "
             f"on the rows before the test cut-off and score after it: fit(df[df.index < cutoff], ...) then {then}.")


SENTINELS = "the forecast extrapolates. Are they sentinels for missing values (pass `na_values`)?"


def warn_far_outside(panel, starts, lookback, horizon, layout, scaler, transform, consequence=SENTINELS):
    """A warning for each column whose values read by the windows at
    `starts` (targets and past covariates over the lookback, future
    covariates over the horizon) lie far outside its training range (the
    fitted `scaler`'s, after the target `transform`), ending in
    `consequence`; one-hot columns never do."""
    read = np.zeros(panel.values.shape, bool)
    known = len(layout.targets) + len(layout.past)
    read[_covered(len(read), starts, lookback), :known] = True
    read[_covered(len(read), starts + lookback, horizon), known:] = True
    read[:, np.isin(panel.columns, layout.indicators)] = False  # one-hot: 1 is no extrapolation
    n_target = len(layout.targets)
    values = transformed(panel.values, transform, n_target, panel.follows())
    far = scaler.far_outside(values) & read & panel.observed
    bounds, shown, kind = scaler.range_, panel.values, [""] * panel.values.shape[1]
    if transform is not None and transform.relative:  # returns: their range, in their units
        shown, kind[:n_target] = values, [f" one-step {transform.method}"] * n_target
    elif far.any() and transform is not None:  # the range in raw units
        bounds = np.concatenate([transform.inverse_transform(bounds[:, :n_target]), bounds[:, n_target:]], axis=1)
    for j in np.flatnonzero(far.any(axis=0)):
        row = int(np.flatnonzero(far[:, j])[0])
        low, high = bounds[:, j]
        warn(f"tsgate: column {panel.columns[j]!r} has {int(far[:, j].sum())}{kind[j]} value(s) far outside its "
             f"training range [{low:g}, {high:g}], e.g. {shown[row, j]:g} at {panel.index()[row]}; {consequence}")


def _covered(rows, starts, length):
    """`(rows,)` bool: the rows of the spans [start, start + length)."""
    delta = np.zeros(rows + 1, int)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.asarray(starts) + length, -1)
    return np.cumsum(delta[:-1]) > 0
