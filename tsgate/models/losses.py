"""Training losses: point losses by name, and the pinball loss of quantile heads."""

import keras

from tsgate.choices import POINT_LOSSES  # Keras knows each by the same name
from tsgate.validation import check_choice


def training_loss(name, quantiles=None):
    """The Keras loss for `name` ("mse", "mae" or "huber", on the scaled
    values); a quantile head always trains on the pinball loss."""
    check_choice("loss", name, POINT_LOSSES)
    return PinballLoss(quantiles) if quantiles else name


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
