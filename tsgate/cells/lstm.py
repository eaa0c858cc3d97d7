"""LSTM cell and layer with the Keras weight layout, optional peepholes and
layer normalisation."""

import keras
from keras import ops

from tsgate.cells.base import LayerNormCell, normalize
from tsgate.cells.fused import lstm_sequence
from tsgate.cells.gated import GatedCell
from tsgate.cells.sequence import SequenceLayer
from tsgate.validation import check_bool


@keras.saving.register_keras_serializable(package="tsgate")
class LSTMCell(LayerNormCell, GatedCell):
    """Long short-term memory cell (Hochreiter & Schmidhuber 1997), numerically
    the same as `keras.layers.LSTMCell` for the same weights when `peephole` and
    `layer_norm` are off.

    With `σ` the recurrent activation, `tanh` the activation, state `[h, c]`:

        a  = x W + h U + b                          (batch, 4U), blocks [i, f, c, o]
        a  = γ_x ⊙ LN(x W) + γ_h ⊙ LN(h U) + b      layer_norm=True, LN per gate block
        i  = σ(a_i + p_i ⊙ c)                       p_* only with peephole=True
        f  = σ(a_f + p_f ⊙ c)
        c' = f ⊙ c + i ⊙ tanh(a_c)
        o  = σ(a_o + p_o ⊙ c')
        h' = o ⊙ tanh(c')                           layer_norm=False
        h' = o ⊙ tanh(γ_c ⊙ LN(c') + β_c)           layer_norm=True

    Peepholes are the diagonal connections of Gers & Schmidhuber (2000). Layer
    normalisation follows Ba et al. (2016): the input and recurrent
    contributions to each gate and the cell output are normalised over the
    units, `b` being the gates' shift, while the carried cell state `c'` stays
    un-normalised. `LN(v) = (v − mean) / sqrt(var + norm_epsilon)` over the
    last axis. With zoneout=p both `h'` and `c'` are zoned out (`RecurrentCell`).

    Weights: `kernel` `(D, 4U)`, `recurrent_kernel` `(U, 4U)`, `bias` `(4U,)`
    (Keras layout, gates `[i, f, c, o]`); with peephole `peephole_kernel`
    `(3, U)` rows `[p_i, p_f, p_o]` (kernel initializer, regularizer and
    constraint); with layer_norm `input_norm_gamma`, `recurrent_norm_gamma`
    `(4U,)`, `cell_norm_gamma` and `cell_norm_beta` `(U,)`.

    Args:
        units: positive int `U`.
        unit_forget_bias: bool, default True: initialise the forget-gate bias to 1.
        peephole: bool, default False.
        layer_norm: bool, default False. norm_epsilon: float > 0, default 1e-3.
        zoneout: float in [0, 1), default 0.
        activation, recurrent_activation, use_bias, *_initializer,
        *_regularizer, *_constraint, dropout, recurrent_dropout, seed: as in
            `keras.layers.LSTMCell`. Dropout draws one mask per sequence.

    Call arguments:
        inputs: `(batch, D)`. states: `[h, c]`, each `(batch, U)`.
        training: bool, enables dropout.

    Returns `(h', [h', c'])`.

    Example:
    >>> cell = tsgate.LSTMCell(4, peephole=True, layer_norm=True)
    >>> keras.layers.RNN(cell)(np.zeros((2, 10, 3))).shape
    (2, 4)
    """

    num_gates = 4

    def __init__(self, units, unit_forget_bias=True, peephole=False, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = check_bool("unit_forget_bias", unit_forget_bias)
        self.peephole = check_bool("peephole", peephole)
        self.state_size = [self.units, self.units]

    def make_bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def bias_initializer(shape, dtype=None):
            return ops.concatenate(
                [
                    base((units,), dtype=dtype),
                    ops.ones((units,), dtype=dtype),
                    base((2 * units,), dtype=dtype),
                ]
            )

        return bias_initializer

    def build_weights(self, input_shape):
        super().build_weights(input_shape)
        if self.peephole:
            self.peephole_kernel = self.add_weight(
                shape=(3, self.units),
                name="peephole_kernel",
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
            )
        if self.layer_norm:
            self.add_norm_gains(cell=self.units)
            self.cell_norm_beta = self.add_weight(shape=(self.units,), name="cell_norm_beta", initializer="zeros")

    def step(self, projected, states, training=False, zoneout_noise=None):
        h_prev, c_prev = states
        h = self.dropped_state(h_prev, training)
        a = projected + self.recurrent_transform(h)
        a_i, a_f, a_c, a_o = ops.split(a, 4, axis=-1)
        if self.peephole:
            p_i, p_f, p_o = self.peephole_kernel[0], self.peephole_kernel[1], self.peephole_kernel[2]
            a_i = a_i + p_i * c_prev
            a_f = a_f + p_f * c_prev
        i, f = self.recurrent_activation(a_i), self.recurrent_activation(a_f)
        c = f * c_prev + i * self.activation(a_c)
        if self.peephole:
            a_o = a_o + p_o * c
        o = self.recurrent_activation(a_o)
        if self.layer_norm:
            h = o * self.activation(normalize(c, self.norm_epsilon) * self.cell_norm_gamma + self.cell_norm_beta)
        else:
            h = o * self.activation(c)
        h, c = self.zone_out([h, c], [h_prev, c_prev], training, zoneout_noise)
        return h, [h, c]

    def get_config(self):
        config = {"unit_forget_bias": self.unit_forget_bias, "peephole": self.peephole}
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="tsgate")
class LSTM(SequenceLayer):
    """LSTM over a sequence: `keras.layers.RNN(tsgate.LSTMCell(...))` with the
    cell's arguments flattened into the layer, like `keras.layers.LSTM`.

    Input `(batch, timesteps, D)`; output `(batch, U)`, or `(batch, timesteps, U)`
    with return_sequences, followed by the final `h` and `c` with return_state.
    Takes every `LSTMCell` and `keras.layers.RNN` argument; the cell's
    arguments are readable on the layer (`layer.peephole`).

    A drop-in for `keras.layers.LSTM`: `use_cudnn` "auto" (cuDNN while
    training on a GPU, `tsgate.cells.cudnn`; every export traces the portable
    loop) or False (the portable loop always; True is refused: exports never
    hold cuDNN-only ops, keras #18504) and `implementation` (ignored, as in
    Keras) are accepted and, as in Keras, left out of `get_config`.

    An unrolled sequence (unroll=True) on TensorFlow's executor (not under
    XLA) without a mask runs through the fused kernel `tsgate.cells.fused.lstm_sequence`
    when the cell has sigmoid/tanh and no peepholes, layer norm, zoneout or
    (while training) recurrent dropout; otherwise the loop over `LSTMCell.step`.

    Example:
    >>> out, h, c = tsgate.LSTM(8, return_state=True)(np.zeros((2, 5, 3)))
    >>> c.shape
    (2, 8)
    """

    cell_class = LSTMCell

    def fusable(self, training):
        return type(self.cell) is LSTMCell and not self.cell.peephole and self.cell.fusable(training)

    def fused_loop(self, inputs, initial_state):
        cell = self.cell
        h0, c0 = initial_state
        outputs, c = lstm_sequence(
            inputs, h0, c0, cell.kernel, cell.recurrent_kernel, cell.bias, self.return_sequences
        )
        last = outputs[-1] if self.return_sequences else outputs
        return last, outputs, [last, c]
