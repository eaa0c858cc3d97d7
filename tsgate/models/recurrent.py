"""The "recurrent" builder: a stacked recurrent encoder over every lookback
step and a direct multi-horizon Dense head; and the recurrent layers every
builder makes from the Forecaster's `cell` argument."""

import math

import keras

from tsgate.cells import GRU, LSTM, SRU, MemoryGRU
from tsgate.models.layers import AddLastValue, LastValue, NonCrossingQuantiles
from tsgate.models.registry import model_inputs, register_builder
from tsgate.validation import invalid

CELLS = {"gru": GRU, "lstm": LSTM, "memory_gru": MemoryGRU, "sru": SRU}  # keyed by tsgate.choices.CELLS


def encoder_layers(cell, units, layers, dropout):
    """The recurrent stack: `layers` tsgate layers named by `cell`, or a fresh
    copy (same config, new weights) of a Keras layer passed as `cell`."""
    if isinstance(cell, keras.layers.Layer):
        return [cell.__class__.from_config(cell.get_config())]
    if cell not in CELLS:
        raise invalid("cell", f"one of {sorted(CELLS)} or a Keras layer", cell)
    return [CELLS[cell](units, dropout=dropout, return_sequences=depth < layers - 1) for depth in range(layers)]


@register_builder("recurrent")
def recurrent_model(spec, cell="gru", units=32, layers=1, dropout=0.0):
    """Stacked recurrent encoder over past target and past covariates, then a
    direct multi-horizon Dense head that also sees the flattened future
    covariates and the static covariates. The head predicts the change from
    the last observed target (as NLinear does), robust to level shifts; a
    quantile head predicts the median change and non-negative steps to the
    other levels (`NonCrossingQuantiles`), so its quantiles never cross.

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
    out = keras.layers.Reshape(shape)(keras.layers.Dense(math.prod(shape))(hidden))  # (b, H, C[, Q])
    if spec.quantiles:
        out = NonCrossingQuantiles(spec.quantiles.index(0.5))(out)
    out = AddLastValue()(out, last)
    return keras.Model(inputs, out, name="tsgate_forecaster")
