"""Feature scaling: scikit-learn transformers fitted on training rows, kept as
the affine map they compute, and that map as a Keras layer.

StandardScaler, MinMaxScaler and RobustScaler all compute, per column,

    scaled = raw * scale + offset        raw = (scaled − offset) / scale

`AffineScaler` fits one (or one per series) and keeps `scale_`, `offset_`:
JSON, never pickle. The arithmetic is written once, in `affine` and
`affine_inverse` (Keras ops, so NumPy arrays and tensors alike go through it);
the `Affine` layer puts it in a model (`tsgate.raw_model.raw_unit_model`).
Fitted across workers, the scaler is fitted from merged statistics
(`tsgate.scaler_statistics`).
"""

import keras
import numpy as np
from keras import ops
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from tsgate._moved import lender
from tsgate.data import plain
from tsgate.keras_compat import broadcast_add
from tsgate.scaler_statistics import REDUCIBLE, moments, scaler_from_statistics, statistics
from tsgate.validation import check_bool, invalid

SCALED_LIMIT = 1e15  # the largest scaled magnitude taken: a batch's squared errors still sum finitely in float32
SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


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

    def transformer(self):
        """A fresh, unfitted scikit-learn transformer of `method` (a name in
        SCALERS, or a clone of the one given); an error naming `scaler` if
        it is neither."""
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
                transformer = self.transformer().fit(rows) if stats is None else scaler_from_statistics(self.method, stats, g)
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
        return {"per_series": self.per_series, "groups": [plain(g) for g in self.groups_],
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
    return _standardize_moments(*moments(values))


def _standardize_moments(count, mean, m2):
    """`_standardize` from the count, the means `(n,)` and the sums of
    squared deviations from them `(n,)` (the statistics merged across
    workers, `tsgate.scaler_statistics.merge_statistics`)."""
    mean, std = np.asarray(mean, "float64"), np.sqrt(np.asarray(m2, "float64") / count)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return 1.0 / std, -mean / std


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


__getattr__ = lender(__name__, {
    **dict.fromkeys(("TRANSFORMS", "BOX_COX_FLOOR", "box_cox", "box_cox_inverse", "TargetTransform", "Transform"),
                    "tsgate.transforms"),
    **dict.fromkeys(("statistics", "merge_statistics"), "tsgate.scaler_statistics"),
    "raw_unit_model": "tsgate.raw_model"})
