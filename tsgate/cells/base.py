"""What every tsgate cell shares: argument checks, weights, dropout masks,
zoneout, layer normalisation and config.

A cell's step is split in two so that the sequence layer can do the input
half for all timesteps at once:

    projected = cell.project_inputs(x)            # x W + b, (batch, [time,] G*U)
    output, states = cell.step(projected, states)  # the recurrence

`cell.call(x, states)` chains the two, so a cell also works alone inside
`keras.layers.RNN`.
"""

import keras
from keras import activations, constraints, initializers, ops, regularizers

from tsgate.cells import fused
from tsgate.keras_compat import DropoutRNNCell
from tsgate.validation import check_bool, check_positive_float, check_positive_int, check_rate


def normalize(values, epsilon, axis=-1):
    """`(v − mean) / sqrt(var + epsilon)` over `axis`."""
    mean, variance = ops.moments(values, axes=[axis], keepdims=True)
    return (values - mean) * ops.rsqrt(variance + epsilon)


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base of all tsgate cells: input kernel and bias, input dropout (one mask
    per sequence, drawn by `keras.layers.RNN` before the loop) and zoneout.

    Zoneout (Krueger et al. 2016) with rate `p`: while training each state unit
    keeps its previous value with probability `p`, drawn anew at every step,
    `s' = d ⊙ s + (1 − d) ⊙ s̃` with `d ~ Bernoulli(p)`; at inference the
    expectation `s' = p s + (1 − p) s̃`.

    Subclasses implement `build`, `input_transform` and `step`.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        zoneout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = check_bool("use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate("dropout", dropout)
        self.zoneout = check_rate("zoneout", zoneout)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(
                f"Received an invalid value for argument `seed`, expected an int or None, got {seed!r}."
            )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.recurrent_dropout = 0.0

    def add_kernel(self, shape):
        return self.add_weight(
            shape=shape,
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def add_bias(self, shape, initializer=None):
        return self.add_weight(
            shape=shape,
            name="bias",
            initializer=initializer or self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def project_inputs(self, inputs, training=False, over_time=False):
        """Input dropout, then `input_transform`; `inputs` is one step
        `(batch, *features)` or, with over_time, all steps time-major
        `(time, batch, *features)`."""
        return self.input_transform(self.dropped_inputs(inputs, training, over_time), over_time)

    def dropped_inputs(self, inputs, training=False, over_time=False):
        """`inputs` times the sequence's input dropout mask while training."""
        if training and self.dropout > 0.0:
            return inputs * self.get_dropout_mask(inputs[0] if over_time else inputs)
        return inputs

    def call(self, inputs, states, training=False):
        return self.step(self.project_inputs(inputs, training), states, training)

    def zone_out(self, new_states, old_states, training, noise=None):
        """Applies zoneout to a list of states. `noise`, one uniform [0, 1)
        tensor per state of the state's shape, is drawn here when not given."""
        if self.zoneout == 0.0:
            return new_states
        if not training:
            return [self.zoneout * old + (1.0 - self.zoneout) * new for old, new in zip(old_states, new_states)]
        if noise is None:
            noise = [keras.random.uniform(ops.shape(s), seed=self.seed_generator) for s in old_states]
        return [
            ops.where(u < self.zoneout, old, new) for u, old, new in zip(noise, old_states, new_states)
        ]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "zoneout": self.zoneout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


class GatedCell(RecurrentCell):
    """Base of the dense gated cells (GRU, LSTM, MemoryGRU): a fused kernel
    `(D, G*U)` for the input, a fused recurrent kernel `(U, G*U)` for the
    hidden state and a bias, gate blocks side by side in the order the subclass
    documents; recurrent dropout (one mask per sequence) and optional layer
    normalisation (Ba et al. 2016) of the input and recurrent projections, each
    gate block normalised over its U units with its own gain:

        x W  ->  γ_x ⊙ LN(x W)        h U  ->  γ_h ⊙ LN(h U)

    the bias serving as the shift. Subclasses set `num_gates`, `state_size`
    and implement `step`.
    """

    num_gates = None

    def __init__(
        self,
        units,
        recurrent_initializer="orthogonal",
        recurrent_regularizer=None,
        recurrent_constraint=None,
        recurrent_dropout=0.0,
        layer_norm=False,
        norm_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.layer_norm = check_bool("layer_norm", layer_norm)
        self.norm_epsilon = check_positive_float("norm_epsilon", norm_epsilon)
        self.output_size = self.units

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} expects step inputs of shape (batch, features) with a "
                f"known number of features, got shape {tuple(input_shape)}. Wrap the cell in "
                "`keras.layers.RNN` (or use the tsgate sequence layer) to feed "
                "(batch, timesteps, features) sequences."
            )
        width = self.num_gates * self.units
        self.kernel = self.add_kernel((input_shape[-1], width))
        self.recurrent_kernel = self.add_recurrent_kernel((self.units, width))
        self.bias = self.add_bias(self.bias_shape(), self.make_bias_initializer()) if self.use_bias else None
        if self.layer_norm:
            self.input_norm_gamma = self.add_weight(shape=(width,), name="input_norm_gamma", initializer="ones")
            self.recurrent_norm_gamma = self.add_weight(
                shape=(width,), name="recurrent_norm_gamma", initializer="ones"
            )

    def add_recurrent_kernel(self, shape):
        return self.add_weight(
            shape=shape,
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )

    def bias_shape(self):
        return (self.num_gates * self.units,)

    def make_bias_initializer(self):
        return self.bias_initializer

    def input_bias(self):
        return self.bias

    def recurrent_bias(self):
        return None

    def normalize_blocks(self, values, gamma):
        """`gamma ⊙ LN` of each U-wide block of `values` `(..., k*U)`."""
        shape = ops.shape(values)
        blocks = ops.reshape(values, (*shape[:-1], values.shape[-1] // self.units, self.units))
        return ops.reshape(normalize(blocks, self.norm_epsilon), shape) * gamma

    def input_transform(self, inputs, over_time=False):
        """`γ_x ⊙ LN(x W) + b` (LN only with layer_norm), for any leading axes."""
        if over_time:  # one 2-D matmul: cheaper than a broadcast batch matmul
            shape = ops.shape(inputs)
            projected = ops.matmul(ops.reshape(inputs, (-1, shape[-1])), self.kernel)
            projected = ops.reshape(projected, (*shape[:-1], self.kernel.shape[-1]))
        else:
            projected = ops.matmul(inputs, self.kernel)
        if self.layer_norm:
            projected = self.normalize_blocks(projected, self.input_norm_gamma)
        bias = self.input_bias()
        return projected if bias is None else projected + bias

    def recurrent_transform(self, h, kernel, gamma=None, bias=None):
        """`γ_h ⊙ LN(h U) + b_h` for a (block of the) recurrent kernel."""
        projected = ops.matmul(h, kernel)
        if self.layer_norm:
            projected = self.normalize_blocks(projected, gamma)
        return projected if bias is None else projected + bias

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

    def dropped_state(self, h_prev, training):
        if training and self.recurrent_dropout > 0.0:
            return h_prev * self.get_recurrent_dropout_mask(h_prev)
        return h_prev

    def get_config(self):
        config = {
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "recurrent_dropout": self.recurrent_dropout,
            "layer_norm": self.layer_norm,
            "norm_epsilon": self.norm_epsilon,
        }
        return {**super().get_config(), **config}
