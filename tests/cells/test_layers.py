"""Behaviour of the sequence layers inside Keras: saving, stateful, initial
state, dropout, models of every kind, weight interchange, the Keras-only
arguments (the checks run on every layer are in test_conformance.py)."""

import inspect

import keras
import numpy as np
import pytest

import tsgate
from tests.helpers import randomize

B, T, D, U = 4, 8, 3, 5
LAYERS = {
    "gru": lambda **kw: tsgate.GRU(U, **kw),
    "gru_reset_before": lambda **kw: tsgate.GRU(U, reset_after=False, **kw),
    "lstm": lambda **kw: tsgate.LSTM(U, **kw),
    "lstm_peephole_norm": lambda **kw: tsgate.LSTM(U, peephole=True, layer_norm=True, **kw),
    "memory_gru": lambda **kw: tsgate.MemoryGRU(U, **kw),
    "gru_norm_zoneout": lambda **kw: tsgate.GRU(U, layer_norm=True, zoneout=0.1, **kw),
    "sru": lambda **kw: tsgate.SRU(U, **kw),
    "sru_original_norm": lambda **kw: tsgate.SRU(U, cell_connections=False, layer_norm=True, **kw),
}


def inputs(seed=0, batch=B, timesteps=T):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, D)).astype("float32")


def test_keras_file_round_trip_reproduces_outputs(tmp_path):
    seq = keras.Input((T, D))
    h = tsgate.GRU(U, return_sequences=True)(seq)
    h = keras.layers.Bidirectional(tsgate.LSTM(U, peephole=True, layer_norm=True, return_sequences=True))(h)
    h = tsgate.MemoryGRU(U, go_backwards=True)(h)
    rnn_of_cells = keras.layers.RNN([tsgate.GRUCell(U, reset_after=False), tsgate.LSTMCell(U)])(seq)
    out = keras.layers.Dense(2)(keras.layers.Concatenate()([h, rnn_of_cells]))
    model = keras.Model(seq, out)
    randomize(model)
    x = inputs()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded(x), model(x))
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]


def test_stateful_layer_continues_from_the_last_state():
    layer = tsgate.LSTM(U, stateful=True, return_sequences=True)
    x = inputs(batch=2)
    layer(x[:, :1])
    randomize(layer)
    layer.reset_state()
    whole = np.asarray(layer(x))
    layer.reset_state()
    first, second = np.asarray(layer(x[:, :5])), np.asarray(layer(x[:, 5:]))
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, atol=1e-6)
    layer.reset_state()
    np.testing.assert_allclose(layer(x[:, :5]), first, atol=1e-6)


def test_stateful_layer_rejects_another_batch_size():
    layer = tsgate.GRU(U, stateful=True)
    layer(inputs(batch=2))
    with pytest.raises(ValueError, match="batch size"):
        layer(inputs(batch=3))


@pytest.mark.parametrize("keras_class,tsgate_class", [(keras.layers.GRU, tsgate.GRU), (keras.layers.LSTM, tsgate.LSTM)])
def test_initial_state_matches_keras(keras_class, tsgate_class):
    x = inputs()
    reference, ours = keras_class(U, return_sequences=True), tsgate_class(U, return_sequences=True)
    reference(x)
    randomize(reference)
    ours(x)
    ours.set_weights(reference.get_weights())
    states = [np.random.default_rng(i).normal(size=(B, U)).astype("float32") for i in range(len(ours.state_size))]
    np.testing.assert_allclose(ours(x, initial_state=states), reference(x, initial_state=states), atol=1e-5)
    assert np.abs(np.asarray(ours(x, initial_state=states)) - np.asarray(ours(x))).max() > 1e-3


def test_input_dropout_draws_one_mask_per_sequence():
    """With z = 0.5, no recurrence and W_h = I, an input unit dropped at the
    first step stays exactly 0 in h only if it is dropped at every step."""
    layer = tsgate.GRU(D, dropout=0.5, reset_after=False, use_bias=False, return_sequences=True, seed=3)
    x = np.ones((64, T, D), "float32")
    layer(x)
    kernel = np.zeros((D, 3 * D), "float32")
    kernel[:, 2 * D :] = np.eye(D)
    layer.set_weights([kernel, np.zeros((D, 3 * D), "float32")])
    h = np.asarray(layer(x, training=True))
    zero = h == 0.0
    assert zero.any() and (~zero).any()
    np.testing.assert_array_equal(zero, zero[:, :1, :].repeat(T, axis=1))
    assert not np.array_equal(zero[:, 0], (np.asarray(layer(x, training=True)) == 0.0)[:, 0])
    assert not (np.asarray(layer(x)) == 0.0).any()


