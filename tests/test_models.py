"""tsgate.models and tsgate.keras_compat: builders, the forecast head, losses."""

import keras
import numpy as np
import pytest

from tsgate.keras_compat import broadcast_add
from tsgate.layout import ModelSpec
from tsgate.models import BUILDERS, PinballLoss


def test_broadcast_add_adds_along_the_batch_axis():
    x = np.array([[[1.0], [2.0]], [[3.0], [4.0]]], "float32")
    y = np.array([[[10.0]], [[20.0]]], "float32")
    np.testing.assert_array_equal(np.asarray(broadcast_add(x, y)), x + y)


@pytest.mark.parametrize("quantiles", [None, (0.1, 0.5, 0.9)])
def test_each_window_gets_its_own_last_value_back(quantiles):
    # Batch 3 = horizon 3 = 3 quantiles: the shapes where keras.ops.add broadcasts wrongly.
    spec = ModelSpec(lookback=4, horizon=3, n_target=1, quantiles=quantiles)
    model = BUILDERS["recurrent"](spec, units=2)
    past = np.stack([np.full((4, 1), level, "float32") for level in (10.0, 20.0, 30.0)])
    together = np.asarray(model(past))
    alone = np.concatenate([np.asarray(model(past[k : k + 1])) for k in range(3)])
    np.testing.assert_allclose(together, alone, rtol=1e-6)
    assert together.shape == (3, *spec.output_shape())


def test_builder_uses_a_fresh_copy_of_a_layer_given_as_cell():
    import tsgate

    template = tsgate.LSTM(3)
    spec = ModelSpec(lookback=5, horizon=2, n_target=1)
    first, second = BUILDERS["recurrent"](spec, cell=template), BUILDERS["recurrent"](spec, cell=template)
    assert not template.built
    encoders = [m.get_layer(index=3) for m in (first, second)]
    assert all(isinstance(e, tsgate.LSTM) for e in encoders) and encoders[0] is not encoders[1]


def test_pinball_loss_is_the_quantile_loss():
    loss = PinballLoss([0.1, 0.9])
    y_true = np.zeros((1, 1), "float32")
    y_pred = np.array([[[1.0, 1.0]]], "float32")  # over-forecast by 1 at both levels
    assert float(loss(y_true, y_pred)) == pytest.approx((0.9 + 0.1) / 2)
    assert PinballLoss.from_config(loss.get_config()).quantiles == [0.1, 0.9]
    assert keras.saving.get_registered_object("tsgate>PinballLoss") is PinballLoss
