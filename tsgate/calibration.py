"""Conformal calibration of forecast quantiles: a shift per horizon step,
target and quantile level, learned on held-out windows and applied inside
the raw-unit model, so that `predict`, the SavedModel and TF Lite serve the
calibrated band.

Split conformal quantile regression, one level at a time (Romano, Patterson
and Candès 2019, in the per-level form of their asymmetric variant). For level
τ and n held-out windows with residuals r_i = y_i − q̂_τ(x_i) (one horizon
step of one target), the shift is an order statistic (r_(k): the k-th
smallest):

    s_τ = r_(⌈(n+1)τ⌉)    τ > 0.5          s_τ = r_(⌊(n+1)τ⌋)    τ < 0.5          s_0.5 = 0

so that a new window exchangeable with the held-out ones has
P(y ≤ q̂_τ + s_τ) ≥ τ above the median and P(y < q̂_τ + s_τ) ≤ τ below it:
the central interval of levels (τ, 1 − τ) covers at least 1 − 2τ of such
windows, at each step and for each target. The median, the point forecast,
is not shifted. A point forecaster gets quantiles the same way, its forecast
being the q̂ of every level (split conformal on signed residuals). The
residuals are taken in the model's scaled units: the target transform and
the scaler are increasing, so what is covered there is covered in raw
units, and series of one global model on different scales pool fairly.
Quantiles stay ordered: each level below the median is at most the one
above it, each level above at least the one below.

Limits: windows of a time series are not exchangeable (they overlap, and
the data drift), so the guarantee is approximate: calibrate on recent
windows that the model was not fitted on (`Forecaster.calibrate(df,
start=...)`); the validation windows of `fit` (`calibration="conformal"`)
chose the epoch early stopping kept, which makes the band a little narrow
where the model overfits them. One shift per step and target serves every
series.
"""

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from tsgate.choices import CALIBRATIONS
from tsgate.keras_compat import broadcast_add
from tsgate.layout import check_levels
from tsgate.validation import check_choice

