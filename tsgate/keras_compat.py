"""What tsgate takes from Keras beyond its public API, and the Keras bugs it
works around: in one place, so that a Keras upgrade is checked here."""

from keras import ops

# Keras' own mixin: `keras.layers.RNN` recognises it (isinstance) and draws the
# dropout masks once per sequence before the loop, which the JAX backend needs.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell  # noqa: F401

# The backend's time loop (tf.while_loop, lax.scan, ...) with masking and
# go_backwards, as `keras.layers.RNN.inner_loop` uses it.
from keras.src.backend import rnn as backend_rnn  # noqa: F401

# The backend's fused GRU and LSTM (cuDNN on TensorFlow with a GPU; NotImplementedError
# where the backend or the device has none), as `keras.layers.GRU`/`LSTM` call them.
from keras.src.backend import gru as backend_gru  # noqa: F401
from keras.src.backend import lstm as backend_lstm  # noqa: F401


def gpu_available():
    """Whether Keras' TensorFlow backend sees a GPU, as its fused GRU and
    LSTM ask (the same private test, so that both agree)."""
    import importlib

    return importlib.import_module("keras.src.backend.tensorflow.rnn")._is_gpu_available()


def sublayers(layer):
    """`layer` and every layer it holds, nested models and wrappers
    (`Bidirectional`) included: Keras' own walk of tracked layers."""
    return list(layer._flatten_layers())


def broadcast_add(x, y):
    """`x + y` with NumPy broadcasting on every backend, computed exactly as
    `x − (−y)`.

    `keras.ops.add` on TensorFlow (Keras 3.15) sends a `y` with one non-unit
    axis to `tf.nn.bias_add` along `x`'s axis 1 or last axis whenever the sizes
    match, even when `y`'s axis is another one: `(2, 2, 1) + (2, 1, 1)` adds
    the batch values along axis 1. Even where that shortcut is right, its
    channels-first `BiasAdd` on rank-3 tensors does not convert to TF Lite.
    `keras.ops.subtract` has no shortcut, and negation is exact.
    """
    return ops.subtract(x, ops.negative(y))
