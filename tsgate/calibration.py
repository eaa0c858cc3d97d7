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

"adaptive" starts from those shifts and moves them as actuals arrive
(online quantile tracking, the "quantile tracker" of Angelopoulos, Candès and
Tibshirani 2023, conformal PID control; adaptive conformal inference, Gibbs
and Candès 2021, moves the level instead): after each actual y of a window
forecast at step h,

    s_τ ← s_τ + η_τ (τ − 1{y ≤ q̂_τ + s_τ})

each step's tracker hearing of an actual only once its time has come (h
windows later). Whatever the data, drifting or not, the share of actuals
below each level over T windows stays within (B + η)/(η T) of τ, B the range
of the residuals: long-run coverage without exchangeability, bought with a
band that moves with recent errors. At horizon step h, η_τ is
`ADAPTIVE_RATE` times the 5-95 % range of the calibration residuals of that
step, target and level, divided by √h: step h hears of each actual h windows
late, and a tracker that keeps correcting for h windows before it sees the
effect overshoots (with one rate for every step, a 96-step model's band swung
to several times its width on a drifting synthetic series; with 1/h the far
steps took most of 11,000 windows to come down from a band too wide, with
1/√h they did not: started 3 times too wide or 0.4 times too narrow, every
step's coverage within 0.015 of nominal, the width 1.0-1.5 times the right
one).
`historical_forecasts` (and `evaluate`, `backtest`) replay it window by
window from the calibrated shifts; `Forecaster.adapt(df)` keeps its last
state, which `predict` and the exports then serve.

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

METHODS = CALIBRATIONS  # `calibration`: "conformal" or "adaptive" (or None)
POINT_LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)  # the quantiles a point forecaster gets: its 80 % and 90 % bands
ADAPTIVE_RATE = 0.1  # "adaptive": the tracker's step at horizon step 1, a share of the residuals' 5-95 % range
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
    rates: np.ndarray = None  # "adaptive": the tracker's steps η, like `shifts`

    def layer(self, name="calibrate"):
        """The `Calibrate` layer that applies it."""
        return Calibrate(self.shifts, self.levels.index(0.5), self.point, name=name)

    def to_json(self):
        return {"method": self.method, "levels": list(self.levels), "shifts": self.shifts.tolist(),
                "windows": self.windows, "source": self.source, "point": self.point,
                "rates": None if self.rates is None else self.rates.tolist()}

    @classmethod
    def from_json(cls, state):
        rates = state.get("rates")
        return cls(state["method"], tuple(state["levels"]), np.asarray(state["shifts"], "float64"),
                   int(state["windows"]), state["source"], bool(state["point"]),
                   None if rates is None else np.asarray(rates, "float64"))


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
        raise ValueError(f"Calibration needs a central pair of quantile levels (τ and 1 − τ, e.g. 0.1 and 0.9) "
                         f"to make an interval of; the levels are {list(chosen)}.")
    return method, chosen, head is None


def fit(model, dataset, method, levels, point, source):
    """The `Calibration` of `model` (scaled units) on the `(inputs, labels)`
    batches of `dataset` (labels `(b, horizon, n_target)`, NaN: missing):
    one pass of `model.predict` over them. `levels`: the head's quantiles, or
    with `point` those to give a point forecaster; "adaptive" also sets the
    tracker's `rates`."""
    predictions, labels = forecasts_and_actuals(model, dataset)
    residuals = labels[..., None] - (predictions[..., None] if point else predictions)
    shifts = conformal_shifts(residuals, levels)
    rates = None
    if method == "adaptive":
        with np.errstate(invalid="ignore"):
            spread = np.nanpercentile(residuals, 95, axis=0) - np.nanpercentile(residuals, 5, axis=0)
        steps = np.sqrt(np.arange(1, len(shifts) + 1))[:, None, None]  # step h hears of its actuals h windows late
        rates = np.where(np.asarray(levels) == 0.5, 0.0, ADAPTIVE_RATE * spread / steps)
    return Calibration(method, tuple(levels), shifts, len(labels), source, point, rates)


def forecasts_and_actuals(model, dataset):
    """(`model`'s forecasts, the labels) of the `(inputs, labels)` batches of
    `dataset`, both float64 in scaled units."""
    predictions = np.asarray(model.predict(dataset.map(lambda inputs, _: inputs), verbose=0), "float64")
    labels = np.concatenate([np.asarray(batch[1], "float64") for batch in dataset.as_numpy_iterator()])
    return predictions, labels


def track(calibration, predictions, labels, origins, targets):
    """The adaptive calibration replayed over windows (module docstring):
    (the shifts in force at each window's origin `(n, horizon, n_target,
    n_levels)`, the shifts once every actual is in). `predictions` the
    model's scaled forecasts `(n, horizon, n_target[, n_levels])`, `labels`
    the scaled actuals `(n, horizon, n_target)` (NaN: missing, no update),
    `origins` `(n,)` and `targets` `(n, horizon)` the times of each window's
    last input and of its targets, windows in any order. An actual counts
    from the first window whose origin is at or after its time."""
    base = predictions[..., None] if calibration.point else predictions
    order = np.argsort(origins, kind="stable")
    base, labels, origins, targets = base[order], labels[order], origins[order], targets[order]
    # windows in origin order whose step-h actual is known at each origin (a prefix: target times kept monotone)
    known = np.stack([np.searchsorted(np.maximum.accumulate(targets[:, h]), origins, side="right")
                      for h in range(targets.shape[1])], axis=1)
    levels, steps = np.asarray(calibration.levels), np.arange(targets.shape[1])
    misses = np.zeros((len(base) + 1, *base.shape[1:]))  # prefix sums of τ − 1{y ≤ q̂ + s}
    shifts = np.empty(base.shape)
    observed = np.isfinite(labels)[..., None]
    for i in range(len(base)):
        shifts[i] = calibration.shifts + calibration.rates * misses[known[i], steps]
        below = labels[i][..., None] <= base[i] + shifts[i]
        misses[i + 1] = misses[i] + np.where(observed[i], levels - below, 0.0)
    unsorted = np.empty_like(shifts)
    unsorted[order] = shifts
    return unsorted, calibration.shifts + calibration.rates * misses[-1]


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
    """Adds fixed `shifts` `(horizon, n_target, n_levels)` (or each window's) to quantiles
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

    def call(self, x, shifts=None):
        """`shifts`: each window's own `(b, horizon, n_target, n_levels)` in
        place of the fixed ones (an adaptive calibration replayed)."""
        if self.point:
            x = ops.repeat(ops.expand_dims(x, -1), self.values.shape[-1], axis=-1)
        shifts = self.shifts if shifts is None else shifts
        shifted = broadcast_add(x, ops.cast(shifts, x.dtype))  # ops.add may mis-broadcast a size-1 axis
        levels = [shifted[..., k] for k in range(self.values.shape[-1])]
        for k in range(self.median - 1, -1, -1):
            levels[k] = ops.minimum(levels[k], levels[k + 1])
        for k in range(self.median + 1, len(levels)):
            levels[k] = ops.maximum(levels[k], levels[k - 1])
        return ops.stack(levels, axis=-1)

    def get_config(self):
        return {**super().get_config(), "shifts": self.values.tolist(), "median": self.median, "point": self.point}
