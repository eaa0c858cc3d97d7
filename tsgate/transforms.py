"""Target transforms: an increasing map of the target columns applied before
the scaler and inverted after it (log1p, Box-Cox with a lambda fitted on the
training rows, or returns from the forecast origin), its arithmetic written
once (`box_cox`, `box_cox_inverse`, Keras ops; `returns_from`,
`values_from`, any array module), and the `Transform` layer that puts it in
a model.
"""

import keras
import numpy as np
from keras import ops
from sklearn.preprocessing import PowerTransformer

from tsgate import choices
from tsgate.validation import check_choice

TRANSFORMS = (None, *choices.TRANSFORMS)  # None: no transform
BOX_COX_FLOOR = -1 + 2**-23  # the float32 just above -1: log1p stays finite


def returns_from(method, values, origin, math):
    """`values` as `method`'s returns from `origin` (broadcast against them):

        "log_return"  log(x / x_T)      "pct_change"  x / x_T − 1      "diff"  x − x_T

    `math` is the array module that computes the logarithm (NumPy,
    `tf.math` in tf.data, `keras.ops` in a layer): one formula for the
    scaler's rows, the training windows and the raw-unit model."""
    if method == "log_return":
        return math.log(values / origin)
    return values / origin - 1.0 if method == "pct_change" else values - origin


def values_from(method, returns, origin, math):
    """The inverse of `returns_from`: `x_T exp(y)`, `x_T (1 + y)`, `x_T + y`,
    each increasing in `y` for `x_T > 0`."""
    if method == "log_return":
        return origin * math.exp(returns)
    return origin * (1.0 + returns) if method == "pct_change" else origin + returns


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
    (so quantiles keep their order through its inverse). Row by row:

        "log1p"    y = log(1 + x)                        x > −1
        "boxcox"   y = (x^λ − 1) / λ  (log x if λ = 0)    x > 0, one λ per target

    or, with `relative`, the returns of each window from its forecast origin
    `x_T` (its last input row; `returns_from`):

        "log_return"  y_t = log(x_t / x_T)   x > 0      x_t = x_T exp(y_t)
        "pct_change"  y_t = x_t / x_T − 1    x > 0      x_t = x_T (1 + y_t)
        "diff"        y_t = x_t − x_T        any x      x_t = x_T + y_t

    A returns model reads its lookback as returns to the origin (0 there)
    and forecasts the return from the origin to each step: each step's
    price, and each of its quantiles, is an increasing map of one output (a
    direct h-step return, never a sum of per-step quantiles), and the
    one-step returns are the differences of consecutive outputs. The scaler
    is fitted on the one-step returns of the training rows (`transform` with
    `follows`), the scale of one step.

    Box-Cox's λ is fitted on the observed training values by scikit-learn's
    `PowerTransformer(method="box-cox", standardize=False)`. Fitted state:
    `lambdas_` `(n_target,)` (None for the others). NaN stays NaN."""

    def __init__(self, method):
        check_choice("target_transform", method, choices.TRANSFORMS)
        self.method = method
        self.lambdas_ = None

    @property
    def relative(self):
        """Whether the transform reads each window from its origin (returns)."""
        return self.method in choices.RETURNS

    def fit(self, values):
        """values `(rows, n_target)` raw training targets (NaN ignored)."""
        if self.method == "boxcox":
            values = np.asarray(values, "float64")
            self.lambdas_ = PowerTransformer(method="box-cox", standardize=False).fit(values).lambdas_
        return self

    def outside(self, values):
        """`(rows, n_target)` bool: values the transform cannot take."""
        if self.method == "diff":
            return np.zeros(np.shape(values), bool)
        with np.errstate(invalid="ignore"):
            return np.asarray(values) <= (-1.0 if self.method == "log1p" else 0.0)

    def domain(self):
        return {"log1p": "values > -1", "diff": "finite values"}.get(self.method, "positive values")

    def transform(self, values, follows=None):
        """values `(rows, n_target)`; for a returns transform, the one-step
        returns `returns_from(x_t, x_{t−1})`, NaN where `follows` `(rows,)`
        is False (the row before is not the previous step of its series)."""
        values = np.asarray(values, "float64")
        if self.relative:
            previous = np.roll(values, 1, axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                steps = returns_from(self.method, values, previous, np)
            return np.where(np.asarray(follows, bool)[:, None], steps, np.nan)
        if self.method == "log1p":
            return np.log1p(values)
        return np.asarray(box_cox(values, self.lambdas_))

    def inverse_transform(self, values):
        """The inverse of a row-by-row `transform` (a returns transform has
        none without its origins: `values_from`)."""
        if self.relative:
            raise TypeError(f"target_transform={self.method!r} is inverted from each window's origin (values_from).")
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
    n_target, ...)` along `axis`: "log1p" (`log1p` / `expm1`), "boxcox"
    with `lambdas` `(n_target,)` (`box_cox` / `box_cox_inverse`), or a
    returns method from the origin, the last row of `past_target` `(b,
    lookback, n_target)` (`returns_from` of `x` itself, a lookback, or
    `values_from` of `x`, forecasts `(b, horizon, n_target[, q])`, and
    `past_target`). Computes in float32 like `Affine`."""

    def __init__(self, method, lambdas=None, axis=-1, inverse=False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.method, self.lambdas, self.axis, self.inverse = method, lambdas, axis, inverse

    def call(self, x, past_target=None):
        if self.method in choices.RETURNS:
            if not self.inverse:
                return returns_from(self.method, x, x[:, -1:, :], ops)
            origin = ops.reshape(past_target[:, -1, :], (-1, 1, past_target.shape[-1], *(1,) * (-1 - self.axis)))
            return values_from(self.method, x, origin, ops)
        if self.method == "log1p":
            return ops.expm1(x) if self.inverse else ops.log1p(x)
        shape = (len(self.lambdas), *(1,) * (-1 - self.axis))
        lmbda = ops.reshape(ops.convert_to_tensor(self.lambdas, dtype=x.dtype), shape)
        return box_cox_inverse(x, lmbda) if self.inverse else box_cox(x, lmbda)

    def get_config(self):
        return {**super().get_config(), "method": self.method, "lambdas": self.lambdas, "axis": self.axis,
                "inverse": self.inverse}


def transformed(values, transform, n_target, follows=None):
    """Panel `values` `(rows, n_scaled)` with the `n_target` target columns
    (the first ones) transformed by a fitted `TargetTransform` (None:
    unchanged), row by row: a returns transform gives the one-step returns
    (`follows`: `Panel.follows`)."""
    if transform is None:
        return values
    out = np.array(values, "float64")
    out[:, :n_target] = transform.transform(out[:, :n_target], follows)
    return out.astype(values.dtype)
