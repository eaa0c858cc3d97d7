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
where the model overfits them.

Series of a global model get shifts of their own where their held-out windows
are enough: for level τ, once the standard error of a coverage estimated on
n windows, √(τ(1 − τ)/n), is at most `SERIES_ERROR` (211 windows at τ = 0.05,
400 at 0.1); below that a series keeps the pooled shift of that level (a shift
from a few dozen windows would move its coverage by more than the ±3 points
the band is held to). The pooled shifts also serve series not calibrated on.
The raw-unit model then takes each window's "series_index".
"""

import dataclasses
import warnings
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from tsgate.choices import CALIBRATIONS
from tsgate.data import plain
from tsgate.keras_compat import broadcast_add
from tsgate.layout import check_levels
from tsgate.validation import check_choice

METHODS = CALIBRATIONS  # `calibration`: "conformal" or "adaptive" (or None)
POINT_LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)  # the quantiles a point forecaster gets: its 80 % and 90 % bands
ADAPTIVE_RATE = 0.1  # "adaptive": the tracker's step at horizon step 1, a share of the residuals' 5-95 % range
SERIES_ERROR = 0.015  # a series' own shift once its coverage's standard error is at most this (docstring)
ROUNDING = 1e-9  # (n+1)τ computed in floating point: 10 × 0.9 is 9.000000000000002, whose ceiling is not 9


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration: the quantile `levels` it serves (sorted, with
    0.5), `shifts` `(horizon, n_target, n_levels)` in scaled units added to
    the model's quantiles (to its forecast, with `point`), the number of held-out
    `windows` and where they came from (`source`, words for the user).
    Per series (a model of many series): `series` the ids, in the order of the
    raw-unit model's "series_index", and `series_shifts` `(n_series,
    horizon, n_target, n_levels)`, each series' own shift where it had
    enough windows, else the pooled one; index `n_series` is the pooled
    row, for a series not calibrated on."""

    method: str
    levels: tuple
    shifts: np.ndarray
    windows: int
    source: str
    point: bool
    rates: np.ndarray = None  # "adaptive": the tracker's steps η, like `shifts`
    series: tuple = ()
    series_shifts: np.ndarray = None
    series_rates: np.ndarray = None  # "adaptive" per series: like `series_shifts`

    @property
    def per_series(self):
        return self.series_shifts is not None

    @property
    def table(self):
        """The shifts the layer holds: `shifts`, or per series `(n_series +
        1, horizon, n_target, n_levels)`, the pooled row last."""
        return self.shifts if not self.per_series else np.concatenate([self.series_shifts, self.shifts[None]])

    def layer(self, name="calibrate"):
        """The `Calibrate` layer that applies it."""
        return Calibrate(self.table, self.levels.index(0.5), self.point, self.per_series, name=name)

    def to_json(self):
        def listed(array):
            return None if array is None else array.tolist()

        return {"method": self.method, "levels": list(self.levels), "shifts": self.shifts.tolist(),
                "windows": self.windows, "source": self.source, "point": self.point, "rates": listed(self.rates),
                "series": [plain(sid) for sid in self.series], "series_shifts": listed(self.series_shifts),
                "series_rates": listed(self.series_rates)}

    @classmethod
    def from_json(cls, state):
        def array(key):  # keys absent from files written before they were kept read as None
            return None if state.get(key) is None else np.asarray(state[key], "float64")

        return cls(state["method"], tuple(state["levels"]), array("shifts"), int(state["windows"]), state["source"],
                   bool(state["point"]), array("rates"), tuple(state.get("series") or ()), array("series_shifts"),
                   array("series_rates"))


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


