"""Feature scaling: scikit-learn transformers fitted on training rows, kept as
the affine map they compute, and that map as a Keras layer.

StandardScaler, MinMaxScaler and RobustScaler all compute, per column,

    scaled = raw * scale + offset        raw = (scaled − offset) / scale

`AffineScaler` fits one (or one per series) and keeps `scale_`, `offset_`:
JSON, never pickle. The arithmetic is written once, in `affine` and
`affine_inverse` (Keras ops, so NumPy arrays and tensors alike go through it);
the `Affine` layer puts it in a model, and `raw_unit_model` wraps a model
trained on scaled data into one that takes and returns raw units, which is
what `Forecaster.predict` runs and what the SavedModel and TF Lite exports serve.

A target transform (`TargetTransform`: log1p, or Box-Cox with a lambda fitted
on the training rows; the `Transform` layer) goes outside the scaler, and a
non-negative output clips last:

    raw → transform → scale → model → inverse scale → inverse transform [→ max(·, 0)]
"""

import json

import keras
import numpy as np
from keras import ops
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import MinMaxScaler, PowerTransformer, RobustScaler, StandardScaler

from tsgate.keras_compat import broadcast_add
from tsgate.validation import check_bool, check_choice, invalid

SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
REDUCIBLE = ("standard", "minmax")  # fitted from counts, means, squared deviations, minima and maxima
TRANSFORMS = (None, "log1p", "boxcox")
BOX_COX_FLOOR = -1 + 2**-23  # the float32 just above -1: log1p stays finite


def affine(values, scale, offset):
    """`values * scale + offset`, coefficients broadcast over leading axes."""
    return broadcast_add(ops.multiply(values, scale), offset)


def affine_inverse(values, scale, offset):
    """`(values − offset) / scale`, the inverse of `affine`."""
    return ops.divide(ops.subtract(values, offset), scale)


