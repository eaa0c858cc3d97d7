"""One conformance check run on every tsgate sequence layer and variant, the
way Keras runs `run_layer_test` on each of its layers: Keras' own
`run_layer_test`, config and `.keras` round trips, masking (both loops, both
`zero_output_for_mask`), stateful, Bidirectional, the cell inside
`keras.layers.RNN`, dropout only in training, cell arguments on the layer."""

import keras
import numpy as np
import pytest
from keras.src import testing

import tsgate
from tests.helpers import max_diff, randomize
from tsgate.cells.sequence import cell_argument_names

B, T, D, U = 4, 6, 3, 5
TOL = 1e-5

# name: (layer class, arguments, step input shape, trainable weights)
CASES = {
    "gru": (tsgate.GRU, {"units": U}, (D,), 3),
    "gru_reset_before": (tsgate.GRU, {"units": U, "reset_after": False}, (D,), 3),
    "gru_norm_zoneout": (tsgate.GRU, {"units": U, "layer_norm": True, "zoneout": 0.1}, (D,), 5),
    "lstm": (tsgate.LSTM, {"units": U}, (D,), 3),
    "lstm_peephole_norm": (tsgate.LSTM, {"units": U, "peephole": True, "layer_norm": True}, (D,), 8),
    "lstm_zoneout": (tsgate.LSTM, {"units": U, "zoneout": 0.2}, (D,), 3),
    "memory_gru": (tsgate.MemoryGRU, {"units": U}, (D,), 3),
    "memory_gru_norm": (tsgate.MemoryGRU, {"units": U, "layer_norm": True, "reset_after": True}, (D,), 5),
    "sru": (tsgate.SRU, {"units": U}, (D,), 3),
    "sru_original_norm": (tsgate.SRU, {"units": U, "cell_connections": False, "layer_norm": True}, (D,), 3),
    "sru_identity_skip_zoneout": (tsgate.SRU, {"units": D, "zoneout": 0.1}, (D,), 3),
    "conv_gru_1d": (tsgate.ConvGRU1D, {"filters": 3, "kernel_size": 3, "padding": "same"}, (5, 2), 3),
    "conv_gru_2d_channels_first": (
        tsgate.ConvGRU2D,
        {"filters": 2, "kernel_size": 2, "reset_after": False, "data_format": "channels_first"},
        (2, 4, 3),
        3,
    ),
    "conv_gru_3d": (tsgate.ConvGRU3D, {"filters": 2, "kernel_size": 2, "padding": "same"}, (3, 2, 2, 1), 3),
}


def make(name, **kwargs):
    layer_class, arguments, _, _ = CASES[name]
    return layer_class(**{**arguments, **kwargs})


def inputs(name, batch=B, timesteps=T, seed=0):
    shape = (batch, timesteps, *CASES[name][2])
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def built(name, x, seed=1, **kwargs):
    """The layer of case `name`, called on `x` and given random weights."""
    layer = make(name, **kwargs)
    layer(x)
    return randomize(layer, seed=seed)


def has_recurrent_kernel(name):
    return "recurrent_dropout" in cell_argument_names(CASES[name][0].cell_class)


@pytest.mark.parametrize("name", CASES)
def test_keras_run_layer_test(name):
    """Keras' own layer checks: serialization, build, eager and symbolic
    calls, masking support, a training step, mixed precision."""
    layer_class, arguments, step_shape, trainable = CASES[name]
    x = inputs(name)
    output_shape = make(name, return_sequences=True).compute_output_shape(x.shape)
    case = testing.TestCase(methodName="run_layer_test")
    case.run_layer_test(
        layer_class,
        init_kwargs={**arguments, "return_sequences": True, "dropout": 0.1},
        input_shape=x.shape,
        call_kwargs={"training": True},
        expected_output_shape=output_shape,
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=0,
        supports_masking=True,
    )


@pytest.mark.parametrize("name", CASES)
def test_get_config_round_trip_reproduces_outputs(name):
    recurrent = {"recurrent_dropout": 0.2} if has_recurrent_kernel(name) else {}
    x = inputs(name)
    layer = built(name, x, return_sequences=True, dropout=0.1, kernel_regularizer="l2", **recurrent)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x), layer(x))
    assert clone.dropout == 0.1 and clone.cell.kernel_regularizer is not None
    assert not recurrent or clone.recurrent_dropout == 0.2
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is type(layer) and revived.get_config() == layer.get_config()


@pytest.mark.parametrize("name", CASES)
def test_keras_file_round_trip_reproduces_outputs(name, tmp_path):
    x = inputs(name)
    sequences = keras.Input(x.shape[1:])
    model = keras.Model(sequences, make(name, return_sequences=True, go_backwards=True)(sequences))
    randomize(model)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded.layers[-1]) is type(model.layers[-1])
    np.testing.assert_array_equal(loaded(x), model(x))


