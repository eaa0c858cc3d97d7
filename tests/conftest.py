import os

import keras
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BACKEND = keras.backend.backend()


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


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
