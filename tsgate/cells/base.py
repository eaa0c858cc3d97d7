"""What every tsgate cell shares: argument checks, weights, dropout masks, config."""

import keras
from keras import activations, constraints, initializers, regularizers

# Keras' own mixin: `keras.layers.RNN` recognises it (isinstance) and draws the
# dropout masks once per sequence before the loop, which the JAX backend needs.
# Keras does not export it under `keras.layers`, so it is imported from its module.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, "
            f"expected a positive integer, got {value!r}."
        )
    return value


def check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, "
            f"expected a float in [0, 1), got {value!r}."
        )
    return float(value)


def check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected True or False, "
            f"got {value!r}."
        )
    return value


def check_step_input_shape(cell_name, input_shape):
    """A cell steps over `(batch, features)` with a known feature size."""
    if len(input_shape) != 2 or input_shape[-1] is None:
        raise ValueError(
            f"{cell_name} expects step inputs of shape (batch, features) with a known "
            f"number of features, got shape {tuple(input_shape)}. Wrap the cell in "
            "`keras.layers.RNN` (or use the tsgate sequence layer) to feed "
            "(batch, timesteps, features) sequences."
        )
    return int(input_shape[-1])


class GatedCell(keras.layers.Layer, DropoutRNNCell):
    """Base of the tsgate gated cells: a fused kernel `(D, G*U)` for the input,
    a fused recurrent kernel `(U, G*U)` for the hidden state, and a bias, with the
    gate blocks side by side in the order the subclass documents.

    Subclasses set `num_gates`, `state_size`, and implement `call`. Dropout
    follows Keras: one input mask and one recurrent mask per sequence, drawn by
    `keras.layers.RNN` before the time loop, applied only when `training`.
    """

    num_gates = None

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = check_bool("use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Received an invalid value for argument `seed`, expected an int or None, got {seed!r}.")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = check_step_input_shape(type(self).__name__, input_shape)
        width = self.num_gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.make_bias_initializer(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def bias_shape(self):
        return (self.num_gates * self.units,)

    def make_bias_initializer(self):
        return self.bias_initializer

    def dropped_inputs(self, inputs, h_prev, training):
        """Applies the per-sequence dropout masks when training."""
        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and self.recurrent_dropout > 0.0:
            h_prev = h_prev * self.get_recurrent_dropout_mask(h_prev)
        return inputs, h_prev

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}
