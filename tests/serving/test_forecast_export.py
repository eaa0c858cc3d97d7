"""Forecaster export: a raw-unit SavedModel that TensorFlow alone serves, and
the TF Serving request and response forms."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, two_series
from tsgate import Forecaster, serving
from tsgate.serving import atomic

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="SavedModel export needs TensorFlow")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    df = two_series()
    forecaster = Forecaster(
        "y", lookback=24, horizon=6, units=8, series_column="site", past_covariates=["x"],
        static_covariates=["elevation"], calendar=["hour"], quantiles=(0.1, 0.5, 0.9),
    )
    forecaster.fit(df, epochs=2, verbose=0)
    path = forecaster.export(tmp_path_factory.mktemp("models"), version=3, xla=True)
    return forecaster, df, path


def test_served_raw_units_match_predict(exported):
    forecaster, df, path = exported
    assert os.path.basename(path) == "3"
    assert os.listdir(os.path.dirname(path)) == ["3"]  # no staging debris where TF Serving polls
    inputs, index = forecaster.serving_inputs(df)
    assert set(inputs) == {"past_target", "past_covariates", "future_covariates", "static"}
    served = serving.serve_in_fresh_process(path, inputs)
    expected = forecaster.predict(df)
    np.testing.assert_allclose(served["forecast"][:, :, 0].ravel(), expected["y"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(served["quantiles"][:, :, 0, 2].ravel(), expected["y_q0.9"], rtol=1e-4, atol=1e-4)
    xla = serving.serve_in_fresh_process(path, inputs, signature="serving_xla")
    np.testing.assert_allclose(xla["forecast"], served["forecast"], rtol=1e-4, atol=1e-4)
    assert not any(op.startswith("CudnnRNN") for op in serving.saved_model_op_types(path))


def test_an_unrolled_export_serves_what_predict_computes_through_the_fused_kernel(tmp_path):
    """unroll=True traces serving_default with the GRU unrolled (no loop op
    in its graph); the model's layers are left as they were."""
    from tsgate.cells.sequence import SequenceLayer

    df = two_series()
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, series_column="site", seed=0)
    forecaster.fit(df, epochs=1, verbose=0)
    looped = serving.saved_model_op_types(forecaster.export(str(tmp_path / "looped"), version=1))
    path = forecaster.export(str(tmp_path / "unrolled"), version=1, unroll=True)
    ops = serving.saved_model_op_types(path)
    assert {"While", "StatelessWhile"} & looped and not {"While", "StatelessWhile"} & ops
    assert not any(op.startswith("CudnnRNN") for op in ops)
    assert all(not layer.unroll for layer in forecaster.model_._flatten_layers() if isinstance(layer, SequenceLayer))
    inputs, _ = forecaster.serving_inputs(df)
    served = serving.serve_in_fresh_process(path, inputs)
    np.testing.assert_allclose(served["forecast"][:, :, 0].ravel(), forecaster.predict(df)["y"], rtol=1e-4, atol=1e-4)


def test_metadata_travels_with_the_model(exported):
    forecaster, _, path = exported
    with open(os.path.join(path, "assets", "tsgate.json")) as f:
        metadata = json.load(f)
    assert metadata["horizon"] == 6 and metadata["lookback"] == 24 and metadata["freq"] == "h"
    assert metadata["inputs"]["future_covariates"] == ["hour_sin", "hour_cos"]
    assert metadata["scaler"]["scale"] == forecaster.scaler_.to_json()["scale"]
    served = serving.serve_in_fresh_process(path, {}, signature="metadata")
    assert json.loads(served["json"].item()) == metadata


