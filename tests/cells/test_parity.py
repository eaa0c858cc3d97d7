"""Numbers: tsgate cells against the Keras built-ins and NumPy references."""

import keras
import numpy as np
import pytest

import tsgate
from tests.cells import reference
from tests.helpers import BACKEND, gradients, max_diff, randomize, right_padded_mask, weights_by_name
from tsgate.cells.fused import compiled

B, T, D, U = 4, 9, 5, 6
TOL = 1e-5

PAIRS = {
    "gru_reset_after": (keras.layers.GRU, tsgate.GRU, {"reset_after": True}),
    "gru_reset_before": (keras.layers.GRU, tsgate.GRU, {"reset_after": False}),
    "lstm": (keras.layers.LSTM, tsgate.LSTM, {}),
}


def inputs(seed=0, shape=(B, T, D)):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def twin_models(name, wrap=None, mask=False, initial_state=False, tsgate_kwargs=None, **layer_kwargs):
    """The same architecture with the Keras layer and with the tsgate layer,
    sharing random weights (non-zero biases included)."""
    keras_class, tsgate_class, cell_kwargs = PAIRS[name]
    models = []
    for layer_class, own_kwargs in ((keras_class, {}), (tsgate_class, tsgate_kwargs or {})):
        layer = layer_class(U, **cell_kwargs, **layer_kwargs, **own_kwargs)
        if wrap is not None:
            layer = wrap(layer)
        seq = keras.Input((T, D))
        if mask:
            mask_in = keras.Input((T,), dtype="bool")
            outputs = layer(seq, mask=mask_in)
            models.append(keras.Model([seq, mask_in], outputs))
        elif initial_state:
            states = [keras.Input((U,)) for _ in range(2 if name == "lstm" else 1)]
            models.append(keras.Model([seq, *states], layer(seq, initial_state=states)))
        else:
            models.append(keras.Model(seq, layer(seq)))
    randomize(models[0])
    models[1].set_weights(models[0].get_weights())
    return models