@pytest.mark.parametrize("name", LAYERS)
def test_sequential_model_trains(name):
    x = inputs(batch=32)
    y = x[:, -1, :1] * 2.0
    model = keras.Sequential([keras.Input((T, D)), LAYERS[name](), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=25, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_subclassed_model_with_masking_trains():
    class Forecaster(keras.Model):
        def __init__(self):
            super().__init__()
            self.masking = keras.layers.Masking(0.0)
            self.encoder = tsgate.LSTM(U, return_sequences=True)
            self.decoder = tsgate.GRU(U)
            self.head = keras.layers.Dense(1)

        def call(self, x):
            return self.head(self.decoder(self.encoder(self.masking(x))))

    x = inputs(batch=16)
    x[:, 6:] = 0.0
    model = Forecaster()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x[:, 5, :1], epochs=2, verbose=0)
    # Padding after the mask does not change the output.
    padded = np.concatenate([x, np.zeros((16, 3, D), "float32")], axis=1)
    np.testing.assert_allclose(model(padded), model(x), atol=1e-5)


@pytest.mark.parametrize("keras_class", [keras.layers.GRU, keras.layers.LSTM])
def test_weights_move_between_keras_and_tsgate(keras_class):
    x = inputs()
    original = keras_class(U, return_sequences=True, go_backwards=True)
    original(x)
    randomize(original)
    converted = tsgate.from_keras(original)
    assert type(converted).__name__ == keras_class.__name__ and converted.go_backwards
    np.testing.assert_allclose(converted(x), original(x), atol=1e-5)
    back = tsgate.to_keras(converted)
    assert type(back) is keras_class
    np.testing.assert_allclose(back(x), original(x), atol=1e-5)
    # tsgate's automatic unrolling (None) becomes Keras' default, a symbolic loop.
    assert tsgate.to_keras(type(converted)(U)).unroll is False


def test_interchange_refuses_what_keras_cannot_hold():
    with pytest.raises(ValueError, match="peephole"):
        tsgate.to_keras(tsgate.LSTM(U, peephole=True))
    with pytest.raises(ValueError, match="MemoryGRU"):
        tsgate.to_keras(tsgate.MemoryGRU(U))
    with pytest.raises(ValueError, match="Dense"):
        tsgate.from_keras(keras.layers.Dense(U))


def test_unroll_none_is_the_symbolic_loop():
    layer = tsgate.GRU(U)
    assert layer.unroll is None and not layer.unrolls()
    assert tsgate.GRU(U, unroll=True).unrolls() and not tsgate.GRU(U, unroll=False).unrolls()
    # Unknown length: same numbers as a known one.
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    fixed = keras.Sequential([keras.Input((7, 3)), tsgate.GRU(U, return_sequences=True)])
    free = keras.Sequential([keras.Input((None, 3)), tsgate.GRU(U, return_sequences=True)])
    free.set_weights(fixed.get_weights())
    np.testing.assert_allclose(free(x), fixed(x), atol=1e-6)



@pytest.mark.parametrize("keras_class,tsgate_class", [(keras.layers.GRU, tsgate.GRU), (keras.layers.LSTM, tsgate.LSTM)])
def test_takes_and_exposes_every_keras_argument(keras_class, tsgate_class):
    """Every argument of keras.layers.GRU/LSTM is accepted, and readable on
    the layer wherever Keras' layer exposes it."""
    arguments = {
        "units": 3, "activation": "relu", "recurrent_activation": "hard_sigmoid", "use_bias": False,
        "kernel_initializer": "ones", "recurrent_initializer": "zeros", "bias_initializer": "ones",
        "kernel_regularizer": "l2", "recurrent_regularizer": "l1", "bias_regularizer": "l2",
        "activity_regularizer": "l2", "kernel_constraint": "non_neg", "recurrent_constraint": "non_neg",
        "bias_constraint": "non_neg", "dropout": 0.1, "recurrent_dropout": 0.2, "seed": 3,
        "return_sequences": True, "return_state": True, "go_backwards": True, "stateful": True,
        "unroll": True, "use_cudnn": False, "zero_output_for_mask": True, "implementation": 1,
    }
    arguments.update({"reset_after": False} if keras_class is keras.layers.GRU else {"unit_forget_bias": False})
    signature = set(inspect.signature(keras_class).parameters) - {"kwargs"}
    assert signature <= set(arguments)
    ours, theirs = tsgate_class(**arguments), keras_class(**arguments)
    for name in sorted(signature | {"zero_output_for_mask"}):
        if hasattr(theirs, name):
            mine, reference = getattr(ours, name), getattr(theirs, name)
            if isinstance(reference, (bool, int, float, str, type(None))):
                assert mine == reference, name
            else:  # initializers, regularizers, constraints, activations
                assert type(mine) is type(reference) and mine is not None, name


@pytest.mark.parametrize("use_cudnn", ["auto", False])
def test_use_cudnn_is_accepted_and_kept_out_of_the_config(use_cudnn):
    """As in Keras: accepted, an attribute, not serialized (it does not change
    what a tsgate layer computes); `implementation` is accepted and ignored."""
    layer = tsgate.GRU(U, use_cudnn=use_cudnn, implementation=1)
    assert layer.use_cudnn == use_cudnn
    config = layer.get_config()
    assert "use_cudnn" not in config and "implementation" not in config
    clone = tsgate.GRU.from_config({**config, "use_cudnn": use_cudnn, "implementation": 0})
    assert clone.use_cudnn == use_cudnn and clone.get_config() == config
    assert tsgate.GRU.from_config(config).use_cudnn == "auto"
    x = inputs()
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x), layer(x))


