"""GRU cell and layer with the Keras weight layout."""

import keras
from keras import ops

from tsgate.cells.base import LayerNormCell
from tsgate.cells.fused import gru_sequence
from tsgate.cells.gated import GatedCell
from tsgate.cells.sequence import SequenceLayer
from tsgate.validation import check_bool


class GRUGates(GatedCell):
    """The GRU's gates and bias layout, shared by `GRUCell`, `MemoryGRUCell`
    and the ConvGRU cells (whose products are convolutions):

        z  = σ(x W_z + h U_z + b_z)
        r  = σ(x W_r + h U_r + b_r)
        ĥ  = act(x W_h + (r ⊙ h) U_h + b_h)              reset_after=False
        ĥ  = act(x W_h + b_h + r ⊙ (h U_h + b_hr))       reset_after=True

    Gate blocks `[z, r, h]`; bias `(3U,)`, or `(2, 3U)` with reset_after
    (row 0 input bias, row 1 recurrent bias).
    """

    num_gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = check_bool("reset_after", reset_after)
        self.state_size = self.units

    def bias_shape(self):
        width = self.num_gates * self.units
        return (2, width) if self.reset_after else (width,)

    def input_bias(self):
        return self.bias[0] if self.use_bias and self.reset_after else self.bias

    def recurrent_bias(self):
        return self.bias[1] if self.use_bias and self.reset_after else None

    def gates(self, projected, h_prev, training):
        """The update gate `z` and the candidate `ĥ` from the projected input
        `x W + b` and the previous state, each of the state's shape."""
        h = self.dropped_state(h_prev, training)
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        units = self.units
        if self.reset_after:
            h_z, h_r, h_h = ops.split(self.recurrent_transform(h, bias=self.recurrent_bias()), 3, axis=-1)
        else:
            h_z, h_r = ops.split(self.recurrent_transform(h, 0, 2 * units), 2, axis=-1)
        z = self.recurrent_activation(x_z + h_z)
        r = self.recurrent_activation(x_r + h_r)
        if self.reset_after:
            return z, self.activation(x_h + r * h_h)
        return z, self.activation(x_h + self.recurrent_transform(r * h, 2 * units, 3 * units))

    def step(self, projected, states, training=False, zoneout_noise=None):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        z, candidate = self.gates(projected, h_prev, training)
        (h,) = self.zone_out([z * h_prev + (1.0 - z) * candidate], [h_prev], training, zoneout_noise)
        return h, [h] if isinstance(states, (list, tuple)) else h

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


@keras.saving.register_keras_serializable(package="tsgate")
class GRUCell(LayerNormCell, GRUGates):
    """Gated recurrent unit cell (Cho et al. 2014), numerically the same as
    `keras.layers.GRUCell` for the same weights.

    With update gate `z`, reset gate `r`, `σ` the recurrent activation and
    `tanh` the activation:

        z  = σ(x W_z + h U_z + b_z)
        r  = σ(x W_r + h U_r + b_r)
        ĥ  = tanh(x W_h + (r ⊙ h) U_h + b_h)              reset_after=False
        ĥ  = tanh(x W_h + b_h + r ⊙ (h U_h + b_hr))       reset_after=True
        h' = z ⊙ h + (1 − z) ⊙ ĥ

    With layer_norm=True each gate block of `x W` and of `h U` (of `(r ⊙ h) U_h`
    with reset_after=False) is layer-normalised with its own gain before the
    bias is added (Ba et al. 2016); with zoneout=p, `h'` is zoned out (see
    `RecurrentCell`).

    Weights (Keras layout, gate blocks in the order `[z, r, h]`): `kernel`
    `(D, 3U)`, `recurrent_kernel` `(U, 3U)`, `bias` `(3U,)`, or `(2, 3U)` with
    reset_after=True (row 0 input bias, row 1 recurrent bias); with layer_norm
    `input_norm_gamma` and `recurrent_norm_gamma` `(3U,)`.

    Args:
        units: positive int `U`, size of the hidden state.
        reset_after: bool, default True: apply the reset gate after the
            recurrent matmul (the cuDNN and Keras default).
        layer_norm: bool, default False. norm_epsilon: float, default 1e-3.
        zoneout: float in [0, 1), default 0.
        activation, recurrent_activation, use_bias, *_initializer,
        *_regularizer, *_constraint, dropout, recurrent_dropout, seed: as in
            `keras.layers.GRUCell`. Dropout draws one mask per sequence.

    Call arguments:
        inputs: `(batch, D)`. states: `[h]` with `h` `(batch, U)`.
        training: bool, enables dropout.

    Returns `(h', [h'])`, each `(batch, U)`.

    Example:
    >>> layer = keras.layers.RNN(tsgate.GRUCell(4), return_sequences=True)
    >>> layer(np.zeros((2, 10, 3))).shape
    (2, 10, 4)
    """


@keras.saving.register_keras_serializable(package="tsgate")
class GRU(SequenceLayer):
    """GRU over a sequence: `keras.layers.RNN(tsgate.GRUCell(...))` with the
    cell's arguments flattened into the layer, like `keras.layers.GRU`.

    Input `(batch, timesteps, D)`; output `(batch, U)`, or `(batch, timesteps, U)`
    with return_sequences, followed by the final `h` with return_state.
    Takes every `GRUCell` argument and every `keras.layers.RNN` argument
    (`return_sequences`, `return_state`, `go_backwards`, `stateful`, `unroll`,
    `zero_output_for_mask`); `mask` and `initial_state` at call time. The
    cell's arguments are readable on the layer (`layer.reset_after`).

    A drop-in for `keras.layers.GRU`: `use_cudnn` "auto" (cuDNN while
    training on a GPU, `tsgate.cells.cudnn`; every export traces the portable
    loop) or False (the portable loop always; True is refused: exports never
    hold cuDNN-only ops, keras #18504) and `implementation` (ignored, as in
    Keras) are accepted and, as in Keras, left out of `get_config`.

    An unrolled sequence (unroll=True) on TensorFlow's executor (not under
    XLA) without a mask runs through the fused kernel `tsgate.cells.fused.gru_sequence`
    when the cell has reset_after=True, sigmoid/tanh, no layer norm, zoneout
    or (while training) recurrent dropout; otherwise the loop over `GRUCell.step`.

    Example:
    >>> tsgate.GRU(8, return_state=True)(np.zeros((2, 5, 3)))[1].shape
    (2, 8)
    """

    cell_class = GRUCell

    def fusable(self, training):
        return type(self.cell) is GRUCell and self.cell.reset_after and self.cell.fusable(training)

    def fused_loop(self, inputs, initial_state):
        cell, units = self.cell, self.cell.units
        bias = candidate_bias = None
        if cell.use_bias:  # the z and r recurrent biases join the input bias
            input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
            candidate_bias = recurrent_bias[2 * units :]
            bias = input_bias + ops.concatenate([recurrent_bias[: 2 * units], ops.zeros_like(candidate_bias)])
        outputs = gru_sequence(
            inputs, initial_state[0], cell.kernel, cell.recurrent_kernel, bias, candidate_bias, self.return_sequences
        )
        last = outputs[-1] if self.return_sequences else outputs
        return last, outputs, [last]