class AffineScaler(TransformerMixin, BaseEstimator):
    """Per-column (and optionally per-series) affine scaling.

    Args:
        method: "standard" (default), "minmax", "robust", or an unfitted
            scikit-learn transformer with `inverse_transform` that is affine
            per column (checked on the training rows).
        per_series: fit one transformer per series instead of one for all.

    Fitted state: `scale_`, `offset_` `(n_groups, n_features)`, `groups_` the
    series ids in that order (`[None]` without per_series), `feature_names_in_`;
    `static_scale_`, `static_offset_` `(n_static,)` for the static covariates
    (one global map: each series has a single value), None without them;
    `range_` `(2, n_features)` the smallest and largest training value of
    each column (over all series).
    """

    def __init__(self, method="standard", per_series=False):
        self.method = method
        self.per_series = per_series

    def _transformer(self):
        if isinstance(self.method, str):
            if self.method not in SCALERS:
                raise invalid("scaler", f"one of {sorted(SCALERS)} or a scikit-learn transformer", self.method)
            return SCALERS[self.method]()
        if isinstance(self.method, type) or not all(
            callable(getattr(self.method, name, None)) for name in ("fit", "transform", "inverse_transform")
        ):
            raise invalid("scaler", "a transformer instance with fit, transform and inverse_transform", self.method)
        return clone(self.method, safe=False)

    def fit(self, X, groups=None, feature_names=None, static=None, passthrough=None, reduce=None):
        """X `(rows, n_features)` of training rows (rows with NaN ignored);
        groups `(rows,)` the series id of each row, with per_series; static
        `(n_series, n_static)` the static covariates of the training series,
        standardized whatever `method` (a constant column is only centred);
        passthrough `(n_features,)` bool: columns left as they are (scale 1,
        offset 0), such as one-hot indicators, which may be constant there.
        reduce: None, or a function from this process's `statistics` to those
        of the rows of all processes (`merge_statistics` of an all-gather,
        `tsgate.distributed`); the scaler is then fitted on those, which only
        the "standard" and "minmax" methods allow."""
        check_bool("per_series", self.per_series)
        values = np.asarray(X, "float64")
        names = [f"column {j}" for j in range(values.shape[1])] if feature_names is None else list(feature_names)
        keys = np.asarray(groups, dtype=object) if self.per_series else np.full(len(values), None, dtype=object)
        ids = list(dict.fromkeys(keys.tolist())) or [None]
        fitted = np.ones(values.shape[1], bool) if passthrough is None else ~np.asarray(passthrough, bool)
        stats = None
        if reduce is not None:
            if self.method not in REDUCIBLE:
                raise ValueError(f"The scaler {self.method!r} cannot be fitted across workers: only the statistics of "
                                 f"{list(REDUCIBLE)} (counts, means, squared deviations, minima, maxima) reduce "
                                 "exactly, quantiles and medians do not; choose one of those.")
            stats = reduce(statistics(values, keys, fitted, static))
            ids = stats["groups"]
        scale, offset = np.ones((len(ids), values.shape[1])), np.zeros((len(ids), values.shape[1]))
        for g, sid in enumerate(ids):
            rows = values[(keys == sid) & np.isfinite(values).all(axis=1)][:, fitted]
            label = "" if sid is None else f" of series {sid!r}"
            count = len(rows) if stats is None else stats["count"][g]
            if count < 2:
                raise ValueError(f"Cannot fit the scaler on {count} training row(s){label} without NaN.")
            try:
                transformer = self._transformer().fit(rows) if stats is None else _from_statistics(self.method, stats, g)
                zero = transformer.transform(np.zeros((1, rows.shape[1])))[0]
                scale[g, fitted] = transformer.transform(np.ones((1, rows.shape[1])))[0] - zero
                affine_map = stats is not None or np.allclose(transformer.transform(rows), rows * scale[g, fitted] + zero, rtol=1e-5, atol=1e-6)
            except Exception as error:  # the user's transformer: any failure is named as its own
                raise ValueError(f"The scaler {self.method!r} failed on the training rows{label}: {error}") from error
            offset[g, fitted] = zero
            if not affine_map:
                raise ValueError(f"The scaler {transformer!r} is not affine per column; tsgate needs one that is.")
            bad = ~(np.isfinite(scale[g]) & (scale[g] != 0) & np.isfinite(offset[g]))
            if bad.any():
                raise ValueError(f"Column {names[int(np.flatnonzero(bad)[0])]!r}{label} has zero or non-finite "
                                 "scale on the training rows (is it constant there?).")
            if (scale[g] < 0).any():
                column = names[int(np.flatnonzero(scale[g] < 0)[0])]
                raise ValueError(f"The scaler {self.method!r} reverses column {column!r}{label} (a negative scale); "
                                 "tsgate needs an increasing map, under which quantiles keep their order.")
        self.scale_, self.offset_, self.groups_ = scale, offset, ids
        self.static_scale_ = self.static_offset_ = None
        if stats is not None:
            if stats["static"] is not None:
                self.static_scale_, self.static_offset_ = _standardize_moments(*stats["static"])
            self.range_ = np.asarray(stats["range"], "float64")
        else:
            if static is not None:
                self.static_scale_, self.static_offset_ = _standardize(np.asarray(static, "float64"))
            finite = np.where(np.isfinite(values), values, np.nan)
            self.range_ = np.stack([np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)])
        self.feature_names_in_ = None if feature_names is None else np.asarray(feature_names, dtype=object)
        self.n_features_in_ = values.shape[1]
        return self

    def far_outside(self, X):
        """`(rows, n_features)` bool: the values of X farther below the
        smallest or above the largest training value of their column than
        the width of that training range (NaN never is; none without a
        `range_`)."""
        self._check_fitted()
        if self.range_ is None:
            return np.zeros(np.shape(X), bool)
        low, high = self.range_
        width = high - low
        with np.errstate(invalid="ignore"):
            return (np.asarray(X, "float64") < low - width) | (np.asarray(X, "float64") > high + width)

    def group_positions(self, groups):
        """The fitted row of each series id in `groups` (all zeros without
        per_series); an id not seen at fit time is an error naming it."""
        self._check_fitted()
        if not self.per_series:
            return np.zeros(len(groups), int)
        position = {sid: g for g, sid in enumerate(self.groups_)}
        ids = np.asarray(groups, dtype=object).tolist()
        unknown = [sid for sid in dict.fromkeys(ids) if sid not in position]
        if unknown:
            raise ValueError(f"Series {unknown[:3]} have no fitted scaler (fitted: {self.groups_[:5]}...).")
        return np.asarray([position[sid] for sid in ids], int)

    def _check_fitted(self):
        if not hasattr(self, "scale_"):
            raise NotFittedError("This AffineScaler is not fitted yet; call fit first.")

    def transform(self, X, groups=None):
        g = self.group_positions(groups if groups is not None else np.full(len(X), None))
        return np.asarray(affine(np.asarray(X, "float64"), self.scale_[g], self.offset_[g])).astype("float32")

    def transform_static(self, static):
        """Static covariates `(n_series, n_static)` scaled as at fit (unchanged
        if the scaler was fitted without them)."""
        self._check_fitted()
        if static is None or self.static_scale_ is None:
            return static
        return np.asarray(affine(np.asarray(static, "float64"), self.static_scale_, self.static_offset_)).astype("float32")

    def inverse_transform(self, X, groups=None, columns=slice(None)):
        """X `(rows, ..., n)` with groups `(rows,)`; `columns` selects the
        fitted columns the last axis holds (default: all)."""
        values = np.asarray(X, "float64")
        g = self.group_positions(groups if groups is not None else np.full(len(values), None))
        shape = (len(values),) + (1,) * (values.ndim - 2) + (-1,)
        scale, offset = self.scale_[g][:, columns].reshape(shape), self.offset_[g][:, columns].reshape(shape)
        return np.asarray(affine_inverse(values, scale, offset))

    def to_json(self):
        self._check_fitted()
        names = None if self.feature_names_in_ is None else list(self.feature_names_in_)
        static = self.static_scale_ is not None
        return {"per_series": self.per_series, "groups": [_plain(g) for g in self.groups_],
                "scale": self.scale_.tolist(), "offset": self.offset_.tolist(), "feature_names": names,
                "static_scale": self.static_scale_.tolist() if static else None,
                "static_offset": self.static_offset_.tolist() if static else None, "range": None if self.range_ is None else self.range_.tolist()}

    @classmethod
    def from_json(cls, state, method="standard"):
        """A fitted scaler from `to_json`; `method` only records what was fitted."""
        scaler = cls(method, state["per_series"])
        scaler.scale_, scaler.offset_ = np.asarray(state["scale"], "float64"), np.asarray(state["offset"], "float64")
        scaler.groups_ = list(state["groups"])
        static = state.get("static_scale")  # absent from files written before static covariates were scaled
        scaler.static_scale_ = None if static is None else np.asarray(static, "float64")
        scaler.static_offset_ = None if static is None else np.asarray(state["static_offset"], "float64")
        bounds = state.get("range")  # absent from files written before the range was kept
        scaler.range_ = None if bounds is None else np.asarray(bounds, "float64")
        names = state["feature_names"]
        scaler.feature_names_in_ = None if names is None else np.asarray(names, dtype=object)
        scaler.n_features_in_ = scaler.scale_.shape[1]
        return scaler