def step_mask():
    """Right padding, a hole, a masked first step, a single valid step."""
    return np.array(
        [[1, 1, 1, 1, 0, 0], [1, 1, 0, 1, 1, 0], [0, 1, 1, 0, 1, 1], [1, 0, 0, 0, 0, 0]], dtype=bool
    )


@pytest.mark.parametrize("name", CASES)
def test_masking_skips_masked_steps_on_both_loops(name):
    """At a masked step the states keep their values and the output repeats
    the previous one (zeros before the first valid step), or is zeros with
    zero_output_for_mask: each row equals the layer run on its valid steps
    alone, through the unrolled and the symbolic loop."""
    x, mask = inputs(name), step_mask()
    layer = built(name, x, return_sequences=True, return_state=True)
    for row in range(B):
        valid = np.flatnonzero(mask[row])
        compact, *compact_states = layer(x[row : row + 1, valid])
        compact = np.asarray(compact)[0]
        for unroll in (True, False):
            for zero_output in (False, True):
                layer.unroll, layer.zero_output_for_mask = unroll, zero_output
                outputs, *states = layer(x, mask=mask)
                assert max_diff([s[row : row + 1] for s in states], compact_states) <= TOL
                expected, last = [], np.zeros_like(compact[0])
                for t in range(T):
                    if mask[row, t]:
                        last = compact[list(valid).index(t)]
                    expected.append(last if mask[row, t] or not zero_output else np.zeros_like(last))
                assert max_diff(np.asarray(outputs)[row], np.stack(expected)) <= TOL, (unroll, zero_output)


@pytest.mark.parametrize("name", CASES)
def test_stateful_continues_from_the_last_state(name):
    x = inputs(name, batch=2)
    layer = built(name, x[:, :1], stateful=True, return_sequences=True)
    layer.reset_state()
    whole = np.asarray(layer(x))
    layer.reset_state()
    first, second = np.asarray(layer(x[:, :2])), np.asarray(layer(x[:, 2:]))
    assert max_diff(np.concatenate([first, second], 1), whole) <= TOL


@pytest.mark.parametrize("name", CASES)
def test_bidirectional_runs_a_forward_and_a_backward_copy(name):
    x = inputs(name)
    bidirectional = keras.layers.Bidirectional(make(name, return_sequences=True), merge_mode="concat")
    bidirectional(x)
    randomize(bidirectional)
    forward, backward = bidirectional.forward_layer, bidirectional.backward_layer
    assert type(forward) is type(backward) is CASES[name][0] and backward.go_backwards
    # Keras concatenates on the last axis, whatever the data format.
    expected = np.concatenate([np.asarray(forward(x)), np.flip(np.asarray(backward(x)), 1)], axis=-1)
    assert max_diff(bidirectional(x), expected) <= TOL
    clone = keras.layers.Bidirectional.from_config(bidirectional.get_config())
    clone(x)
    clone.set_weights(bidirectional.get_weights())
    np.testing.assert_array_equal(clone(x), bidirectional(x))


@pytest.mark.parametrize("name", CASES)
def test_cell_in_keras_rnn_matches_the_layer(name):
    """The cell stepped by `keras.layers.RNN` equals the layer, which
    projects all steps at once (and may run a fused kernel)."""
    x = inputs(name)
    layer = built(name, x, return_sequences=True)
    if getattr(layer, "data_format", None) == "channels_first":
        pytest.skip("keras.layers.RNN feeds the cell channels-last steps only")
    rnn = keras.layers.RNN(type(layer.cell).from_config(layer.cell.get_config()), return_sequences=True)
    rnn(x)
    rnn.set_weights(layer.get_weights())
    assert max_diff(rnn(x), layer(x)) <= TOL


@pytest.mark.parametrize("name", CASES)
def test_dropout_only_acts_in_training(name):
    recurrent = {"recurrent_dropout": 0.3} if has_recurrent_kernel(name) else {}
    x = inputs(name)
    layer = built(name, x, dropout=0.3, seed=1, **recurrent)
    plain = make(name)
    plain(x)
    plain.set_weights(layer.get_weights())
    np.testing.assert_array_equal(layer(x), layer(x))
    assert max_diff(layer(x), plain(x)) == 0.0
    assert max_diff(layer(x, training=True), layer(x)) > 1e-4


@pytest.mark.parametrize("name", CASES)
def test_cell_arguments_are_readable_on_the_layer(name):
    layer = make(name)
    names = cell_argument_names(type(layer.cell))
    assert names >= {"activation", "use_bias", "kernel_initializer", "dropout", "zoneout", "seed"}
    for argument in names:
        assert getattr(layer, argument) is getattr(layer.cell, argument), argument
    for argument, value in CASES[name][1].items():
        if argument != "data_format":
            assert getattr(layer, argument) == getattr(layer.cell, argument)
            assert getattr(layer, argument) == value or argument == "kernel_size"
    with pytest.raises(AttributeError):
        layer.dropout = 0.5  # read-only: the cell owns it