def fit(model, dataset, method, levels, point, source, series=(), rows=None):
    """The `Calibration` of `model` (scaled units) on the `(inputs, labels)`
    batches of `dataset` (labels `(b, horizon, n_target)`, NaN: missing):
    one pass of `model.predict` over them. `levels`: the head's quantiles, or
    with `point` those to give a point forecaster; "adaptive" also sets the
    tracker's `rates`. With more than one `series` (ids), `rows` `(n,)` the
    position of each window's series in them (`len(series)`: not one of
    them) and each series gets its own shifts where it has enough windows
    (module docstring)."""
    predictions, labels = forecasts_and_actuals(model, dataset)
    residuals = labels[..., None] - (predictions[..., None] if point else predictions)
    shifts = conformal_shifts(residuals, levels)
    rates = None if method != "adaptive" else tracker_rates(residuals, levels)
    calibrated = Calibration(method, tuple(levels), shifts, len(labels), source, point, rates)
    if len(series) < 2:
        return calibrated
    own_shifts, own_rates = [], []
    enough = np.asarray(levels) * (1 - np.asarray(levels)) / SERIES_ERROR**2  # windows a level needs
    for row in range(len(series)):
        mine = residuals[rows == row]
        shifts_row, count = order_statistics(mine, levels)
        own = np.isfinite(shifts_row) & (count >= enough)
        own_shifts.append(np.where(own, shifts_row, shifts))
        if rates is not None:
            own_rates.append(np.where(own, tracker_rates(mine, levels), rates) if own.any() else rates)
    return dataclasses.replace(calibrated, series=tuple(series), series_shifts=np.stack(own_shifts),
                               series_rates=None if rates is None else np.stack(own_rates))