def _standardize(values):
    """Scale and offset `(n,)` mapping the columns of `values` `(rows, n)` to
    mean 0, standard deviation 1; a constant column is only centred."""
    if values.ndim != 2 or len(values) == 0:
        raise ValueError(f"Cannot scale static covariates from an array of shape {values.shape}; expected (series, n).")
    return _standardize_moments(*_moments(values))


def _standardize_moments(count, mean, m2):
    """`_standardize` from the count, the means `(n,)` and the sums of
    squared deviations from them `(n,)` (the statistics merged across
    workers, `merge_statistics`)."""
    mean, std = np.asarray(mean, "float64"), np.sqrt(np.asarray(m2, "float64") / count)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return 1.0 / std, -mean / std


def _moments(rows):
    """[count, means `(n,)`, sums of squared deviations `(n,)`] of `rows` `(r, n)`."""
    mean = rows.mean(axis=0) if len(rows) else np.zeros(rows.shape[1])
    return [len(rows), mean.tolist(), ((rows - mean) ** 2).sum(axis=0).tolist()]


def _merge_moments(a, b):
    """The moments of two sets of rows together (Chan et al.'s pairwise update)."""
    (na, ma, sa), (nb, mb, sb) = a, (b[0], np.asarray(b[1]), np.asarray(b[2]))
    if na == 0 or nb == 0:
        return [na + nb, (mb if na == 0 else np.asarray(ma)).tolist(), (sb if na == 0 else np.asarray(sa)).tolist()]
    n, delta = na + nb, mb - np.asarray(ma)
    return [n, (np.asarray(ma) + delta * nb / n).tolist(), (np.asarray(sa) + sb + delta**2 * na * nb / n).tolist()]


