"""What every tsgate cell shares: argument checks, the step-shape check,
weights, dropout masks, zoneout, layer normalisation and config.

A cell's step is split in two so that the sequence layer can do the input
half for all timesteps at once:

    projected = cell.project_inputs(x)            # x W + b, (batch, [time,] G*U)
    output, states = cell.step(projected, states)  # the recurrence

`cell.call(x, states)` chains the two, so a cell also works alone inside
`keras.layers.RNN`.
"""

import keras
from keras import activations, constraints, initializers, ops, regularizers

from tsgate.keras_compat import DropoutRNNCell
from tsgate.validation import check_bool, check_positive_float, check_positive_int, check_rate, invalid


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

    Step inputs are `(batch, features)`, or `(batch, *spatial, channels)` with
    `spatial_rank` spatial axes. Subclasses implement `build_weights`,
    `input_transform` and `step`; `build` checks the step shape first.
    Cells with the `LayerNormCell` base take `layer_norm`; the others never
    normalise (`layer_norm` False).
    """

    spatial_rank = 0
    layer_norm = False
    size_argument = "units"  # the name under which `units` is an argument

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
        self.units = check_positive_int(self.size_argument, units)
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
            raise invalid("seed", "an int or None", seed)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.recurrent_dropout = 0.0

    def build(self, input_shape):
        axes = ["batch", *["size"] * self.spatial_rank, "channels" if self.spatial_rank else "features"]
        if len(input_shape) != len(axes) or None in input_shape[1:]:
            raise ValueError(
                f"{type(self).__name__} expects step inputs of shape ({', '.join(axes)}) with known "
                f"sizes, got shape {tuple(input_shape)}. Wrap the cell in `keras.layers.RNN` (or use "
                f"the tsgate sequence layer) to feed (batch, timesteps, {', '.join(axes[1:])}) sequences."
            )
        self.build_weights(input_shape)

    def build_weights(self, input_shape):
        raise NotImplementedError

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
            noise = [keras.random.uniform(ops.shape(s), dtype=s.dtype, seed=self.seed_generator) for s in old_states]
        return [
            ops.where(u < self.zoneout, old, new) for u, old, new in zip(noise, old_states, new_states)
        ]

    def get_config(self):
        config = {
            self.size_argument: self.units,
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


class LayerNormCell(RecurrentCell):
    """Base of the cells with optional layer normalisation (Ba et al. 2016)
    of their projections: each U-wide gate block of a projection `v` `(...,
    k*U)` is normalised over its units with its own gain, `γ ⊙ LN(v)`, the
    bias serving as the shift. The gains are `<name>_norm_gamma` `(k*U,)`.

    Combine before the cell's other bases: `class C(LayerNormCell, GatedCell)`.
    """

    def __init__(self, units, layer_norm=False, norm_epsilon=1e-3, **kwargs):
        super().__init__(units, **kwargs)
        self.layer_norm = check_bool("layer_norm", layer_norm)
        self.norm_epsilon = check_positive_float("norm_epsilon", norm_epsilon)

    def add_norm_gains(self, **widths):
        """One `<name>_norm_gamma` weight of ones per `name=width`."""
        for name, width in widths.items():
            gamma = self.add_weight(shape=(width,), name=f"{name}_norm_gamma", initializer="ones")
            setattr(self, f"{name}_norm_gamma", gamma)

    def normalize_blocks(self, values, gamma):
        """`gamma ⊙ LN` of each U-wide block of `values` `(..., k*U)`."""
        shape = ops.shape(values)
        blocks = ops.reshape(values, (*shape[:-1], values.shape[-1] // self.units, self.units))
        return ops.reshape(normalize(blocks, self.norm_epsilon), shape) * gamma

    def get_config(self):
        return {**super().get_config(), "layer_norm": self.layer_norm, "norm_epsilon": self.norm_epsilon}
