"""tsgate.models and tsgate.keras_compat: builders, the forecast head, losses;
quantile heads never cross (`non_crossing`, both builders on random weights
and adversarial inputs, the raw-unit model that `predict`, the SavedModel and
TF Lite run)."""

import keras
import numpy as np
import pytest

from tests.helpers import BACKEND, hourly, randomize
from tsgate.keras_compat import broadcast_add
from tsgate.layout import ModelSpec
from tsgate.models import BUILDERS, NonCrossingQuantiles, PinballLoss, non_crossing
from tsgate.scaling import AffineScaler


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


LEVELS = (0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.98)


def adversarial(shape, seed=0):
    """Values from −1e30 to 1e30, ties, zeros and values of every magnitude."""
    rng = np.random.default_rng(seed)
    magnitudes = 10.0 ** rng.integers(-30, 31, size=shape)
    values = rng.choice([-1.0, 1.0], size=shape) * magnitudes * rng.uniform(size=shape)
    values.flat[:: 7] = 0.0
    return values.astype("float32")


def assert_ordered(quantiles):
    """Non-decreasing along the last (level) axis, everywhere."""
    quantiles = np.asarray(quantiles)
    steps = np.diff(quantiles, axis=-1)
    assert (steps >= 0).all(), f"{int((steps < 0).sum())} crossings, the worst {steps.min()}"


@pytest.mark.parametrize("median", [0, 1, 3, 6])
def test_non_crossing_keeps_the_median_and_orders_any_raw_values(median):
    raw = adversarial((50, 4, 7))
    quantiles = np.asarray(non_crossing(raw, median))
    assert_ordered(quantiles)
    np.testing.assert_array_equal(quantiles[..., median], raw[..., median])
    assert np.isfinite(quantiles[np.abs(raw).max(axis=-1) < 1e30]).all()


def test_non_crossing_steps_are_softplus():
    raw = np.array([[-1.0, 2.0, 0.0, 3.0]], "float32")  # median at index 1
    softplus = np.log1p(np.exp(np.float64([-1.0, 0.0, 3.0])))
    expected = [2.0 - softplus[0], 2.0, 2.0 + softplus[1], 2.0 + softplus[1] + softplus[2]]
    np.testing.assert_allclose(np.asarray(non_crossing(raw, 1))[0], expected, rtol=1e-6)
    layer = NonCrossingQuantiles.from_config(NonCrossingQuantiles(1).get_config())
    assert layer.median == 1 and keras.saving.get_registered_object("tsgate>NonCrossingQuantiles") is NonCrossingQuantiles


SPECS = {
    "recurrent": ModelSpec(lookback=12, horizon=5, n_target=2, n_past=1, n_future=1, n_static=1, quantiles=LEVELS),
    "segment": ModelSpec(lookback=12, horizon=5, n_target=2, n_past=1, n_future=1, n_static=1, quantiles=LEVELS),
}


@pytest.mark.parametrize("builder,options", [
    ("recurrent", {}), ("segment", {"segment_length": 4}),
    ("segment", {"segment_length": 4, "normalization": "revin", "linear": True}),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_builders_never_cross_on_random_weights_and_adversarial_inputs(builder, options, seed):
    spec = SPECS[builder]
    model = randomize(BUILDERS[builder](spec, units=4, **options), seed=seed, scale=3.0)
    rng = np.random.default_rng(seed)
    shapes = spec.input_shapes()
    for scale in (1e-3, 1.0, 1e3):
        inputs = {name: (scale * rng.standard_cauchy((16, *shape))).astype("float32") for name, shape in shapes.items()}
        assert_ordered(model(inputs))


def test_segment_forecast_refuses_levels_without_the_median():
    import tsgate
    from tsgate.models import SegmentForecast

    with pytest.raises(ValueError, match="argument `quantiles`"):
        SegmentForecast(4, tsgate.GRU(4, return_state=True), quantiles=(0.1, 0.9))


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_every_scaler_has_a_positive_scale_so_unscaling_keeps_the_order(method):
    decreasing = np.linspace(100.0, -50.0, 40)[:, None] * [1.0, -3.0]
    scaler = AffineScaler(method).fit(decreasing)
    assert (scaler.scale_ > 0).all()
    ordered = np.sort(adversarial((10, 2, 5)) / 1e25, axis=-1)
    raw = np.asarray(scaler.inverse_transform(ordered.transpose(0, 2, 1))).transpose(0, 2, 1)
    assert_ordered(raw)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
@pytest.mark.parametrize("builder", ["recurrent", "segment"])
def test_raw_unit_forecasts_tflite_and_saved_forecasters_never_cross(builder, tmp_path):
    import tensorflow as tf

    from tsgate import Forecaster

    df = hourly(160)
    options = {"segment_length": 4} if builder == "segment" else None
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, past_covariates=["x"], quantiles=LEVELS,
                            builder=builder, builder_options=options, scaler="minmax")
    forecaster.fit(df, epochs=1, verbose=0)
    randomize(forecaster.model_, scale=3.0)  # raw_model_ runs these weights too
    columns = [f"y_q{q:g}" for q in LEVELS]
    spiky = df.assign(y=df["y"] + 1e4 * np.random.default_rng(0).standard_cauchy(len(df)))
    assert_ordered(forecaster.historical_forecasts(spiky)[columns].to_numpy())
    inputs, _ = forecaster.serving_inputs(spiky)
    runner = tf.lite.Interpreter(model_path=forecaster.export_tflite(str(tmp_path / "f.tflite"))).get_signature_runner()
    tflite = runner(**{name: value.astype("float32") for name, value in inputs.items()})
    assert_ordered(tflite["quantiles"])
    np.testing.assert_allclose(tflite["quantiles"], forecaster.raw_model_.predict(inputs, verbose=0)["quantiles"],
                               rtol=1e-4, atol=1e-3)
    loaded = Forecaster.load(forecaster.save(str(tmp_path / "saved")))  # the head's layers round-trip
    np.testing.assert_allclose(loaded.predict(spiky).to_numpy(), forecaster.predict(spiky).to_numpy(), rtol=1e-6)
