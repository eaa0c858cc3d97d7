"""Behaviour of the sequence layers inside Keras: configs, saving, stateful,
initial state, dropout, models of every kind, weight interchange."""

import keras
import numpy as np
import pytest

import tsgate
from tests.helpers import randomize
from tsgate.cells.sequence import AUTO_UNROLL_STEPS

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


@pytest.mark.parametrize("name", LAYERS)
def test_get_config_round_trip_reproduces_outputs(name):
    layer = LAYERS[name](return_sequences=True, dropout=0.1, kernel_regularizer="l2")
    x = inputs()
    layer(x)
    randomize(layer)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x), layer(x))
    assert clone.cell.dropout == 0.1 and clone.cell.kernel_regularizer is not None


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
def test_dropout_only_acts_in_training(name):
    recurrent = {} if name.startswith("sru") else {"recurrent_dropout": 0.3}  # SRU has no h -> h matrix
    layer = LAYERS[name](dropout=0.3, seed=1, **recurrent)
    x = inputs()
    np.testing.assert_array_equal(layer(x), layer(x))
    assert np.abs(np.asarray(layer(x, training=True)) - np.asarray(layer(x))).max() > 1e-4


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


def test_unroll_none_unrolls_only_short_known_lengths():
    layer = tsgate.GRU(U)
    assert layer.unroll is None
    assert layer.unrolls(AUTO_UNROLL_STEPS) and not layer.unrolls(AUTO_UNROLL_STEPS + 1)
    assert not layer.unrolls(None)
    assert tsgate.GRU(U, unroll=True).unrolls(500) and not tsgate.GRU(U, unroll=False).unrolls(5)
    # Unknown length: the symbolic loop, same numbers as the unrolled fused kernel.
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    fixed = keras.Sequential([keras.Input((7, 3)), tsgate.GRU(U, return_sequences=True)])
    free = keras.Sequential([keras.Input((None, 3)), tsgate.GRU(U, return_sequences=True)])
    free.set_weights(fixed.get_weights())
    np.testing.assert_allclose(free(x), fixed(x), atol=1e-6)


def test_bad_unroll_names_the_argument():
    with pytest.raises(ValueError, match="`unroll`"):
        tsgate.LSTM(U, unroll="auto")
