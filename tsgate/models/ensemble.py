"""Ensembles: `members` models of one configuration, each initialised from
its own draw of the seed, averaged inside one Keras model, so that
`predict`, the raw-unit model, the SavedModel and TF Lite serve the
ensemble as one graph:

    ŷ = (1/M) Σ_m f_m(x)          (b, H, C) or (b, H, C, Q)

The members train independently in that one graph: in training, `MemberMean`
stacks their forecasts along the batch axis instead, `(M·b, H, C[, Q])`,
and `tsgate.training.MaskedLoss` scores each against the same targets, so
the loss is the mean of the members' own losses and each member's gradient
is its own. Trained on the loss of ŷ instead, members learn to correct one
another and lose the diversity that makes averaging pay (Webb et al. 2020,
"To Ensemble or Not Ensemble"). Validation (and early stopping) sees ŷ.

Quantiles stay sorted: each member's are (`non_crossing`), and a sum of
sorted vectors scaled by 1/M is sorted, rounding included (it is monotone).
"""

import keras
from keras import ops

from tsgate.models.registry import model_inputs


@keras.saving.register_keras_serializable(package="tsgate")
class MemberMean(keras.layers.Layer):
    """The mean of M member forecasts (a list of equal-shaped tensors), in
    float32; in training, the forecasts stacked along the batch axis
    (`(M·b, ...)`: each scored on its own, see the module)."""

    def __init__(self, **kwargs):
        super().__init__(autocast=False, **kwargs)

    def call(self, forecasts, training=False):
        forecasts = [ops.cast(f, "float32") for f in forecasts]
        if training:
            return ops.concatenate(forecasts, axis=0)
        total = forecasts[0]
        for forecast in forecasts[1:]:
            total = ops.add(total, forecast)
        return ops.divide(total, float(len(forecasts)))

    def compute_output_shape(self, shapes):
        return shapes[0]


def ensemble(spec, build, members):
    """One Keras model over `spec`'s inputs averaging `members` models made
    by `build()` (`build` itself when `members` is 1); member m is the
    sub-model "member_m", with its own weights."""
    if members == 1:
        return build()
    inputs = model_inputs(spec)
    forecasts = []
    for m in range(members):
        part = build()
        forecasts.append(keras.Model(part.input, part.output, name=f"member_{m}")(inputs))
    return keras.Model(inputs, MemberMean(name="member_mean")(forecasts), name="tsgate_ensemble")


