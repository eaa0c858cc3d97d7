"""tsgate.cells.cudnn: tsgate's GRU and LSTM train through Keras' fused GPU
kernel (cuDNN) where its math is theirs, and nothing traced for inference or
export holds it. This CPU cannot run cuDNN, so Keras' backend is told a GPU
is there and the graphs are traced, never run; the last test runs both paths
where a GPU is."""

import keras
import numpy as np
import pytest

import tsgate
from tests.helpers import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="cuDNN is TensorFlow's")


def keras_rnn_module():
    """Keras' TensorFlow RNN module, whose `_is_gpu_available` its fused
    kernels ask (the package's name `rnn` is its function)."""
    import importlib

    return importlib.import_module("keras.src.backend.tensorflow.rnn")


@pytest.fixture
def pretend_gpu(monkeypatch):
    monkeypatch.setattr(keras_rnn_module(), "_is_gpu_available", lambda: True)


def op_types(call, shape=(2, 5, 3), jit_compile=False):
    """Every op type of the graph of `call` traced on float32 inputs of
    `shape`, its nested functions (loops, gradients) included."""
    import tensorflow as tf

    graph = tf.function(call, jit_compile=jit_compile).get_concrete_function(
        tf.TensorSpec(shape, "float32")).graph.as_graph_def()
    return {node.op for node in graph.node} | {node.op for f in graph.library.function for node in f.node_def}


def cudnn(types):
    return any(op.startswith("CudnnRNN") for op in types)


def gradient_of(layer):
    """A training step's forward and backward pass through `layer`."""
    import tensorflow as tf

    def step(x):
        with tf.GradientTape() as tape:
            outputs = keras.tree.flatten(layer(x, training=True))  # with return_state, the states too
            loss = sum(keras.ops.sum(keras.ops.square(output)) for output in outputs)
        return tape.gradient(loss, layer.trainable_weights)
    return step


@pytest.mark.parametrize("make", [
    lambda: tsgate.GRU(4),
    lambda: tsgate.LSTM(4),
    lambda: tsgate.GRU(4, return_sequences=True, go_backwards=True, dropout=0.2),
    lambda: tsgate.LSTM(4, return_sequences=True, return_state=True),
], ids=["gru", "lstm", "gru_sequences_backwards_dropout", "lstm_sequences_state"])
def test_training_traces_the_fused_kernel_and_inference_the_portable_loop(pretend_gpu, make):
    layer = make()
    assert cudnn(op_types(gradient_of(layer)))
    assert not cudnn(op_types(lambda x: layer(x, training=False)))
    assert not cudnn(op_types(lambda x: layer(x)))  # Keras' default: inference


@pytest.mark.parametrize("make", [
    lambda: tsgate.GRU(4, reset_after=False),
    lambda: tsgate.GRU(4, layer_norm=True),
    lambda: tsgate.GRU(4, zoneout=0.1),
    lambda: tsgate.LSTM(4, recurrent_dropout=0.1),
    lambda: tsgate.LSTM(4, peephole=True),
    lambda: tsgate.GRU(4, use_bias=False),
    lambda: tsgate.GRU(4, activation="relu"),
    lambda: tsgate.GRU(4, use_cudnn=False),
    lambda: tsgate.LSTM(4, unroll=True),
    lambda: tsgate.GRU(4, dtype="mixed_bfloat16"),
    lambda: tsgate.MemoryGRU(4),
], ids=["reset_before", "layer_norm", "zoneout", "recurrent_dropout", "peephole", "no_bias", "relu", "use_cudnn_false",
        "unrolled", "bfloat16", "memory_gru"])
def test_what_the_fused_kernel_does_not_compute_trains_through_the_loop(pretend_gpu, make):
    assert not cudnn(op_types(gradient_of(make())))


def test_a_layer_that_trains_through_cudnn_keeps_its_model_off_xla(pretend_gpu, monkeypatch):
    """Keras compiles a model with jit_compile="auto" with XLA on a GPU
    machine unless a layer says it cannot be: one that takes cuDNN says so,
    as Keras' GRU does, and one that loops does not."""
    import tensorflow as tf

    gpu = [tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda *args: gpu)
    for layer, xla in ((tsgate.GRU(4), False), (tsgate.LSTM(4), False), (tsgate.GRU(4, layer_norm=True), True)):
        model = keras.Sequential([keras.Input((5, 3)), layer, keras.layers.Dense(1)])
        model.compile("adam", "mse")
        assert layer.supports_jit is xla and model.jit_compile is xla


def test_masked_and_xla_compiled_training_steps_loop(pretend_gpu):
    layer = tsgate.GRU(4)
    masked = keras.layers.Masking(0.0)
    assert not cudnn(op_types(lambda x: layer(masked(x), training=True)))
    assert not cudnn(op_types(lambda x: layer(x, training=True), jit_compile=True))


def test_a_forecaster_trained_through_the_fused_kernel_exports_the_portable_loop(pretend_gpu, tmp_path):
    """The forecaster's model takes the fused kernel in its training step;
    its export holds no cuDNN op and serves, without tsgate, what predict
    computes. (It is fitted before the backend is told of a GPU: this CPU
    cannot run the step.)"""
    from tests.helpers import hourly
    from tsgate import Forecaster, serving

    df = hourly(120)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keras_rnn_module(), "_is_gpu_available", lambda: False)
        forecaster = Forecaster("y", lookback=12, horizon=3, units=4, seed=0).fit(df, epochs=1, verbose=0)
    model = forecaster.model_
    inputs, _ = forecaster.serving_inputs(df)
    scaled = {name: keras.ops.convert_to_tensor(value) for name, value in inputs.items() if name in model.input}
    import tensorflow as tf

    signature = {name: tf.TensorSpec((None, *value.shape[1:]), "float32") for name, value in scaled.items()}
    step = tf.function(lambda x: model(x, training=True)).get_concrete_function(signature).graph.as_graph_def()
    assert cudnn({node.op for node in step.node} | {n.op for f in step.library.function for n in f.node_def})
    path = forecaster.export(str(tmp_path / "export"), version=1)
    assert not cudnn(serving.saved_model_op_types(path))
    served = serving.serve_in_fresh_process(path, inputs)
    np.testing.assert_allclose(served["forecast"], forecaster.raw_model_.predict(inputs, verbose=0)["forecast"],
                               rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(BACKEND != "tensorflow" or not __import__("tensorflow").config.list_logical_devices("GPU"),
                    reason="needs a GPU")
@pytest.mark.parametrize("layer_class", [tsgate.GRU, tsgate.LSTM])
def test_on_a_gpu_the_fused_training_pass_equals_the_portable_loop(layer_class):
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(8, 20, 3)).astype("float32")
    fused, loop = layer_class(16, return_sequences=True), layer_class(16, return_sequences=True, use_cudnn=False)
    fused.build(x.shape)
    loop.build(x.shape)
    loop.set_weights(fused.get_weights())
    gradients = [gradient_of(layer)(tf.constant(x)) for layer in (fused, loop)]
    np.testing.assert_allclose(fused(x, training=True), loop(x, training=True), rtol=1e-4, atol=1e-5)
    for a, b in zip(*gradients):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
