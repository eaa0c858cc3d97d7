"""tsgate.scaling: the fitted affine map, its Keras layer and the raw-unit model."""

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import MinMaxScaler, PowerTransformer, StandardScaler

from tests.helpers import BACKEND
from tsgate.scaling import Affine, AffineScaler

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline runs on TensorFlow")


def test_affine_scaler_per_series_json_and_keras_layer():
    values = np.array([[1.0, 10], [3.0, 30], [5.0, 50], [100.0, 0], [300.0, 2]])
    groups = np.array(["a", "a", "a", "b", "b"], dtype=object)
    scaler = AffineScaler(MinMaxScaler(), per_series=True).fit(values, groups, ["u", "v"])
    scaled = scaler.transform(values, groups)
    np.testing.assert_allclose(scaled[:3].min(0), 0, atol=1e-6)
    np.testing.assert_allclose(scaled[:3].max(0), 1, atol=1e-6)
    restored = AffineScaler.from_json(json.loads(json.dumps(scaler.to_json())))
    np.testing.assert_allclose(restored.inverse_transform(scaled, groups), values, rtol=1e-5)
    layer = Affine(scaler.scale_, scaler.offset_)
    np.testing.assert_allclose(np.asarray(layer(values[3:].astype("float32"), np.array([1, 1]))), scaled[3:], atol=1e-6)
    with pytest.raises(ValueError, match="not affine"):
        AffineScaler(PowerTransformer()).fit(np.abs(np.random.default_rng(0).normal(size=(50, 1))) + 1)


def test_per_series_scaler_is_chosen_by_id_not_position():
    values = np.array([[1.0], [3.0], [100.0], [300.0]])
    scaler = AffineScaler(per_series=True).fit(values, np.array(["a", "a", "b", "b"], dtype=object))
    # "b" alone, first in the frame, still gets b's coefficients.
    np.testing.assert_allclose(scaler.transform(values[2:], np.array(["b", "b"], dtype=object)).ravel(), [-1, 1])
    with pytest.raises(ValueError, match=r"\['c'\] have no fitted scaler"):
        scaler.transform(values[:1], np.array(["c"], dtype=object))


def test_scaler_follows_the_estimator_contract():
    scaler = AffineScaler(StandardScaler(with_mean=False), per_series=False)
    assert clone(scaler).get_params()["method"].get_params() == {"copy": True, "with_mean": False, "with_std": True}
    with pytest.raises(NotFittedError):
        scaler.transform(np.ones((2, 1)))
    with pytest.raises(ValueError, match="argument `scaler`"):
        AffineScaler("zscore").fit(np.ones((3, 1)))


@pytest.mark.parametrize("axis,shape", [(-1, (4, 3)), (-2, (4, 3, 2))])
def test_affine_layer_inverts_itself_and_round_trips_its_config(axis, shape):
    x = np.random.default_rng(0).normal(size=(5, *shape)).astype("float32")
    scale, offset = np.array([2.0, 0.5, 4.0]), np.array([1.0, -2.0, 0.0])
    forward = Affine(scale, offset, axis=axis)
    back = Affine.from_config(Affine(scale, offset, axis=axis, inverse=True).get_config())
    np.testing.assert_allclose(np.asarray(back(forward(x))), x, atol=1e-5)
    moved = np.moveaxis(x, axis, -1)
    np.testing.assert_allclose(np.moveaxis(np.asarray(forward(x)), axis, -1), moved * scale + offset, rtol=1e-6)


def test_affine_layer_adds_each_windows_own_offset():
    # A batch as long as the time axis: keras.ops.add once added the batch's
    # offsets along time.
    x = np.zeros((3, 3, 1), "float32")
    layer = Affine(np.ones((3, 1)), np.array([[10.0], [20.0], [30.0]]))
    out = np.asarray(layer(x, np.array([0, 1, 2], "int32")))
    np.testing.assert_array_equal(out[:, :, 0], [[10, 10, 10], [20, 20, 20], [30, 30, 30]])


