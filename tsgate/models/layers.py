"""Layers the forecast models share: the last observed value, adding it
back, and the non-crossing quantile head."""

import keras
from keras import ops

from tsgate.keras_compat import broadcast_add


@keras.saving.register_keras_serializable(package="tsgate")
class LastValue(keras.layers.Layer):
    """The last observed step of a `(b, time, n)` sequence, `(b, 1, n)`."""

    def call(self, sequence):
        return sequence[:, -1:, :]


@keras.saving.register_keras_serializable(package="tsgate")
class AddLastValue(keras.layers.Layer):
    """`changes + last`: the last observed value `(b, 1, n)` added back to the
    predicted changes `(b, horizon, n)` or `(b, horizon, n, q)`, per window.
    Through `broadcast_add`, never `keras.layers.Add`, whose TensorFlow path
    adds a `(b, 1, 1)` operand along the wrong axis when `b` equals the
    horizon (the forecast of one series would take another series' level)."""

    def call(self, changes, last):
        if len(changes.shape) == 4:
            last = keras.ops.expand_dims(last, -1)
        return broadcast_add(changes, last)


def softplus(x):
    """`max(x, 0) + log(1 + exp(−|x|))`, ≥ 0 for every float `x` (each term
    is), from ops that TF Lite has as builtins."""
    return ops.add(ops.relu(x), ops.log(ops.add(ops.exp(ops.negative(ops.abs(x))), 1.0)))


def non_crossing(raw, median):
    """Quantiles `(..., Q)` in increasing order of level from unconstrained
    head outputs `raw` `(..., Q)`; `median` is the position of level 0.5:

        q_m = r_m,   q_j = q_{j−1} + softplus(r_j) for j > m,   q_j = q_{j+1} − softplus(r_j) for j < m

    Each quantile is its neighbour towards the median plus or minus a
    non-negative step, one rounded operation at a time, so q_0 ≤ … ≤ q_{Q−1}
    holds in floating point for any weights and inputs (rounding is
    monotone); any later map that increases (a shift, a positive scale) keeps it."""
    steps = softplus(raw)
    quantiles = [raw[..., median : median + 1]]
    for j in range(median + 1, raw.shape[-1]):
        quantiles.append(ops.add(quantiles[-1], steps[..., j : j + 1]))
    for j in range(median - 1, -1, -1):
        quantiles.insert(0, ops.subtract(quantiles[0], steps[..., j : j + 1]))
    return ops.concatenate(quantiles, axis=-1) if len(quantiles) > 1 else quantiles[0]


@keras.saving.register_keras_serializable(package="tsgate")
class NonCrossingQuantiles(keras.layers.Layer):
    """`non_crossing(raw, median)`: head outputs `(..., Q)` to quantiles
    `(..., Q)` that never cross. median: the index of level 0.5 among the
    sorted levels."""

    def __init__(self, median, **kwargs):
        super().__init__(**kwargs)
        self.median = median

    def call(self, raw):
        return non_crossing(raw, self.median)

    def get_config(self):
        return {**super().get_config(), "median": self.median}
