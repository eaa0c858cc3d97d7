"""Feature scaling with scikit-learn transformers, fitted on training rows only.

Each fitted transformer is kept as the affine map it computes,
`scaled = raw * scale + offset` per column (and per series when asked), which
is what StandardScaler, MinMaxScaler and RobustScaler do. That form persists as
JSON (never pickle) and can be written with Keras ops for export.
"""

import numpy as np
from sklearn.base import clone
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


class AffineScaler:
    """Per-column (and optionally per-series) affine scaling.

    Args:
        method: "standard" (default), "minmax", "robust", or an unfitted
            scikit-learn transformer with `inverse_transform` that is affine
            per column (checked on the training rows).
        per_series: fit one transformer per series instead of one for all.

    Fitted state: `scale_`, `offset_` of shape `(n_groups, n_columns)`.
    """

    def __init__(self, method="standard", per_series=False):
        self.method = method
        self.per_series = per_series

    def _transformer(self):
        if isinstance(self.method, str):
            if self.method not in SCALERS:
                raise ValueError(
                    f"Received an invalid value for argument `scaler`, expected one of {sorted(SCALERS)} "
                    f"or a scikit-learn transformer, got {self.method!r}."
                )
            return SCALERS[self.method]()
        if not (hasattr(self.method, "fit") and hasattr(self.method, "inverse_transform")):
            raise ValueError(
                f"The scaler {self.method!r} needs fit, transform and inverse_transform (a scikit-learn transformer)."
            )
        return clone(self.method)

    def fit(self, values, groups=None, names=None):
        """values `(rows, n_columns)` of training rows (NaN rows ignored);
        groups `(rows,)` series positions when per_series."""
        values = np.asarray(values, "float64")
        keys = np.zeros(len(values), int) if not self.per_series else np.asarray(groups)
        n_groups = int(keys.max()) + 1 if len(keys) else 1
        self.scale_ = np.ones((n_groups, values.shape[1]))
        self.offset_ = np.zeros((n_groups, values.shape[1]))
        for g in range(n_groups):
            rows = values[(keys == g) & np.isfinite(values).all(axis=1)]
            if len(rows) < 2:
                raise ValueError(f"Cannot fit the scaler on {len(rows)} training row(s) of series #{g}.")
            transformer = self._transformer().fit(rows)
            zero = transformer.transform(np.zeros((1, values.shape[1])))[0]
            one = transformer.transform(np.ones((1, values.shape[1])))[0]
            self.scale_[g], self.offset_[g] = one - zero, zero
            if not np.allclose(transformer.transform(rows), rows * self.scale_[g] + zero, rtol=1e-5, atol=1e-6):
                raise ValueError(f"The scaler {transformer!r} is not affine per column; tsgate needs one that is.")
            if np.any(self.scale_[g] == 0):
                raise ValueError(f"A column of series #{g} has zero scale.")
        self.feature_names_in_ = list(names) if names is not None else None
        return self

    def _check_fitted(self):
        if not hasattr(self, "scale_"):
            raise ValueError("This AffineScaler is not fitted yet; call fit first.")

    def _coefficients(self, groups, rows):
        self._check_fitted()
        keys = np.zeros(rows, int) if not self.per_series else np.asarray(groups)
        return self.scale_[keys], self.offset_[keys]

    def transform(self, values, groups=None):
        scale, offset = self._coefficients(groups, len(values))
        return (np.asarray(values, "float64") * scale + offset).astype("float32")

    def inverse_transform(self, values, groups=None, columns=slice(None)):
        """values `(rows, ..., n)` with groups `(rows,)`; `columns` selects the
        fitted columns the last axis holds (default: all)."""
        values = np.asarray(values, "float64")
        scale, offset = self._coefficients(groups, len(values))
        scale, offset = scale[:, columns], offset[:, columns]
        shape = (len(values),) + (1,) * (values.ndim - 2) + (values.shape[-1],)
        return (values - offset.reshape(shape)) / scale.reshape(shape)

    def to_json(self):
        self._check_fitted()
        return {
            "method": self.method if isinstance(self.method, str) else repr(self.method),
            "per_series": self.per_series,
            "scale": self.scale_.tolist(),
            "offset": self.offset_.tolist(),
            "feature_names": self.feature_names_in_,
        }

    @classmethod
    def from_json(cls, state):
        scaler = cls(state["method"], state["per_series"])
        scaler.scale_ = np.asarray(state["scale"])
        scaler.offset_ = np.asarray(state["offset"])
        scaler.feature_names_in_ = state["feature_names"]
        return scaler

    def keras_transform(self, tensor, group=0):
        """`tensor * scale + offset` as Keras ops, for one series' coefficients."""
        from keras import ops

        self._check_fitted()
        return tensor * ops.convert_to_tensor(self.scale_[group], "float32") + ops.convert_to_tensor(
            self.offset_[group], "float32"
        )

    def keras_inverse(self, tensor, group=0):
        from keras import ops

        self._check_fitted()
        return (tensor - ops.convert_to_tensor(self.offset_[group], "float32")) / ops.convert_to_tensor(
            self.scale_[group], "float32"
        )
