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
    """d(sum(output * fixed weights))/d(inputs, trainable weights) as NumPy."""
    probe = np.random.default_rng(7).normal(size=model.compute_output_shape(x.shape)).astype("float32")
    if BACKEND == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(model(x) * probe)
        grads = tape.gradient(loss, [x] + [w.value for w in model.trainable_variables])
        return [np.asarray(g) for g in grads]
    if BACKEND == "jax":
        import jax

        def loss(x, trainable):
            out, _ = model.stateless_call(trainable, [v.value for v in model.non_trainable_variables], x)
            return (out * probe).sum()

        gx, gw = jax.grad(loss, argnums=(0, 1))(x, [w.value for w in model.trainable_variables])
        return [np.asarray(gx)] + [np.asarray(g) for g in gw]
    pytest.skip(f"no gradient helper for backend {BACKEND}")
