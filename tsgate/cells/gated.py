"""Base of the gated cells (GRU, LSTM, MemoryGRU, ConvGRU): the input and
recurrent kernels of all gates side by side, recurrent dropout."""

import keras
from keras import activations, constraints, initializers, ops, regularizers

from tsgate.cells import fused
from tsgate.cells.base import RecurrentCell
from tsgate.validation import check_rate


class GatedCell(RecurrentCell):
    """A kernel `(D, G*U)` for the input, a recurrent kernel `(U, G*U)` for the
    state and a bias, the G gate blocks side by side in the order the subclass
    documents; recurrent dropout (one mask per sequence). With layer_norm
    (`LayerNormCell`) each block of `x W` and of `h U` is normalised:

        x W  ->  γ_x ⊙ LN(x W)        h U  ->  γ_h ⊙ LN(h U)

    The products are matmuls; a subclass may replace them (`input_product`,
    `recurrent_product`, the kernel shapes), as ConvGRU does with
    convolutions. Subclasses set `num_gates`, `state_size` and implement
    `step`.
    """

    num_gates = None

    def __init__(
        self,
        units,
        recurrent_initializer="orthogonal",
        recurrent_regularizer=None,
        recurrent_constraint=None,
        recurrent_dropout=0.0,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.output_size = self.units

    def kernel_shape(self, input_shape):
        return (input_shape[-1], self.num_gates * self.units)

    def recurrent_kernel_shape(self):
        return (self.units, self.num_gates * self.units)

    def bias_shape(self):
        return (self.num_gates * self.units,)

    def make_bias_initializer(self):
        return self.bias_initializer

    def build_weights(self, input_shape):
        self.kernel = self.add_kernel(self.kernel_shape(input_shape))
        self.recurrent_kernel = self.add_weight(
            shape=self.recurrent_kernel_shape(),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = self.add_bias(self.bias_shape(), self.make_bias_initializer()) if self.use_bias else None
        if self.layer_norm:
            width = self.num_gates * self.units
            self.add_norm_gains(input=width, recurrent=width)

    def input_bias(self):
        return self.bias

    def input_product(self, inputs, over_time=False):
        """`x W` for one step `(batch, D)` or all steps `(time, batch, D)`."""
        if not over_time:
            return ops.matmul(inputs, self.kernel)
        shape = ops.shape(inputs)  # one 2-D matmul: cheaper than a broadcast batch matmul
        projected = ops.matmul(ops.reshape(inputs, (-1, shape[-1])), self.kernel)
        return ops.reshape(projected, (*shape[:-1], self.kernel.shape[-1]))

    def recurrent_product(self, h, kernel):
        """`h U` for (a block of) the recurrent kernel."""
        return ops.matmul(h, kernel)

    def input_transform(self, inputs, over_time=False):
        """`γ_x ⊙ LN(x W) + b` (LN only with layer_norm), for any leading axes."""
        projected = self.input_product(inputs, over_time)
        if self.layer_norm:
            projected = self.normalize_blocks(projected, self.input_norm_gamma)
        bias = self.input_bias()
        return projected if bias is None else projected + bias

    def recurrent_transform(self, h, start=0, stop=None, bias=None):
        """`γ_h ⊙ LN(h U) + b_h` for the gate columns `start:stop` of the
        recurrent kernel (all by default)."""
        whole = start == 0 and stop is None
        kernel = self.recurrent_kernel if whole else self.recurrent_kernel[..., start:stop]
        projected = self.recurrent_product(h, kernel)
        if self.layer_norm:
            gamma = self.recurrent_norm_gamma
            projected = self.normalize_blocks(projected, gamma if whole else gamma[start:stop])
        return projected if bias is None else projected + bias

    def dropped_state(self, h_prev, training):
        if training and self.recurrent_dropout > 0.0:
            return h_prev * self.get_recurrent_dropout_mask(h_prev)
        return h_prev

    def fusable(self, training):
        """Whether the fused kernels (`tsgate.cells.fused`) compute this cell:
        a backend they serve, sigmoid gates, tanh, no layer norm, zoneout or
        recurrent dropout."""
        return (
            keras.backend.backend() in fused.BACKENDS
            and self.recurrent_activation is activations.sigmoid
            and self.activation is activations.tanh
            and not self.layer_norm
            and self.zoneout == 0.0
            and not (training and self.recurrent_dropout > 0.0)
        )

    def get_config(self):
        config = {
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "recurrent_dropout": self.recurrent_dropout,
        }
        return {**super().get_config(), **config}