def test_static_covariates_are_standardized_over_the_training_series():
    static = np.array([[1000.0, 5.0], [3000.0, 5.0]])
    scaler = AffineScaler("minmax").fit(np.arange(10.0)[:, None], static=static)
    np.testing.assert_allclose(scaler.transform_static(static), [[-1, 0], [1, 0]])  # a constant column is centred
    restored = AffineScaler.from_json(json.loads(json.dumps(scaler.to_json())))
    np.testing.assert_allclose(restored.transform_static(np.array([[2000.0, 6.0]])), [[0, 1]])
    # Files written before static covariates were scaled load with them unscaled, as they were trained.
    older = {key: value for key, value in scaler.to_json().items() if not key.startswith("static")}
    assert AffineScaler.from_json(older).transform_static(static) is static


def test_raw_unit_model_scales_static_covariates_as_the_scaler_does():
    import keras

    from tsgate.layout import Layout
    from tsgate.raw_model import raw_unit_model

    layout = Layout(("y",), static=("s",))
    inputs = {"past_target": keras.Input((4, 1), name="past_target"), "static": keras.Input((1,), name="static")}
    # A "model" whose forecast is its static input: the raw-unit model must feed it the scaled value.
    out = keras.layers.Reshape((2, 1))(keras.layers.Concatenate()([inputs["static"], inputs["static"]]))
    model = keras.Model(inputs, out)
    scaler = AffineScaler().fit(np.array([[0.0], [2.0]]), static=np.array([[100.0], [300.0]]))
    raw = raw_unit_model(model, layout, scaler)
    forecast = raw({"past_target": np.zeros((2, 4, 1), "float32"), "static": np.array([[100.0], [300.0]], "float32")})
    expected = scaler.inverse_transform(scaler.transform_static(np.array([[100.0], [300.0]])))  # [-1, 1] in y's units
    np.testing.assert_allclose(np.asarray(forecast["forecast"])[:, :, 0], np.repeat(expected, 2, axis=1), rtol=1e-6)


def test_raw_unit_model_scales_in_float32_under_mixed_precision():
    import keras

    from tsgate.layout import Layout
    from tsgate.raw_model import raw_unit_model

    scaler = AffineScaler().fit(np.array([[1000.0], [1002.0]]))  # mean 1001, std 1
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        past = keras.Input((4, 1), name="past_target")
        identity = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)
        model = keras.Model({"past_target": past}, identity(past[:, -2:]))
        raw = raw_unit_model(model, Layout(("y",)), scaler)
        restored = keras.Model.from_config(raw.get_config())
        forecast = np.asarray(raw({"past_target": np.full((1, 4, 1), 1000.37, "float32")})["forecast"])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert [layer.dtype_policy.name for layer in restored.layers if isinstance(layer, Affine)] == ["float32"] * 2
    assert forecast.dtype == np.float32
    # Scaled to -0.63 in float32 (bfloat16 would have read 1000.37 as 1000, i.e. -1): the identity
    # "model" keeps it, up to bfloat16's relative 2**-8 on the scaled value.
    np.testing.assert_allclose(forecast, 1000.37, atol=0.01)


def test_scaler_failures_name_the_scaler_or_column():
    from sklearn.preprocessing import FunctionTransformer

    with pytest.raises(ValueError, match="argument `scaler`, expected a transformer instance"):
        AffineScaler(StandardScaler).fit(np.ones((3, 1)))
    flat = FunctionTransformer(lambda x: x * [1.0, 0.0], inverse_func=lambda x: x, check_inverse=False)
    with pytest.raises(ValueError, match="Column 'v' has zero or non-finite scale"):
        AffineScaler(flat).fit(np.arange(6.0).reshape(3, 2), feature_names=["u", "v"])
    flipped = FunctionTransformer(np.negative, inverse_func=np.negative)  # would flip the quantiles' order
    with pytest.raises(ValueError, match="reverses column 'u'.*increasing map"):
        AffineScaler(flipped).fit(np.arange(6.0).reshape(3, 2), feature_names=["u", "v"])

    class Broken(StandardScaler):
        def fit(self, X, y=None):
            raise RuntimeError("no")

    with pytest.raises(ValueError, match="failed on the training rows: no"):
        AffineScaler(Broken()).fit(np.ones((3, 1)))
