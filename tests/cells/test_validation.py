"""Argument and input-shape checks of the cells and layers: Keras-style
messages that name the argument (tsgate.validation)."""

import numpy as np
import pytest

import tsgate

B, T, D, U = 4, 9, 5, 6


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        ({"units": 0}, "units"),
        ({"units": -3}, "units"),
        ({"units": 2.5}, "units"),
        ({"units": 4, "dropout": 1.0}, "dropout"),
        ({"units": 4, "recurrent_dropout": -0.1}, "recurrent_dropout"),
        ({"units": 4, "use_bias": "yes"}, "use_bias"),
        ({"units": 4, "seed": "abc"}, "seed"),
    ],
)
@pytest.mark.parametrize("cell_class", [tsgate.GRUCell, tsgate.LSTMCell, tsgate.MemoryGRUCell])
def test_bad_arguments_name_the_argument(cell_class, kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        cell_class(**kwargs)


@pytest.mark.parametrize(
    "cell_class,kwargs,argument",
    [
        (tsgate.GRUCell, {"reset_after": None}, "reset_after"),
        (tsgate.LSTMCell, {"peephole": 1}, "peephole"),
        (tsgate.LSTMCell, {"layer_norm": "true"}, "layer_norm"),
        (tsgate.LSTMCell, {"norm_epsilon": 0}, "norm_epsilon"),
        (tsgate.LSTMCell, {"unit_forget_bias": None}, "unit_forget_bias"),
    ],
)
def test_bad_cell_options_name_the_argument(cell_class, kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        cell_class(4, **kwargs)


@pytest.mark.parametrize("layer_class", [tsgate.GRU, tsgate.LSTM, tsgate.MemoryGRU])
@pytest.mark.parametrize("shape", [(B, D), (B, T, 2, D)])
def test_wrong_input_rank_is_a_clear_error(layer_class, shape):
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\).*got shape"):
        layer_class(U)(np.zeros(shape, "float32"))


def test_cell_rejects_sequence_input():
    with pytest.raises(ValueError, match=r"\(batch, features\)"):
        tsgate.GRUCell(U).build((B, T, D))


@pytest.mark.parametrize(
    "layer_class,kwargs,argument",
    [
        (tsgate.SRU, {"cell_connections": "no"}, "cell_connections"),
        (tsgate.SRU, {"zoneout": 1.5}, "zoneout"),
        (tsgate.MemoryGRU, {"layer_norm": 1}, "layer_norm"),
        (tsgate.LSTM, {"unroll": "auto"}, "unroll"),
        (tsgate.GRU, {"seed": 1.5}, "seed"),
    ],
)
def test_bad_layer_options_name_the_argument(layer_class, kwargs, argument):
    with pytest.raises(ValueError, match=f"Received an invalid value for argument `{argument}`, expected"):
        layer_class(4, **kwargs)