def tracker_rates(residuals, levels):
    """"adaptive": the tracker's steps `(horizon, n_target, n_levels)` from
    `residuals` `(n, horizon, n_target, n_levels)` (module docstring)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a step without an actual: NaN, never used
        spread = np.nanpercentile(residuals, 95, axis=0) - np.nanpercentile(residuals, 5, axis=0)
    steps = np.sqrt(np.arange(1, residuals.shape[1] + 1))[:, None, None]  # step h hears of its actuals h windows late
    return np.where(np.asarray(levels) == 0.5, 0.0, ADAPTIVE_RATE * spread / steps)


def forecasts_and_actuals(model, dataset):
    """(`model`'s forecasts, the labels) of the `(inputs, labels)` batches of
    `dataset`, both float64 in scaled units."""
    predictions = np.asarray(model.predict(dataset.map(lambda inputs, _: inputs), verbose=0), "float64")
    labels = np.concatenate([np.asarray(batch[1], "float64") for batch in dataset.as_numpy_iterator()])
    return predictions, labels


def track(calibration, predictions, labels, origins, targets, rows=None):
    """The adaptive calibration replayed over windows (module docstring):
    (the shifts in force at each window's origin `(n, horizon, n_target,
    n_levels)`, the calibration once every actual is in). `predictions` the
    model's scaled forecasts `(n, horizon, n_target[, n_levels])`, `labels`
    the scaled actuals `(n, horizon, n_target)` (NaN: missing, no update),
    `origins` `(n,)` and `targets` `(n, horizon)` the times of each window's
    last input and of its targets, windows in any order; per series, `rows`
    `(n,)` each window's row of `series` (`len(series)`: pooled). An actual
    counts from the first window whose origin is at or after its time. The
    pooled tracker hears of every window, a series' tracker of its own."""
    base = predictions[..., None] if calibration.point else predictions
    levels = np.asarray(calibration.levels)
    shifts, pooled = _track(calibration.shifts, calibration.rates, levels, base, labels, origins, targets)
    if not calibration.per_series:
        return shifts, dataclasses.replace(calibration, shifts=pooled)
    series_shifts = calibration.series_shifts.copy()
    for row in np.unique(rows[rows < len(calibration.series)]):
        mine = rows == row
        shifts[mine], series_shifts[row] = _track(series_shifts[row], calibration.series_rates[row], levels,
                                                  base[mine], labels[mine], origins[mine], targets[mine])
    return shifts, dataclasses.replace(calibration, shifts=pooled, series_shifts=series_shifts)


def _track(start, rates, levels, base, labels, origins, targets):
    """`track` of one tracker from the shifts `start` with steps `rates`."""
    order = np.argsort(origins, kind="stable")
    base, labels, origins, targets = base[order], labels[order], origins[order], targets[order]
    # windows in origin order whose step-h actual is known at each origin (a prefix: target times kept monotone)
    known = np.stack([np.searchsorted(np.maximum.accumulate(targets[:, h]), origins, side="right")
                      for h in range(targets.shape[1])], axis=1)
    steps = np.arange(targets.shape[1])
    misses = np.zeros((len(base) + 1, *base.shape[1:]))  # prefix sums of τ − 1{y ≤ q̂ + s}
    shifts = np.empty(base.shape)
    observed = np.isfinite(labels)[..., None]
    for i in range(len(base)):
        shifts[i] = start + rates * misses[known[i], steps]
        below = labels[i][..., None] <= base[i] + shifts[i]
        misses[i + 1] = misses[i] + np.where(observed[i], levels - below, 0.0)
    unsorted = np.empty_like(shifts)
    unsorted[order] = shifts
    return unsorted, start + rates * misses[-1]


def conformal_shifts(residuals, levels):
    """`(horizon, n_target, n_levels)`: the shift of each level (module
    docstring) from `residuals` `(n, horizon, n_target, n_levels)` (NaN:
    missing actual, left out of its step's count), 0 for the median. Too few
    windows for a level is an error naming the level and how many it needs."""
    shifts, count = order_statistics(residuals, levels)
    short = np.isnan(shifts)
    if short.any():
        step, target, level = np.argwhere(short)[0]
        tail = min(levels[level], 1 - levels[level])
        raise ValueError(f"Too few windows to calibrate quantile {levels[level]:g}: {count[step, target, level]} with "
                         f"an actual at horizon step {step + 1}, where it needs at least "
                         f"{int(np.ceil((1 - tail) / tail - ROUNDING))}; calibrate on more rows.")
    return shifts


def order_statistics(residuals, levels):
    """(the shifts of `conformal_shifts`, NaN where a level has too few
    windows; the number of windows with an actual `(horizon, n_target,
    n_levels)`)."""
    levels = np.asarray(levels, "float64")
    count = np.isfinite(residuals).sum(axis=0)  # (horizon, n_target, n_levels)
    upper = levels > 0.5
    rank = np.where(upper, np.ceil((count + 1) * levels - ROUNDING), np.floor((count + 1) * levels + ROUNDING))
    short = (levels != 0.5) & ((rank < 1) | (rank > count))
    ordered = np.sort(residuals, axis=0)  # NaN last
    index = np.clip(rank.astype(int) - 1, 0, max(len(residuals) - 1, 0))[None]
    shifts = np.take_along_axis(ordered, index, axis=0)[0] if len(residuals) else np.zeros(count.shape)
    return np.where(short, np.nan, np.where(levels == 0.5, 0.0, shifts)), count


@keras.saving.register_keras_serializable(package="tsgate")
class Calibrate(keras.layers.Layer):
    """Adds fixed `shifts` `(horizon, n_target, n_levels)` (`per_series`:
    `(n_rows, horizon, n_target, n_levels)`, the row of each window's
    series taken) or each window's to quantiles
    `(b, horizon, n_target, n_levels)` (with `point`, to a forecast
    `(b, horizon, n_target)` repeated for each level), then keeps them
    ordered outward from the level at `median`:

        q_k ← min(q_k, q_k+1) below the median,   q_k ← max(q_k, q_k−1) above it

    Computed in float32 (the shifts are small against the values)."""

    def __init__(self, shifts, median, point=False, per_series=False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.values = np.asarray(shifts, "float32")
        self.median, self.point, self.per_series = int(median), bool(point), bool(per_series)
        self.shifts = self.add_weight(shape=self.values.shape, trainable=False, name="shifts",
                                      initializer=keras.initializers.Constant(self.values))

    def call(self, x, shifts=None, rows=None):
        """`shifts`: each window's own `(b, horizon, n_target, n_levels)` in
        place of the fixed ones (an adaptive calibration replayed); `rows`
        `(b,)` int: each window's row of a `per_series` table."""
        if self.point:
            x = ops.repeat(ops.expand_dims(x, -1), self.values.shape[-1], axis=-1)
        if shifts is None:
            shifts = ops.take(self.shifts, rows, axis=0) if self.per_series else self.shifts
        shifted = broadcast_add(x, ops.cast(shifts, x.dtype))  # ops.add may mis-broadcast a size-1 axis
        levels = [shifted[..., k] for k in range(self.values.shape[-1])]
        for k in range(self.median - 1, -1, -1):
            levels[k] = ops.minimum(levels[k], levels[k + 1])
        for k in range(self.median + 1, len(levels)):
            levels[k] = ops.maximum(levels[k], levels[k - 1])
        return ops.stack(levels, axis=-1)

    def get_config(self):
        return {**super().get_config(), "shifts": self.values.tolist(), "median": self.median, "point": self.point,
                "per_series": self.per_series}
