"""Forecaster(dtype_policy="mixed_bfloat16"): the model computes in bfloat16
with float32 weights, built and loaded under that policy without changing the
global one; saved with the forecaster; raw-unit inputs and forecasts stay
float32 in the export."""

import json
import os
import threading

import keras
import numpy as np
import pytest

from tests.helpers import BACKEND, hourly, two_series
from tsgate import Forecaster, serving
from tsgate.scaling import Affine

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline trains with TensorFlow")


def _policies(model):
    """{layer name: dtype policy name} of every layer, nested ones included."""
    return {layer.name: layer.dtype_policy.name for layer in model._flatten_layers(include_self=False)}


def _policy_counts(model):
    """The sorted (layer class, dtype policy) pairs of every layer (names are numbered per process)."""
    return sorted((type(layer).__name__, layer.dtype_policy.name) for layer in model._flatten_layers(include_self=False))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A bf16 segment forecaster (level ~1000: bfloat16 alone would lose its
    decimals), saved and reloaded; and its frame."""
    df = hourly(500, level=1000.0)
    forecaster = Forecaster("y", lookback=48, horizon=12, units=16, builder="segment", past_covariates=["x"],
                            builder_options={"segment_length": 12}, learning_rate=1e-2,
                            dtype_policy="mixed_bfloat16")
    forecaster.fit(df, epochs=2, verbose=0)
    path = forecaster.save(str(tmp_path_factory.mktemp("bf16") / "f"))
    return forecaster, Forecaster.load(path), path, df


def test_the_model_computes_in_bfloat16_and_the_global_policy_is_left_alone(fitted):
    forecaster, _, _, _ = fitted
    assert keras.config.dtype_policy().name == "float32"
    policies = _policies(forecaster.model_)
    assert policies["segment_embedding"] == "mixed_bfloat16" and policies["segment_projection"] == "mixed_bfloat16"
    assert all(w.dtype == "float32" for w in forecaster.model_.weights)  # float32 master weights
    raw = forecaster.raw_model_
    assert [layer.dtype_policy.name for layer in raw.layers if isinstance(layer, Affine)] == ["float32"] * 3
    assert all(o.dtype == "float32" for o in raw.outputs)


def test_the_option_round_trips_save_and_load(fitted):
    forecaster, loaded, path, df = fitted
    assert loaded.dtype_policy == "mixed_bfloat16"
    with open(os.path.join(path, "forecaster.json")) as f:
        assert json.load(f)["config"]["dtype_policy"] == "mixed_bfloat16"
    # loaded under the saved policy: the sublayers SegmentForecast makes in __init__ are bf16 again
    assert _policy_counts(loaded.model_) == _policy_counts(forecaster.model_)
    assert _policies(loaded.model_)["segment_embedding"] == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    ours, theirs = forecaster.predict(df), loaded.predict(df)
    np.testing.assert_array_equal(theirs.to_numpy(), ours.to_numpy())
    assert np.all(np.abs(ours["y"].to_numpy() - 1000) < 20)  # raw units, level kept in float32


def test_plain_keras_load_model_restores_the_policy_of_every_layer(fitted):
    forecaster, _, path, df = fitted
    model = keras.saving.load_model(os.path.join(path, "model.keras"))  # under the global float32 policy
    computing = lambda m: [pair for pair in _policy_counts(m) if pair[0] != "InputLayer"]  # noqa: E731
    assert computing(model) == computing(forecaster.model_)
    rng = np.random.default_rng(0)
    batch = {name: rng.normal(size=(4, *i.shape[1:])).astype("float32") for name, i in forecaster.model_.input.items()}
    np.testing.assert_array_equal(model.predict(batch, verbose=0), forecaster.model_.predict(batch, verbose=0))


def test_the_bf16_export_serves_float32_raw_units(fitted, tmp_path):
    forecaster, _, _, df = fitted
    path = forecaster.export(tmp_path / "models", version=1)
    inputs, _ = forecaster.serving_inputs(df)
    served = serving.serve_in_fresh_process(path, inputs)
    assert served["forecast"].dtype == np.float32
    np.testing.assert_allclose(served["forecast"][:, :, 0].ravel(), forecaster.predict(df)["y"], rtol=1e-4)


def test_bf16_forecasts_are_close_to_float32_ones():
    """The same fit in both policies: bfloat16 inside the model changes the
    forecast by a small fraction of the series' spread, not its level."""
    df = two_series()
    kwargs = dict(lookback=24, horizon=6, units=8, series_column="site", learning_rate=1e-2, seed=3)
    forecasts = [Forecaster("y", dtype_policy=policy, **kwargs).fit(df, epochs=2, verbose=0).predict(df)["y"]
                 for policy in ("float32", "mixed_bfloat16")]
    np.testing.assert_allclose(forecasts[1], forecasts[0], atol=0.5)  # the series swing by ±3


def test_a_caller_policy_is_restored_even_when_the_build_fails():
    from tsgate.training import with_dtype_policy

    keras.config.set_dtype_policy("mixed_float16")
    try:
        with pytest.raises(RuntimeError, match="boom"):
            with_dtype_policy("mixed_bfloat16", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
        assert keras.config.dtype_policy().name == "mixed_float16"
        seen = []
        with_dtype_policy("mixed_bfloat16", lambda: seen.append(keras.config.dtype_policy().name))
        assert seen == ["mixed_bfloat16"] and keras.config.dtype_policy().name == "mixed_float16"
        other = []  # Keras' policy is per thread: another thread never sees ours
        thread = threading.Thread(target=lambda: other.append(keras.config.dtype_policy().name))
        with_dtype_policy("mixed_bfloat16", lambda: (thread.start(), thread.join()))
        assert other == ["float32"]
    finally:
        keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("bad", ["bfloat16", "mixed_float16", "float64", "", None, 16])
def test_a_bad_policy_is_refused_with_a_clear_message(bad):
    with pytest.raises(ValueError, match=r"argument `dtype_policy`, expected one of \['float32', 'mixed_bfloat16'\]"):
        Forecaster("y", lookback=12, horizon=3, dtype_policy=bad).fit(hourly(100), epochs=1, verbose=0)
