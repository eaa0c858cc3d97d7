"""Forecasting models built from tsgate cells: pluggable builders that take
a `tsgate.layout.ModelSpec` and return a Keras model over its named inputs.

Inputs (whichever the data has): "past_target" `(b, lookback, n_target)`,
"past_covariates" `(b, lookback, n_past)`, "future_covariates"
`(b, horizon, n_future)`, "static" `(b, n_static)`. Output `(b, horizon,
n_target)`, or `(b, horizon, n_target, n_quantiles)` with quantiles.
"""

import math

import keras

from tsgate.cells import GRU, LSTM, SRU, MemoryGRU
from tsgate.keras_compat import broadcast_add
from tsgate.validation import invalid

CELLS = {"gru": GRU, "lstm": LSTM, "memory_gru": MemoryGRU, "sru": SRU}
BUILDERS = {}


def register_builder(name):
    """Registers `builder(spec, **options) -> keras.Model` under `name`; the
    options are the Forecaster's `cell`, `units`, `layers` and its `builder_options`."""

    def register(builder):
        BUILDERS[name] = builder
        return builder

    return register


def model_inputs(spec):
    """{name: keras.Input} for the inputs of `spec`."""
    return {name: keras.Input(shape, name=name) for name, shape in spec.input_shapes().items()}


def encoder_layers(cell, units, layers, dropout):
    """The recurrent stack: `layers` tsgate layers named by `cell`, or a fresh
    copy (same config, new weights) of a Keras layer passed as `cell`."""
    if isinstance(cell, keras.layers.Layer):
        return [cell.__class__.from_config(cell.get_config())]
    if cell not in CELLS:
        raise invalid("cell", f"one of {sorted(CELLS)} or a Keras layer", cell)
    return [CELLS[cell](units, dropout=dropout, return_sequences=depth < layers - 1) for depth in range(layers)]


@keras.saving.register_keras_serializable(package="tsgate")
class LastValue(keras.layers.Layer):
    """The last observed step of a `(b, time, n)` sequence, `(b, 1, n)`."""

    def call(self, sequence):
        return sequence[:, -1:, :]


@keras.saving.register_keras_serializable(package="tsgate")
class AddLastValue(keras.layers.Layer):
    """`changes + last`: the last observed value `(b, 1, n)` added back to the
    predicted changes `(b, horizon, n)` or `(b, horizon, n, q)`, per window.
    Through `broadcast_add`, never `keras.layers.Add`, whose TensorFlow path
    adds a `(b, 1, 1)` operand along the wrong axis when `b` equals the
    horizon (the forecast of one series would take another series' level)."""

    def call(self, changes, last):
        if len(changes.shape) == 4:
            last = keras.ops.expand_dims(last, -1)
        return broadcast_add(changes, last)


@register_builder("recurrent")
def recurrent_model(spec, cell="gru", units=32, layers=1, dropout=0.0):
    """Stacked recurrent encoder over past target and past covariates, then a
    direct multi-horizon Dense head that also sees the flattened future
    covariates and the static covariates. The head predicts the change from
    the last observed target (as NLinear does), robust to level shifts.

    cell: a name in `CELLS` or a Keras layer returning `(b, features)` (a
        copy of it is used as the whole encoder).
    """
    inputs = model_inputs(spec)
    past = inputs["past_target"]
    last = LastValue()(past)
    sequence = keras.layers.Subtract()([past, last])
    if "past_covariates" in inputs:
        sequence = keras.layers.Concatenate()([sequence, inputs["past_covariates"]])
    encoded = sequence
    for layer in encoder_layers(cell, units, layers, dropout):
        encoded = layer(encoded)
    features = [encoded]
    if "future_covariates" in inputs:
        features.append(keras.layers.Flatten()(inputs["future_covariates"]))
    if "static" in inputs:
        features.append(inputs["static"])
    hidden = keras.layers.Concatenate()(features) if len(features) > 1 else encoded
    shape = spec.output_shape()
    out = keras.layers.Reshape(shape)(keras.layers.Dense(math.prod(shape))(hidden))
    out = AddLastValue()(out, last)
    return keras.Model(inputs, out, name="tsgate_forecaster")


@keras.saving.register_keras_serializable(package="tsgate")
class PinballLoss(keras.losses.Loss):
    """Mean pinball (quantile) loss over the last axis of quantiles:
    `max(q (y − ŷ_q), (q − 1)(y − ŷ_q))`."""

    def __init__(self, quantiles, name="pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = [float(q) for q in quantiles]

    def call(self, y_true, y_pred):
        q = keras.ops.convert_to_tensor(self.quantiles, y_pred.dtype)
        error = keras.ops.expand_dims(y_true, -1) - y_pred
        return keras.ops.mean(keras.ops.maximum(q * error, (q - 1.0) * error), axis=-1)

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}