METHODS = CALIBRATIONS  # `calibration`: "conformal" (or None)
POINT_LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)  # the quantiles a point forecaster gets: its 80 % and 90 % bands
ROUNDING = 1e-9  # (n+1)τ computed in floating point: 10 × 0.9 is 9.000000000000002, whose ceiling is not 9


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration: the quantile `levels` it serves (sorted, with
    0.5), `shifts` `(horizon, n_target, n_levels)` in scaled units added to
    the model's quantiles (to its forecast, with `point`), the number of held-out
    `windows` and where they came from (`source`, words for the user)."""

    method: str
    levels: tuple
    shifts: np.ndarray
    windows: int
    source: str
    point: bool

    def layer(self, name="calibrate"):
        """The `Calibrate` layer that applies it."""
        return Calibrate(self.shifts, self.levels.index(0.5), self.point, name=name)

    def to_json(self):
        return {"method": self.method, "levels": list(self.levels), "shifts": self.shifts.tolist(),
                "windows": self.windows, "source": self.source, "point": self.point}

    @classmethod
    def from_json(cls, state):
        return cls(state["method"], tuple(state["levels"]), np.asarray(state["shifts"], "float64"),
                   int(state["windows"]), state["source"], bool(state["point"]))


def check_calibration(method, head, levels=None):
    """(method, levels, point): `method` checked (one of `METHODS`) and the
    levels to calibrate: the `head`'s quantiles, or a point forecaster's
    (`head` None) `levels` (default `POINT_LEVELS`); either needs a central
    pair (τ and 1 − τ) to make an interval of."""
    check_choice("calibration", method, METHODS)
    if head is not None and levels is not None and check_levels(levels, "levels") != tuple(head):
        raise ValueError(f"`levels` {list(levels)} differ from the quantile head's {list(head)}: a quantile head is "
                         "calibrated at its own levels (leave `levels` out).")
    chosen = tuple(head) if head is not None else check_levels(POINT_LEVELS if levels is None else levels, "levels")
    if not any(np.isclose(low + high, 1.0) for low in chosen if low < 0.5 for high in chosen):
        raise ValueError(f"Calibration needs a central pair of quantile levels (τ and 1 − τ, e.g. 0.1 and 0.9) to make "
                         f"an interval of; the levels are {list(chosen)}.")
    return method, chosen, head is None


def fit(model, dataset, method, levels, point, source):
    """The `Calibration` of `model` (scaled units) on the `(inputs, labels)`
    batches of `dataset` (labels `(b, horizon, n_target)`, NaN: missing):
    one pass of `model.predict` over them. `levels`: the head's quantiles, or
    with `point` those to give a point forecaster."""
    predictions = np.asarray(model.predict(dataset.map(lambda inputs, _: inputs), verbose=0), "float64")
    labels = np.concatenate([np.asarray(batch[1], "float64") for batch in dataset.as_numpy_iterator()])
    if point:
        predictions = predictions[..., None]
    shifts = conformal_shifts(labels[..., None] - predictions, levels)
    return Calibration(method, tuple(levels), shifts, len(labels), source, point)


def conformal_shifts(residuals, levels):
    """`(horizon, n_target, n_levels)`: the shift of each level (module
    docstring) from `residuals` `(n, horizon, n_target, n_levels)` (NaN:
    missing actual, left out of its step's count), 0 for the median. Too few
    windows for a level is an error naming the level and how many it needs."""
    levels = np.asarray(levels, "float64")
    count = np.isfinite(residuals).sum(axis=0)  # (horizon, n_target, n_levels)
    upper = levels > 0.5
    rank = np.where(upper, np.ceil((count + 1) * levels - ROUNDING), np.floor((count + 1) * levels + ROUNDING))
    short = (levels != 0.5) & ((rank < 1) | (rank > count))
    if short.any():
        step, target, level = np.argwhere(short)[0]
        tail = min(levels[level], 1 - levels[level])
        raise ValueError(f"Too few windows to calibrate quantile {levels[level]:g}: {count[step, target, level]} with "
                         f"an actual at horizon step {step + 1}, where it needs at least "
                         f"{int(np.ceil((1 - tail) / tail - ROUNDING))}; calibrate on more rows.")
    ordered = np.sort(residuals, axis=0)  # NaN last
    index = np.clip(rank.astype(int) - 1, 0, None)[None]
    shifts = np.take_along_axis(ordered, index, axis=0)[0]
    return np.where(levels == 0.5, 0.0, shifts)


@keras.saving.register_keras_serializable(package="tsgate")
class Calibrate(keras.layers.Layer):
    """Adds fixed `shifts` `(horizon, n_target, n_levels)` to quantiles
    `(b, horizon, n_target, n_levels)` (with `point`, to a forecast
    `(b, horizon, n_target)` repeated for each level), then keeps them
    ordered outward from the level at `median`:

        q_k ← min(q_k, q_k+1) below the median,   q_k ← max(q_k, q_k−1) above it

    Computed in float32 (the shifts are small against the values)."""

    def __init__(self, shifts, median, point=False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.values = np.asarray(shifts, "float32")
        self.median, self.point = int(median), bool(point)
        self.shifts = self.add_weight(shape=self.values.shape, trainable=False, name="shifts",
                                      initializer=keras.initializers.Constant(self.values))

    def call(self, x):
        if self.point:
            x = ops.repeat(ops.expand_dims(x, -1), self.values.shape[-1], axis=-1)
        shifted = broadcast_add(x, ops.cast(self.shifts, x.dtype))  # ops.add may mis-broadcast a size-1 axis
        levels = [shifted[..., k] for k in range(self.values.shape[-1])]
        for k in range(self.median - 1, -1, -1):
            levels[k] = ops.minimum(levels[k], levels[k + 1])
        for k in range(self.median + 1, len(levels)):
            levels[k] = ops.maximum(levels[k], levels[k - 1])
        return ops.stack(levels, axis=-1)

    def get_config(self):
        return {**super().get_config(), "shifts": self.values.tolist(), "median": self.median, "point": self.point}