VARIANTS = {
    "last_output": {},
    "sequences_and_state": {"return_sequences": True, "return_state": True},
    "go_backwards": {"go_backwards": True, "return_state": True},
    "unroll": {"unroll": True, "return_sequences": True},
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", PAIRS)
def test_parity_with_keras(name, variant, record_property):
    keras_model, tsgate_model = twin_models(name, **VARIANTS[variant])
    x = inputs()
    diff = max_diff(keras_model(x), tsgate_model(x))
    record_property("max_abs_diff", diff)
    assert diff <= TOL


@pytest.mark.skipif(BACKEND != "tensorflow", reason="JAX compiles every call: test_parity_with_keras")
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", PAIRS)
def test_parity_with_keras_under_xla(name, variant, record_property):
    import tensorflow as tf

    keras_model, tsgate_model = twin_models(name, **VARIANTS[variant])
    x = inputs()
    diff = max_diff(keras_model(x), tf.function(tsgate_model, jit_compile=True)(x))
    record_property("max_abs_diff", diff)
    assert diff <= TOL


@pytest.mark.parametrize("name", PAIRS)
def test_parity_with_right_padded_mask(name, record_property):
    keras_model, tsgate_model = twin_models(name, mask=True, return_sequences=True, return_state=True)
    x = inputs()
    mask = right_padded_mask([T, 6, 3, 1], T)
    diff = max_diff(keras_model([x, mask]), tsgate_model([x, mask]))
    record_property("max_abs_diff", diff)
    assert diff <= TOL
    # The final states are those after each sequence's last valid step.
    layer = tsgate_model.layers[-1]
    masked_states = tsgate_model([x, mask])[1:]
    for row, length in [(1, 6), (2, 3)]:
        truncated_states = layer(x[row : row + 1, :length])[1:]
        assert max_diff([s[row : row + 1] for s in masked_states], truncated_states) <= TOL


@pytest.mark.parametrize("name", PAIRS)
def test_parity_bidirectional(name, record_property):
    keras_model, tsgate_model = twin_models(
        name, wrap=lambda layer: keras.layers.Bidirectional(layer, merge_mode="concat"), return_sequences=True
    )
    x = inputs()
    diff = max_diff(keras_model(x), tsgate_model(x))
    record_property("max_abs_diff", diff)
    assert diff <= TOL


GRADIENT_VARIANTS = {
    "sequences": {"return_sequences": True},
    "last_output_and_states": {"return_state": True},
    "go_backwards": {"go_backwards": True, "return_sequences": True},
    "initial_state": {"initial_state": True, "return_sequences": True, "return_state": True},
    "no_bias": {"use_bias": False},
}


def xla_gradients(model, x):
    """`gradients` with the model's call compiled by XLA: on TensorFlow inside
    `tf.function(jit_compile=True)`; JAX compiles every call already."""
    if BACKEND != "tensorflow":
        return gradients(model, x)
    import tensorflow as tf

    inputs = [tf.constant(i) for i in (x if isinstance(x, list) else [x])]

    @tf.function(jit_compile=True)
    def run(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = keras.tree.flatten(model(inputs if len(inputs) > 1 else inputs[0]))
            rng = np.random.default_rng(7)  # the probes of `gradients`, drawn when traced
            probes = [rng.normal(size=out.shape).astype("float32") for out in outputs]
            loss = sum(tf.reduce_sum(out * probe) for out, probe in zip(outputs, probes))
        return tape.gradient(loss, inputs + [w.value for w in model.trainable_variables])

    return [np.asarray(g) for g in run(inputs)]


def test_compiled_is_true_only_under_xla():
    if BACKEND == "jax":
        assert compiled()
        return
    assert not compiled()
    if BACKEND == "tensorflow":
        import tensorflow as tf

        flags = [tf.function(lambda: compiled(), jit_compile=jit)() for jit in (False, True)]
        assert flags == [False, True]


@pytest.mark.parametrize("loop", ["fused", "symbolic", "xla"])
@pytest.mark.parametrize("variant", GRADIENT_VARIANTS)
@pytest.mark.parametrize("name", PAIRS)
def test_gradient_parity(name, variant, loop, record_property):
    """Gradients wrt the inputs (initial states included) and every weight,
    through the fused kernel (unroll=True on TensorFlow's executor), through
    the symbolic loop over `cell.step` (the default), and under XLA (a
    symbolic loop whose steps project their own inputs)."""
    if loop == "fused" and BACKEND != "tensorflow":
        pytest.skip("the fused kernels serve TensorFlow's executor only")
    unroll = {"fused": True, "symbolic": None, "xla": None}[loop]
    kwargs = dict(GRADIENT_VARIANTS[variant])
    keras_model, tsgate_model = twin_models(name, tsgate_kwargs={"unroll": unroll}, **kwargs)
    layer = tsgate_model.layers[-1]
    fused_calls = []
    fused_loop = layer.fused_loop
    layer.fused_loop = lambda *args: fused_calls.append(1) or fused_loop(*args)
    x = inputs()
    if kwargs.get("initial_state"):
        rng = np.random.default_rng(5)
        x = [x] + [rng.normal(size=(B, U)).astype("float32") for _ in tsgate_model.inputs[1:]]
    grad = xla_gradients if loop == "xla" else gradients
    keras_grads, tsgate_grads = grad(keras_model, x), grad(tsgate_model, x)
    assert bool(fused_calls) == (loop == "fused" and PAIRS[name][2].get("reset_after", True))
    weights = 2 if kwargs.get("use_bias") is False else 3  # kernel, recurrent kernel[, bias]
    assert len(keras_grads) == len(tsgate_grads) == len(tsgate_model.inputs) + weights
    diff = max_diff(keras_grads, tsgate_grads)
    record_property("max_abs_diff", diff)
    assert diff <= 1e-4
    assert all(np.abs(g).max() > 0 for g in tsgate_grads)


@pytest.mark.parametrize("name", ["gru_reset_after", "lstm"])
def test_fused_kernel_matches_symbolic_loop_in_training(name):
    """One training step from the same weights takes the fused and the
    symbolic path to the same weights, dropout on the inputs included."""
    _, tsgate_class, cell_kwargs = PAIRS[name]
    models = []
    for unroll in (True, None):
        seq = keras.Input((T, D))
        layer = tsgate_class(U, unroll=unroll, dropout=0.25, seed=3, return_sequences=True, **cell_kwargs)
        model = keras.Model(seq, keras.layers.Dense(2)(layer(seq)))
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        models.append(model)
    randomize(models[0])
    models[1].set_weights(models[0].get_weights())
    x, y = inputs(), np.random.default_rng(9).normal(size=(B, T, 2)).astype("float32")
    losses = [float(m.train_on_batch(x, y)) for m in models]
    assert abs(losses[0] - losses[1]) <= 1e-5
    assert max_diff(models[0].get_weights(), models[1].get_weights()) <= 1e-5


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_numpy_reference(reset_after):
    layer = tsgate.GRU(U, reset_after=reset_after, return_sequences=True)
    x = inputs(1)
    layer(x)
    randomize(layer, seed=3)
    expected = reference.gru(x.astype("float64"), *[w.astype("float64") for w in layer.get_weights()], reset_after)
    assert max_diff(layer(x), expected) <= TOL


def test_memory_gru_matches_numpy_reference(record_property):
    layer = tsgate.MemoryGRU(U, return_sequences=True, return_state=True)
    x = inputs(2)
    layer(x)
    randomize(layer, seed=4)
    h_seq, c_last = reference.memory_gru(x.astype("float64"), *layer.get_weights())
    out, h, c = layer(x)
    diff = max_diff([out, h, c], [h_seq, h_seq[:, -1], c_last])
    record_property("max_abs_diff", diff)
    assert diff <= TOL
    # h = tanh(c): the output is the squashed memory, not the memory itself.
    assert np.allclose(np.tanh(np.asarray(c)), np.asarray(h), atol=1e-6)
    assert not np.allclose(np.asarray(c), np.asarray(h), atol=1e-3)


@pytest.mark.parametrize("peephole,layer_norm", [(True, False), (False, True), (True, True)])
def test_lstm_variants_match_numpy_reference(peephole, layer_norm, record_property):
    layer = tsgate.LSTM(U, peephole=peephole, layer_norm=layer_norm, return_sequences=True, return_state=True)
    x = inputs(3) * 3.0
    layer(x)
    randomize(layer, seed=5)
    w = weights_by_name(layer)
    peep = w["peephole_kernel"] if peephole else None
    norm = (
        (w["input_norm_gamma"], w["recurrent_norm_gamma"], w["cell_norm_gamma"], w["cell_norm_beta"])
        if layer_norm
        else None
    )
    h_seq, c_last = reference.lstm(
        x.astype("float64"), w["kernel"], w["recurrent_kernel"], w["bias"], peep, norm
    )
    out, h, c = layer(x)
    diff = max_diff([out, h, c], [h_seq, h_seq[:, -1], c_last])
    record_property("max_abs_diff", diff)
    assert diff <= TOL


def test_layer_norm_carries_unnormalised_cell_state():
    layer = tsgate.LSTM(U, layer_norm=True, return_state=True)
    x = inputs(4) * 5.0
    layer(x)
    randomize(layer, seed=6, scale=1.0)
    _, _, c = layer(x)
    c = np.asarray(c)
    # A normalised state would have zero mean and unit variance per row.
    assert np.abs(c.mean(-1)).max() > 1e-2 or np.abs(c.std(-1) - 1).max() > 1e-2


def test_peephole_weights_change_the_output():
    layer = tsgate.LSTM(U, peephole=True)
    x = inputs(5)
    layer(x)
    randomize(layer, seed=8)
    before = np.asarray(layer(x))
    weights = layer.get_weights()
    weights[-1] = np.zeros_like(weights[-1])  # the peephole kernel
    layer.set_weights(weights)
    assert np.abs(before - np.asarray(layer(x))).max() > 1e-4


def test_unit_forget_bias_initialises_forget_block_to_one():
    layer = tsgate.LSTM(U)
    layer(inputs())
    bias = layer.get_weights()[2]
    np.testing.assert_array_equal(bias[U : 2 * U], 1.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[U : 2 * U]), 0.0)
    keras_layer = keras.layers.LSTM(U)
    keras_layer(inputs())
    np.testing.assert_array_equal(bias, keras_layer.get_weights()[2])


@pytest.mark.parametrize("cell_class", [tsgate.GRUCell, tsgate.LSTMCell, tsgate.MemoryGRUCell])
def test_cell_works_in_plain_keras_rnn_and_stacked(cell_class):
    x = inputs()
    rnn = keras.layers.RNN([cell_class(U), cell_class(3)], return_sequences=True)
    assert rnn(x).shape == (B, T, 3)


@pytest.mark.parametrize("name", ["gru_reset_after", "lstm"])
def test_fused_kernel_runs_in_mixed_precision(name):
    _, tsgate_class, cell_kwargs = PAIRS[name]
    models = []
    for unroll in (True, None):
        seq = keras.Input((T, D))
        layer = tsgate_class(U, unroll=unroll, dtype="mixed_float16", **cell_kwargs)
        model = keras.Model(seq, keras.layers.Dense(2, dtype="float32")(layer(seq)))
        model.compile(optimizer="sgd", loss="mse")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    x, y = inputs(), np.random.default_rng(9).normal(size=(B, 2)).astype("float32")
    assert keras.backend.standardize_dtype(models[0].layers[1](x).dtype) == "float16"
    assert max_diff(models[0](x), models[1](x)) <= 1e-3
    before = models[0].get_weights()
    for model in models:
        model.train_on_batch(x, y)
    after = [m.get_weights() for m in models]
    assert all(np.isfinite(w).all() for w in after[0])
    assert max_diff(after[0], after[1]) <= 1e-3
    assert max_diff(after[0], before) > 1e-3  # the step did move the weights


FUSABLE = {
    "gru": (lambda: tsgate.GRU(U), True, True),
    "gru_recurrent_dropout": (lambda: tsgate.GRU(U, recurrent_dropout=0.2), False, True),
    "gru_reset_before": (lambda: tsgate.GRU(U, reset_after=False), False, False),
    "gru_relu": (lambda: tsgate.GRU(U, activation="relu"), False, False),
    "gru_hard_sigmoid": (lambda: tsgate.GRU(U, recurrent_activation="hard_sigmoid"), False, False),
    "gru_layer_norm": (lambda: tsgate.GRU(U, layer_norm=True), False, False),
    "gru_zoneout": (lambda: tsgate.GRU(U, zoneout=0.1), False, False),
    "memory_gru": (lambda: tsgate.MemoryGRU(U, reset_after=True), False, False),
    "lstm_no_bias": (lambda: tsgate.LSTM(U, use_bias=False), True, True),
    "lstm_peephole": (lambda: tsgate.LSTM(U, peephole=True), False, False),
}


@pytest.mark.parametrize("name", FUSABLE)
def test_fused_kernel_only_where_it_computes_the_cell(name):
    """(training, inference): the fused kernel runs only configurations whose
    step it reproduces; the others loop over the cell's step."""
    make, in_training, at_inference = FUSABLE[name]
    layer = make()
    layer(inputs())
    served = BACKEND == "tensorflow"
    assert (layer.fusable(training=True), layer.fusable(training=False)) == (
        in_training and served,
        at_inference and served,
    )