def statistics(values, keys, fitted, static=None):
    """What `AffineScaler.fit` needs of one process's rows, as plain JSON:
    per group (series id, or None) the moments and the minima and maxima of
    the `fitted` columns over the rows without NaN, the smallest and largest
    finite value of every column, and the moments of the `static` rows."""
    complete = np.isfinite(values).all(axis=1)
    groups = {}
    for sid in dict.fromkeys(keys.tolist()):
        rows = values[(keys == sid) & complete][:, fitted]
        low, high = (rows.min(axis=0), rows.max(axis=0)) if len(rows) else (np.full(rows.shape[1], np.inf),) * 2
        groups[_json_key(sid)] = {"id": _plain(sid), "moments": _moments(rows), "min": low.tolist(),
                                 "max": (high if len(rows) else -high).tolist()}
    finite = np.isfinite(values)
    return {"groups": groups, "n_features": values.shape[1],
            "low": np.where(finite, values, np.inf).min(axis=0, initial=np.inf).tolist(),
            "high": np.where(finite, values, -np.inf).max(axis=0, initial=-np.inf).tolist(),
            "static": None if static is None else _moments(np.asarray(static, "float64"))}


def _json_key(sid):
    """A series id as a JSON object key that keeps ints and strings apart."""
    return json.dumps(_plain(sid))


def merge_statistics(parts):
    """The `statistics` of all the rows from those of each process (in
    process order): groups in order of first appearance, moments merged,
    minima and maxima reduced. Returns {"groups": ids, "count": `(g,)`,
    "mean", "m2", "min", "max": `(g, n_fitted)`, "static": moments or None,
    "range": `(2, n_features)` (NaN for a column without a finite value)}."""
    groups = {}
    for part in parts:
        for key, group in part["groups"].items():
            if key not in groups:
                groups[key] = dict(group)
                continue
            mine = groups[key]
            mine["moments"] = _merge_moments(mine["moments"], group["moments"])
            mine["min"] = np.minimum(mine["min"], group["min"]).tolist()
            mine["max"] = np.maximum(mine["max"], group["max"]).tolist()
    static = [part["static"] for part in parts if part["static"] is not None]
    moments = static[0] if static else None
    for other in static[1:]:
        moments = _merge_moments(moments, other)
    low = np.min([part["low"] for part in parts], axis=0)
    high = np.max([part["high"] for part in parts], axis=0)
    bounds = np.stack([low, high])
    listed = list(groups.values())
    return {"groups": [g["id"] for g in listed], "count": [g["moments"][0] for g in listed],
            "mean": [g["moments"][1] for g in listed], "m2": [g["moments"][2] for g in listed],
            "min": [g["min"] for g in listed], "max": [g["max"] for g in listed], "static": moments,
            "range": np.where(np.isfinite(bounds), bounds, np.nan)}


def _from_statistics(method, stats, g):
    """The scikit-learn scaler `method` ("standard" or "minmax") fitted as on
    the rows whose merged statistics `stats` has, group `g`; its constant
    columns handled as scikit-learn does (scale 1)."""
    n, eps = stats["count"][g], np.finfo(np.float64).eps
    if method == "standard":
        scaler, mean = StandardScaler(), np.asarray(stats["mean"][g])
        scaler.mean_, scaler.var_ = mean, np.asarray(stats["m2"][g]) / n
        constant = scaler.var_ <= n * eps * scaler.var_ + (n * mean * eps) ** 2
        scaler.scale_ = np.where(constant, 1.0, np.sqrt(scaler.var_))
    else:
        scaler, low = MinMaxScaler(), np.asarray(stats["min"][g])
        scaler.data_min_, scaler.data_max_ = low, np.asarray(stats["max"][g])
        scaler.data_range_ = scaler.data_max_ - low
        scaler.scale_ = 1.0 / np.where(scaler.data_range_ < 10 * eps, 1.0, scaler.data_range_)
        scaler.min_ = -low * scaler.scale_
    scaler.n_features_in_, scaler.n_samples_seen_ = len(scaler.scale_), n
    return scaler


def _plain(value):
    """A NumPy scalar as the Python value JSON writes."""
    return value.item() if hasattr(value, "item") else value


