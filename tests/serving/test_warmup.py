"""TF Serving warm-up records in every export (`tsgate.serving.warmup`): one
request per signature at batch 1 and 64, read back with tensorflow-serving-api's
protos, each served by its signature in a fresh process without tsgate."""

import numpy as np
import pytest

from tests.helpers import BACKEND, two_series
from tsgate import Forecaster, serving
from tsgate.serving.warmup import BATCHES

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="SavedModel export needs TensorFlow")


def serve_each(path, requests):
    for signature, inputs in requests:
        outputs = serving.serve_in_fresh_process(path, inputs, signature)
        assert all(len(value) == len(next(iter(inputs.values()))) for value in outputs.values()), signature


def test_a_forecaster_export_warms_each_signature_at_each_batch(tmp_path):
    df = two_series()
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, series_column="site", past_covariates=["x"],
                            static_covariates=["elevation"], scale_per_series=True, target_transform="log_return")
    forecaster.fit(df.assign(y=df["y"].abs() + 1), epochs=1, verbose=0)
    path = forecaster.export(str(tmp_path), version=1, xla=True)
    requests = serving.read_warmup_requests(path)
    assert [(signature, len(inputs["past_target"])) for signature, inputs in requests] == \
        [(name, batch) for name in ("serving_default", "serving_xla") for batch in BATCHES]
    signature_inputs, _ = forecaster.serving_inputs(df.assign(y=df["y"].abs() + 1))
    for _, inputs in requests:
        assert set(inputs) == set(signature_inputs)
        assert all(value.shape[1:] == signature_inputs[name].shape[1:] and value.dtype == signature_inputs[name].dtype
                   for name, value in inputs.items())
    serve_each(path, requests[-1:])  # the served graph's checks (finite, limits, series rows) pass


def test_keras_model_and_streaming_exports_carry_warmup_records(tmp_path):
    import keras

    import tsgate

    model = keras.Sequential([keras.Input((None, 3)), tsgate.GRU(4, return_sequences=True), keras.layers.Dense(1)])
    for path in (serving.export_saved_model(model, str(tmp_path / "keras" / "1")),
                 serving.export_streaming(model, str(tmp_path / "stream" / "1"))):
        requests = serving.read_warmup_requests(path)
        signatures = sorted({signature for signature, _ in requests})
        assert "serving_default" in signatures  # and Keras' "serve", when Keras wrote the export
        assert [(s, len(next(iter(inputs.values())))) for s, inputs in requests] == \
            [(s, batch) for s in dict.fromkeys(s for s, _ in requests) for batch in BATCHES]
        assert all(np.isfinite(value).all() for _, inputs in requests for value in inputs.values())
        serve_each(path, requests[-1:])
