"""Target transforms: an increasing map of the target columns applied before
the scaler and inverted after it (log1p, or Box-Cox with a lambda fitted on
the training rows), its arithmetic written once (`box_cox`,
`box_cox_inverse`, Keras ops), and the `Transform` layer that puts it in a model.
"""

import keras
import numpy as np
from keras import ops
from sklearn.preprocessing import PowerTransformer

from tsgate import choices
from tsgate.validation import check_choice

TRANSFORMS = (None, *choices.TRANSFORMS)  # None: no transform
BOX_COX_FLOOR = -1 + 2**-23  # the float32 just above -1: log1p stays finite


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
        check_choice("target_transform", method, choices.TRANSFORMS)
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


def transformed(values, transform, n_target):
    """Panel `values` `(rows, n_scaled)` with the `n_target` target columns
    (the first ones) transformed by a fitted `TargetTransform` (None: unchanged)."""
    if transform is None:
        return values
    out = np.array(values, "float64")
    out[:, :n_target] = transform.transform(out[:, :n_target])
    return out.astype(values.dtype)
