"""Helpers shared by the test modules: weights, masks, gradients, comparisons
and small synthetic frames."""

import os
import traceback

import keras
import numpy as np
import pandas as pd
import pytest

import tsgate

BACKEND = keras.backend.backend()
TSGATE = os.path.dirname(os.path.abspath(tsgate.__file__))


def randomize(layer, seed=0, scale=0.5):
    """Gives every weight of a built layer random non-zero values."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(-scale, scale, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def right_padded_mask(lengths, timesteps):
    return np.arange(timesteps)[None, :] < np.asarray(lengths)[:, None]


def gradients(model, x):
    """d(sum(outputs * fixed weights))/d(inputs, trainable weights) as NumPy;
    `x` one array or a list of them (one gradient each), outputs one or a list."""
    inputs = list(x) if isinstance(x, (list, tuple)) else [x]
    rng = np.random.default_rng(7)
    probes = [rng.normal(size=shape).astype("float32") for shape in _output_shapes(model, inputs)]

    def weighted_sum(outputs):
        return sum(keras.ops.sum(out * probe) for out, probe in zip(keras.tree.flatten(outputs), probes))

    if BACKEND == "tensorflow":
        import tensorflow as tf

        inputs = [tf.constant(i) for i in inputs]
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = weighted_sum(model(inputs if len(inputs) > 1 else inputs[0]))
        grads = tape.gradient(loss, inputs + [w.value for w in model.trainable_variables])
        return [np.asarray(g) for g in grads]
    if BACKEND == "jax":
        import jax

        def loss(inputs, trainable):
            non_trainable = [v.value for v in model.non_trainable_variables]
            out, _ = model.stateless_call(trainable, non_trainable, inputs if len(inputs) > 1 else inputs[0])
            return weighted_sum(out)

        gx, gw = jax.grad(loss, argnums=(0, 1))(inputs, [w.value for w in model.trainable_variables])
        return [np.asarray(g) for g in gx] + [np.asarray(g) for g in gw]
    pytest.skip(f"no gradient helper for backend {BACKEND}")


def _output_shapes(model, inputs):
    outputs = model(inputs if len(inputs) > 1 else inputs[0])
    return [tuple(out.shape) for out in keras.tree.flatten(outputs)]


def max_diff(a, b):
    """The largest absolute difference between two (nested) structures of arrays."""
    a, b = keras.tree.flatten(a), keras.tree.flatten(b)
    assert len(a) == len(b)
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b))


def weights_by_name(layer):
    return {w.name: np.asarray(w).astype("float64") for w in layer.weights}


def hourly(n, start="2024-01-01", seed=0, period=24, level=10.0):
    """An hourly frame: `y` a noisy daily sine around `level`, `x` noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq="h", name="time")
    t = np.arange(n)
    return pd.DataFrame(
        {"y": level + 3 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.1, n), "x": rng.normal(size=n)},
        index=index,
    )


def two_series():
    """Sites "a" (400 rows, level 10) and "b" (300 rows, level 20) with a static `elevation`."""
    a = hourly(400, seed=1).assign(site="a", elevation=1.0)
    b = hourly(300, start="2024-01-05", seed=2, level=20.0).assign(site="b", elevation=2.0)
    return pd.concat([a, b])


def clear_error(call, names, every=False):
    """Calls `call()` and returns the error it raises, which must be clear:
    a ValueError or TypeError raised by tsgate's own code (the innermost
    frame of its traceback lies in the tsgate package, so that no pandas,
    NumPy or TensorFlow error passes through raw) whose message names any of
    `names` (all of them with `every`). Any other exception, or none, fails."""
    try:
        call()
    except (ValueError, TypeError) as error:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        where = f"{frame.filename}:{frame.lineno}"
        assert os.path.abspath(frame.filename).startswith(TSGATE + os.sep), f"raised outside tsgate at {where}: {error!r}"
        found = [name in str(error) for name in names]
        assert all(found) if every else any(found), f"{str(error)!r} does not name {'all' if every else 'any'} of {names}"
        return error
    raise AssertionError(f"no error, expected one naming {names}")


def json_leaves(value, path=()):
    """Every (path, value) of a JSON document, containers included (the
    document itself at path ())."""
    found = [(path, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found += json_leaves(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += json_leaves(item, path + (i,))
    return found
