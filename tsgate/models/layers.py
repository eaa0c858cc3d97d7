"""Layers the forecast models share: the last observed value, and adding it back."""

import keras

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