@pytest.mark.parametrize("layer_class", [tsgate.GRU, tsgate.LSTM, tsgate.MemoryGRU, tsgate.SRU])
def test_use_cudnn_true_is_refused_with_the_reason(layer_class):
    with pytest.raises(ValueError, match=r"`use_cudnn`.*CPU-only TF Serving \(keras #18504\)"):
        layer_class(U, use_cudnn=True)
    with pytest.raises(ValueError, match="`use_cudnn`"):
        layer_class(U, use_cudnn="always")


@pytest.mark.parametrize("layer_class", [tsgate.GRU, tsgate.LSTM])
@pytest.mark.parametrize("use_cudnn", ["auto", False])
def test_bidirectional_keeps_use_cudnn(layer_class, use_cudnn):
    """What Keras' test_keeps_use_cudnn checks, for the values tsgate takes."""
    bidirectional = keras.layers.Bidirectional(layer_class(1, use_cudnn=use_cudnn))
    assert bidirectional.forward_layer.use_cudnn == use_cudnn
    assert bidirectional.backward_layer.use_cudnn == use_cudnn
    assert not bidirectional._can_attempt_fused_lstm(mask=None)
    assert not bidirectional._can_attempt_fused_gru(mask=None)


@pytest.mark.parametrize("keras_class", [keras.layers.GRU, keras.layers.LSTM])
def test_interchange_carries_use_cudnn(keras_class):
    assert tsgate.from_keras(keras_class(U, use_cudnn=False)).use_cudnn is False
    assert tsgate.from_keras(keras_class(U, use_cudnn=True)).use_cudnn == "auto"
    converted = tsgate.from_keras(keras_class(U))
    assert converted.use_cudnn == "auto"
    assert tsgate.to_keras(type(converted)(U, use_cudnn=False)).use_cudnn is False


def test_layer_checks_later_inputs_against_its_input_spec():
    layer = tsgate.GRU(U)
    layer(inputs())
    assert layer.input_spec.shape == (None, None, D)
    with pytest.raises(ValueError, match="incompatible"):
        layer(np.zeros((B, T, D + 1), "float32"))
    conv = tsgate.ConvGRU2D(2, 3, data_format="channels_first")
    conv(np.zeros((2, 3, 1, 5, 5), "float32"))
    assert conv.input_spec.shape == (None, None, 1, 5, 5)
    with pytest.raises(ValueError, match=r"\(batch, timesteps, channels, size, size\).*got shape"):
        tsgate.ConvGRU2D(2, 3, data_format="channels_first")(np.zeros((2, 3, 5, 5), "float32"))


@pytest.mark.parametrize("unroll", [True, False])
@pytest.mark.parametrize(
    "keras_class,tsgate_class,gates", [(keras.layers.GRU, tsgate.GRU, 3), (keras.layers.LSTM, tsgate.LSTM, 4)]
)
def test_bias_is_added_along_the_units_when_batch_time_and_widths_coincide(keras_class, tsgate_class, gates, unroll):
    """keras.ops.add on TensorFlow adds a one-axis operand along x's axis 1 or
    last axis when its size matches (see keras_compat.broadcast_add): with
    batch = time = features = gate width a misplaced bias would show."""
    width = gates * 2
    x = np.random.default_rng(3).normal(size=(width, width, width)).astype("float32")
    reference, ours = keras_class(2, return_sequences=True), tsgate_class(2, return_sequences=True, unroll=unroll)
    reference(x)
    randomize(reference)
    ours(x)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-5)