def test_saved_model_cli_lists_the_signature(exported):
    _, _, path = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run(
        [cli, "show", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default"],
        capture_output=True, text=True,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    for text in ("inputs['past_target']", "shape: (-1, 24, 1)", "inputs['future_covariates']", "shape: (-1, 6, 2)",
                 "outputs['forecast']", "shape: (-1, 6, 1)", "outputs['quantiles']", "shape: (-1, 6, 1, 3)",
                 "dtype: DT_FLOAT"):
        assert text in shown.stdout


def test_predict_request_proto_builds_for_the_signature(exported):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    forecaster, df, path = exported
    inputs, _ = forecaster.serving_inputs(df)
    signature = tf.saved_model.load(path).signatures["serving_default"]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "forecaster"
    request.model_spec.signature_name = "serving_default"
    for name, spec in signature.structured_input_signature[1].items():
        assert spec.shape[1:] == inputs[name].shape[1:]
        request.inputs[name].CopyFrom(tf.make_tensor_proto(inputs[name], dtype=spec.dtype))
    decoded = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    np.testing.assert_array_equal(tf.make_ndarray(decoded.inputs["past_target"]), inputs["past_target"])


@pytest.mark.parametrize("form", ["instances", "inputs"])
def test_rest_bodies_round_trip(exported, form):
    forecaster, df, path = exported
    inputs, index = forecaster.serving_inputs(df)
    body = json.loads(json.dumps(serving.request_body(inputs, form)))
    if form == "instances":
        decoded = {name: np.asarray([row[name] for row in body["instances"]], "float32") for name in inputs}
    else:
        decoded = {name: np.asarray(value, "float32") for name, value in body["inputs"].items()}
    for name in inputs:
        np.testing.assert_array_equal(decoded[name], inputs[name])
    served = serving.serve_in_fresh_process(path, decoded)
    response = (
        {"predictions": [{k: v[i].tolist() for k, v in served.items()} for i in range(len(index) // 6)]}
        if form == "instances"
        else {"outputs": {k: v.tolist() for k, v in served.items()}}
    )
    with open(os.path.join(path, "assets", "tsgate.json")) as f:
        frame = serving.response_frame(json.loads(json.dumps(response)), index, json.load(f))
    pd.testing.assert_frame_equal(frame, forecaster.predict(df), rtol=1e-4, atol=1e-4, check_dtype=False)


def bad_inputs(inputs):
    """{case: (inputs with one mistake, the error it must give)} for the `exported` forecaster."""
    nan, early_inf = ({name: value.copy() for name, value in inputs.items()} for _ in range(2))
    nan["past_target"][1, 5, 0] = np.nan
    early_inf["past_covariates"][0, 0, 0] = np.inf  # once scaled and fed to the GRU, a finite forecast
    return {
        "nan": (nan, "Input `past_target` holds NaN or inf"),
        "early inf": (early_inf, "Input `past_covariates` holds NaN or inf"),
        "batch": ({**inputs, "static": inputs["static"][:1]}, "Inputs `future_covariates` and `static` have different batch sizes"),
        "lookback": ({**inputs, "past_target": inputs["past_target"][:, :5]}, "Input `past_target` needs shape (batch, 24, 1)"),
        "rank": ({**inputs, "future_covariates": inputs["future_covariates"][..., 0]},
                 "Input `future_covariates` needs shape (batch, 6, 2)"),
    }


@pytest.mark.parametrize("signature", ["serving_default", "serving_xla"])
def test_signatures_refuse_bad_inputs_naming_them(exported, signature):
    import re

    import tensorflow as tf

    forecaster, df, path = exported
    inputs, _ = forecaster.serving_inputs(df)
    serve = tf.saved_model.load(path).signatures[signature]
    for case, (bad, message) in bad_inputs(inputs).items():
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
            serve(**{name: tf.constant(value) for name, value in bad.items()})
    ops = serving.saved_model_op_types(path)
    assert {"Assert", "CheckNumerics"} <= ops and not any(op.startswith("CudnnRNN") for op in ops)


def test_tf_serving_status_of_a_refused_request(exported):
    forecaster, df, path = exported
    inputs, _ = forecaster.serving_inputs(df)
    bad, message = bad_inputs(inputs)["nan"]
    with pytest.raises(serving.ServingError, match="INVALID_ARGUMENT") as refused:  # in a process without tsgate
        serving.serve_in_fresh_process(path, bad)
    assert refused.value.code == "INVALID_ARGUMENT" and message in refused.value.message


def test_a_second_export_to_the_same_version_is_refused(exported):
    forecaster, _, path = exported
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        before = f.read()
    with pytest.raises(ValueError, match="already exists; nothing was overwritten"):
        forecaster.export(os.path.dirname(path), version=3)
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        assert f.read() == before
    for version in ("abc", "0", "007"):
        with pytest.raises(ValueError, match="must end in its version, a positive integer"):
            serving.export_forecast(forecaster.raw_model_, os.path.join(os.path.dirname(path), version), {})


def test_interrupted_export_leaves_no_version(exported, tmp_path, monkeypatch):
    forecaster, _, _ = exported

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "check_portable", interrupted)
    with pytest.raises(KeyboardInterrupt):
        forecaster.export(tmp_path, version=1)
    assert os.listdir(tmp_path) == []


def test_per_series_scaling_exports_with_a_series_index(tmp_path):
    df = two_series()
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site", scale_per_series=True)
    forecaster.fit(df, epochs=1, verbose=0)
    inputs, _ = forecaster.serving_inputs(df[df.site == "b"])
    np.testing.assert_array_equal(inputs["series_index"], [1])  # b's row of the fitted scaler
    path = forecaster.export(tmp_path, version=1)
    served = serving.serve_in_fresh_process(path, inputs)
    np.testing.assert_allclose(served["forecast"][0, :, 0], forecaster.predict(df).loc["b", "y"], rtol=1e-4, atol=1e-4)
    with open(os.path.join(path, "assets", "tsgate.json")) as f:
        assert json.load(f)["scaler"]["groups"] == ["a", "b"]
    with pytest.raises(ValueError, match="argument `version`"):
        forecaster.export(tmp_path, version="abc")
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    for rows, message in (([2], "Input `series_index` holds a row >= 2"), ([-1], "holds a negative row")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):  # XLA would clamp the gather
            serve(**{**{k: tf.constant(v) for k, v in inputs.items()}, "series_index": tf.constant(rows, tf.int32)})


def test_streaming_in_chunks_equals_the_whole_sequence(tmp_path):
    import keras
    import tensorflow as tf

    import tsgate
    from tests.helpers import randomize

    model = keras.Sequential([
        keras.Input((None, 3)),
        tsgate.GRU(5, return_sequences=True),
        tsgate.LSTM(4, return_sequences=True, peephole=True),
        keras.layers.Dense(2),
    ])
    randomize(model)
    x = np.random.default_rng(0).normal(size=(2, 12, 3)).astype("float32")
    path = serving.export_streaming(model, tmp_path / "1")
    with open(os.path.join(path, "assets", "tsgate.json")) as f:
        state_size = json.load(f)["state_size"]
    assert state_size == 5 + 4 + 4
    serve = tf.saved_model.load(path).signatures["serving_default"]
    state, outputs = np.zeros((2, state_size), "float32"), []
    for chunk in (x[:, :4], x[:, 4:9], x[:, 9:]):
        result = serve(inputs=tf.constant(chunk), state=tf.constant(state))
        outputs.append(result["outputs"].numpy())
        state = result["state"].numpy()
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), model(x), atol=1e-5)
    state[1, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="Input `state` holds NaN or inf"):
        serve(inputs=tf.constant(x[:, :4]), state=tf.constant(state))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Inputs `inputs` and `state` have different batch"):
        serve(inputs=tf.constant(x[:1, :4]), state=tf.constant(np.zeros((2, state_size), "float32")))
    with pytest.raises(ValueError, match="return_sequences=True"):
        serving.export_streaming(keras.Sequential([keras.Input((None, 3)), tsgate.GRU(2)]), tmp_path / "2")


def test_tflite_matches_predict(exported, tmp_path):
    import tensorflow as tf

    forecaster, df, _ = exported
    path = forecaster.export_tflite(str(tmp_path / "forecaster.tflite"))
    runner = tf.lite.Interpreter(model_path=path).get_signature_runner()
    inputs, _ = forecaster.serving_inputs(df)
    expected = forecaster.predict(df)["y"].to_numpy().reshape(len(inputs["past_target"]), -1)
    for i, row in enumerate(expected):
        out = runner(**{name: value[i : i + 1] for name, value in inputs.items()})
        np.testing.assert_allclose(out["forecast"].ravel(), row, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_segment_builder_exports_and_serves(cell, tmp_path):
    import tensorflow as tf

    df = two_series().assign(z=lambda d: d["x"].cumsum())
    forecaster = Forecaster(
        ["y", "z"], lookback=40, horizon=10, cell=cell, units=8, series_column="site", past_covariates=["x"],
        static_covariates=["elevation"], calendar=["hour"], quantiles=(0.1, 0.5, 0.9), builder="segment",
        builder_options={"segment_length": 8, "linear": True},
    )
    forecaster.fit(df, epochs=1, verbose=0)
    inputs, _ = forecaster.serving_inputs(df)
    expected = forecaster.predict(df)
    path = forecaster.export(tmp_path / "models", version=1)
    served = serving.serve_in_fresh_process(path, inputs)
    np.testing.assert_allclose(served["forecast"][:, :, 1].ravel(), expected["z"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(served["quantiles"][:, :, 0, 0].ravel(), expected["y_q0.1"], rtol=1e-4, atol=1e-4)
    runner = tf.lite.Interpreter(model_path=forecaster.export_tflite(str(tmp_path / "f.tflite"))).get_signature_runner()
    tflite = runner(**{name: value[:1] for name, value in inputs.items()})
    np.testing.assert_allclose(tflite["forecast"][0], served["forecast"][0], rtol=1e-4, atol=1e-4)


def test_transforms_categories_and_holidays_serve_without_tsgate(tmp_path):
    """log1p, non_negative, categorical past and future covariates and a
    holiday calendar: the fresh-process SavedModel and TF Lite give predict's
    numbers, and the metadata tells a client how to build the inputs."""
    import tensorflow as tf
    from pandas.tseries.holiday import USFederalHolidayCalendar

    rng = np.random.default_rng(0)
    index = pd.date_range("2024-06-20", periods=360, freq="h", name="time")
    df = pd.DataFrame({"y": np.exp(np.arange(360) / 90) * rng.uniform(0.8, 1.2, 360) - 0.5,
                       "wind": rng.choice(["N", "S"], 360), "promo": rng.integers(0, 2, 360)}, index=index)
    train, future = df.iloc[:-6], df.iloc[-6:]
    forecaster = Forecaster("y", lookback=24, horizon=6, units=8, past_covariates=["wind"], future_covariates=["promo"],
                            categorical=["wind", "promo"], calendar=["hour", "weekofyear", "holiday"],
                            holidays=USFederalHolidayCalendar(), target_transform="log1p", non_negative=True,
                            quantiles=(0.1, 0.5, 0.9))
    forecaster.fit(train, epochs=2, verbose=0)
    expected = forecaster.predict(train, future=future)
    inputs, _ = forecaster.serving_inputs(train, future=future)
    path = forecaster.export(tmp_path / "models", version=1)
    served = serving.serve_in_fresh_process(path, inputs)
    np.testing.assert_allclose(served["forecast"][0, :, 0], expected["y"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(served["quantiles"][0, :, 0, 0], expected["y_q0.1"], rtol=1e-4, atol=1e-4)
    assert (served["quantiles"] >= 0).all()
    runner = tf.lite.Interpreter(model_path=forecaster.export_tflite(str(tmp_path / "f.tflite"))).get_signature_runner()
    np.testing.assert_allclose(runner(**inputs)["forecast"][0, :, 0], expected["y"], rtol=1e-4, atol=1e-4)
    with open(os.path.join(path, "assets", "tsgate.json")) as f:
        metadata = json.load(f)
    assert metadata["inputs"]["past_covariates"] == ["wind_N", "wind_S"]
    assert metadata["inputs"]["future_covariates"] == ["promo_0", "promo_1", "hour_sin", "hour_cos", "weekofyear_sin",
                                                       "weekofyear_cos", "holiday"]
    assert metadata["categories"]["categories"] == {"wind": ["N", "S"], "promo": [0, 1]}
    assert metadata["target_transform"] == {"method": "log1p", "lambdas": None} and metadata["non_negative"]
    assert metadata["calendar"]["weekofyear"] == {"columns": ["weekofyear_sin", "weekofyear_cos"], "period": 53}
    holidays = metadata["calendar"]["holiday"]
    assert holidays["calendar"] == "USFederalHolidayCalendar" and "2024-07-04" in holidays["dates"]
    assert "2034-12-25" in holidays["dates"]  # ten years ahead of the training data


def test_a_huge_finite_input_is_refused_by_the_served_graph_naming_it(tmp_path):
    import tensorflow as tf

    df = two_series()
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site", future_covariates=["x"],
                            static_covariates=["elevation"], seed=1).fit(df, epochs=1, verbose=0)
    future = pd.concat([pd.DataFrame({"site": site, "x": 0.0}, index=pd.date_range(
        df[df.site == site].index[-1] + pd.Timedelta(hours=1), periods=6, freq="h", name="time")) for site in "ab"])
    inputs, _ = forecaster.serving_inputs(df, future=future)
    serve = tf.saved_model.load(forecaster.export(tmp_path, version=1)).signatures["serving_default"]
    for name in ("future_covariates", "static"):
        huge = inputs[name].copy()
        huge.flat[0] = 3e38
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"Input `{name}` holds a value beyond"):
            serve(**{key: tf.constant(value) for key, value in {**inputs, name: huge}.items()})
    served = serve(**{key: tf.constant(value) for key, value in inputs.items()})  # the same inputs, as they are
    np.testing.assert_allclose(served["forecast"].numpy()[:, :, 0].ravel(),
                               forecaster.predict(df, future=future)["y"].to_numpy(), rtol=1e-4, atol=1e-4)


def test_each_column_has_its_own_input_limit_so_a_large_scale_column_serves(tmp_path):
    import tensorflow as tf

    df = two_series().assign(volume=lambda d: 1e8 + 1e6 * np.random.default_rng(0).normal(size=len(d)),
                             rate=lambda d: 1e-8 * np.random.default_rng(1).normal(size=len(d)))
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site", seed=1,
                            past_covariates=["volume", "rate"]).fit(df, epochs=1, verbose=0)
    limits = forecaster.preprocessor_.input_limits()["past_covariates"]
    assert limits[0] > 1e9 > limits[1]  # volume's scale is 1e-6, rate's 1e8: one limit for both would be 1e7
    inputs, _ = forecaster.serving_inputs(df)
    serve = tf.saved_model.load(forecaster.export(tmp_path, version=1)).signatures["serving_default"]
    served = serve(**{key: tf.constant(value) for key, value in inputs.items()})  # volumes of 1e8 serve
    np.testing.assert_allclose(served["forecast"].numpy()[:, :, 0].ravel(), forecaster.predict(df)["y"].to_numpy(),
                               rtol=1e-4, atol=1e-4)