@keras.saving.register_keras_serializable(package="tsgate")
class Affine(keras.layers.Layer):
    """`affine` (or, with inverse, `affine_inverse`) with fixed coefficients
    along `axis`: `scale`, `offset` `(n,)`, or `(n_groups, n)` with one row per
    series. Call: `x` `(b, ..., n, ...)` with `n` at `axis`; `group` `(b,)`
    int32 rows of the coefficients (required with more than one group).

    It computes in float32 whatever the global dtype policy: under
    `mixed_bfloat16` a raw value such as 1000.37 would round to 1000 before
    its offset is removed, and a forecast in raw units to 3 digits."""

    def __init__(self, scale, offset, axis=-1, inverse=False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.coefficients = np.atleast_2d(np.asarray(scale, "float64")), np.atleast_2d(np.asarray(offset, "float64"))
        self.axis, self.inverse = axis, inverse
        self.scale = self.add_weight(shape=self.coefficients[0].shape, trainable=False, name="scale",
                                     initializer=keras.initializers.Constant(self.coefficients[0]))
        self.offset = self.add_weight(shape=self.coefficients[1].shape, trainable=False, name="offset",
                                      initializer=keras.initializers.Constant(self.coefficients[1]))

    def call(self, x, group=None):
        if group is None and self.coefficients[0].shape[0] > 1:
            raise ValueError("Affine with one row of coefficients per series needs `group`.")
        scale = self.scale[0] if group is None else ops.take(self.scale, group, axis=0)
        offset = self.offset[0] if group is None else ops.take(self.offset, group, axis=0)
        trailing = (1,) * (-1 - self.axis)
        leading = () if group is None else (ops.shape(x)[0],) + (1,) * (len(x.shape) - 2 - len(trailing))
        shape = (*leading, self.coefficients[0].shape[1], *trailing)
        scale, offset = ops.cast(ops.reshape(scale, shape), x.dtype), ops.cast(ops.reshape(offset, shape), x.dtype)
        return affine_inverse(x, scale, offset) if self.inverse else affine(x, scale, offset)

    def get_config(self):
        return {**super().get_config(), "scale": self.coefficients[0].tolist(), "offset": self.coefficients[1].tolist(),
                "axis": self.axis, "inverse": self.inverse}


def box_cox(values, lmbda):
    """`(x^λ − 1) / λ`, computed as `expm1(λ log x) / λ` (accurate in float32
    for λ near 0), and `log x` where λ = 0; λ broadcast over leading axes."""
    zero = ops.equal(lmbda, 0.0)
    safe = ops.where(zero, 1.0, lmbda)
    log = ops.log(values)
    return ops.where(zero, log, ops.divide(ops.expm1(ops.multiply(safe, log)), safe))


def box_cox_inverse(values, lmbda):
    """`(λ y + 1)^(1/λ)`, computed as `exp(log1p(λ y) / λ)`, and `exp y`
    where λ = 0: the inverse of `box_cox` on its image. Outside it (`λ y ≤ −1`,
    no preimage) `λ y` is clipped to just above −1: about 0 for λ > 0, a huge
    value (or inf) for λ < 0."""
    zero = ops.equal(lmbda, 0.0)
    safe = ops.where(zero, 1.0, lmbda)
    inside = ops.maximum(ops.multiply(safe, values), BOX_COX_FLOOR)
    return ops.where(zero, ops.exp(values), ops.exp(ops.divide(ops.log1p(inside), safe)))


class TargetTransform:
    """An increasing map of the target columns applied before the scaler
    (so quantiles keep their order through its inverse):

        "log1p"    y = log(1 + x)                        x > −1
        "boxcox"   y = (x^λ − 1) / λ  (log x if λ = 0)    x > 0, one λ per target

    Box-Cox's λ is fitted on the observed training values by scikit-learn's
    `PowerTransformer(method="box-cox", standardize=False)`. Fitted state:
    `lambdas_` `(n_target,)` (None for log1p). NaN stays NaN."""

    def __init__(self, method):
        check_choice("target_transform", method, TRANSFORMS[1:])
        self.method = method
        self.lambdas_ = None

    def fit(self, values):
        """values `(rows, n_target)` raw training targets (NaN ignored)."""
        if self.method == "boxcox":
            values = np.asarray(values, "float64")
            self.lambdas_ = PowerTransformer(method="box-cox", standardize=False).fit(values).lambdas_
        return self

    def outside(self, values):
        """`(rows, n_target)` bool: values the transform cannot take."""
        with np.errstate(invalid="ignore"):
            return np.asarray(values) <= (-1.0 if self.method == "log1p" else 0.0)

    def domain(self):
        return "values > -1" if self.method == "log1p" else "positive values"

    def transform(self, values):
        values = np.asarray(values, "float64")
        if self.method == "log1p":
            return np.log1p(values)
        return np.asarray(box_cox(values, self.lambdas_))

    def inverse_transform(self, values):
        values = np.asarray(values, "float64")
        if self.method == "log1p":
            return np.expm1(values)
        return np.asarray(box_cox_inverse(values, self.lambdas_))

    def layer(self, inverse=False, axis=-1, name=None):
        """This transform (or its inverse) as a `Transform` layer along `axis`."""
        lambdas = None if self.lambdas_ is None else [float(v) for v in self.lambdas_]
        return Transform(self.method, lambdas, axis=axis, inverse=inverse, name=name)

    def to_json(self):
        return {"method": self.method, "lambdas": None if self.lambdas_ is None else [float(v) for v in self.lambdas_]}

    @classmethod
    def from_json(cls, state):
        transform = cls(state["method"])
        transform.lambdas_ = None if state["lambdas"] is None else np.asarray(state["lambdas"], "float64")
        return transform


@keras.saving.register_keras_serializable(package="tsgate")
class Transform(keras.layers.Layer):
    """A `TargetTransform` (or, with inverse, its inverse) of `x` `(b, ...,
    n_target, ...)` along `axis`: "log1p" (`log1p` / `expm1`) or "boxcox"
    with `lambdas` `(n_target,)` (`box_cox` / `box_cox_inverse`). Computes
    in float32 like `Affine`."""

    def __init__(self, method, lambdas=None, axis=-1, inverse=False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.method, self.lambdas, self.axis, self.inverse = method, lambdas, axis, inverse

    def call(self, x):
        if self.method == "log1p":
            return ops.expm1(x) if self.inverse else ops.log1p(x)
        shape = (len(self.lambdas), *(1,) * (-1 - self.axis))
        lmbda = ops.reshape(ops.convert_to_tensor(self.lambdas, dtype=x.dtype), shape)
        return box_cox_inverse(x, lmbda) if self.inverse else box_cox(x, lmbda)

    def get_config(self):
        return {**super().get_config(), "method": self.method, "lambdas": self.lambdas, "axis": self.axis,
                "inverse": self.inverse}


def raw_unit_model(model, layout, scaler, quantiles=None, transform=None, non_negative=False):
    """`model` (trained on scaled inputs and targets) between the scaler and
    its inverse: raw-unit inputs by name (and "series_index" `(b,)` int32, the
    fitted row of each window's series, with per-series scaling) to
    {"forecast" `(b, horizon, n_target)` [, "quantiles" `(b, horizon, n_target, q)`]}
    in raw units. `transform`: a fitted `TargetTransform` applied to
    "past_target" before the scaler and inverted after it; `non_negative`:
    the forecast clipped at 0, `max(ŷ, 0)` (increasing, so quantiles stay
    ordered)."""
    inputs = {t.name: keras.Input(t.shape[1:], name=t.name) for t in model.inputs}
    group = keras.Input((), dtype="int32", name="series_index") if scaler.per_series else None
    scaling = layout.input_scaling(scaler.scale_, scaler.offset_, scaler.static_scale_, scaler.static_offset_)
    model_inputs = dict(inputs)
    if transform is not None:
        model_inputs["past_target"] = transform.layer(name="transform_past_target")(inputs["past_target"])
    scaled = {name: Affine(*scaling[name], name=f"scale_{name}")(x, group) if name in scaling else x
              for name, x in model_inputs.items()}
    n_target = len(layout.targets)
    axis = -2 if quantiles else -1
    raw = Affine(scaler.scale_[:, :n_target], scaler.offset_[:, :n_target], axis=axis,
                 inverse=True, name="unscale_forecast")(model(scaled), group)
    if transform is not None:
        raw = transform.layer(inverse=True, axis=axis, name="untransform_forecast")(raw)
    if non_negative:
        raw = keras.layers.ReLU(dtype="float32", name="non_negative")(raw)
    outputs = {"forecast": raw} if not quantiles else {"forecast": raw[..., list(quantiles).index(0.5)], "quantiles": raw}
    return keras.Model({**inputs, **({"series_index": group} if group is not None else {})}, outputs, name="raw_units")
