"""Forecasting models built from tsgate cells: pluggable builders that take
a `tsgate.layout.ModelSpec` and return a Keras model over its named inputs.

Inputs (whichever the data has): "past_target" `(b, lookback, n_target)`,
"past_covariates" `(b, lookback, n_past)`, "future_covariates"
`(b, horizon, n_future)`, "static" `(b, n_static)`. Output `(b, horizon,
n_target)`, or `(b, horizon, n_target, n_quantiles)` with quantiles, which
never cross (`non_crossing`: the median plus cumulative non-negative steps).

Builders: "recurrent" (`tsgate.models.recurrent`, a recurrent encoder over
every step) and "segment" (`tsgate.models.segment`, SegRNN-style); any of
them as an ensemble averaged in one model (`tsgate.models.ensemble`).
"""

from tsgate.models.ensemble import MemberMean, ensemble
from tsgate.models.layers import AddLastValue, LastValue, NonCrossingQuantiles, non_crossing
from tsgate.models.losses import POINT_LOSSES, PinballLoss, training_loss
from tsgate.models.recurrent import CELLS, recurrent_model
from tsgate.models.registry import BUILDERS, model_inputs, register_builder
from tsgate.models.segment import SegmentForecast, segment_model

__all__ = [
    "AddLastValue", "BUILDERS", "CELLS", "LastValue", "MemberMean", "NonCrossingQuantiles", "POINT_LOSSES", "PinballLoss",
    "SegmentForecast", "ensemble", "model_inputs", "non_crossing", "recurrent_model", "register_builder", "segment_model",
    "training_loss",
]
