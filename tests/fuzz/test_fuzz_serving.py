"""Generated bad serving inputs into the exported signatures and the REST
helpers, and malformed TF Serving responses into `response_frame`.

The signatures (`serving_default`, and `serving_xla` for the value checks)
must refuse NaN/inf anywhere, wrong shapes and ranks, wrong dtypes, batch
mismatches and out-of-range `series_index` with an InvalidArgumentError
naming the input (TF Serving's INVALID_ARGUMENT), and serve exactly the Keras
raw-unit model's numbers for every valid input. `request_body` refuses
non-finite values naming the input and position, and anything that is not an
array of real numbers; `response_frame` refuses every malformed response with
a ValueError/TypeError saying what is wrong, or returns the response's values.

Per run: 50 non-finite inputs, 60 wrong shapes, 20 wrong dtypes, 30 batch
mismatches, 20 bad series indexes, 60 garbage request values, 80 malformed
responses (320 bad inputs), plus 20 valid random inputs checked against Keras."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.fuzz import fuzz
from tests.helpers import BACKEND, json_leaves, two_series
from tsgate import Forecaster, serving

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="SavedModel export needs TensorFlow")

LOOKBACK, HORIZON = 12, 3
SPECS = {"past_target": (LOOKBACK, 1), "past_covariates": (LOOKBACK, 1), "static": (1,), "series_index": ()}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A per-series-scaled quantile forecaster exported with XLA, its loaded
    signatures and its serving inputs for the two series of `two_series`."""
    import tensorflow as tf

    df = two_series()
    forecaster = Forecaster("y", lookback=LOOKBACK, horizon=HORIZON, units=4, series_column="site",
                            past_covariates=["x"], static_covariates=["elevation"], scale_per_series=True,
                            quantiles=(0.1, 0.5, 0.9))
    forecaster.fit(df, epochs=1, verbose=0)
    path = forecaster.export(str(tmp_path_factory.mktemp("fuzz_serving")), version=1, xla=True)
    signatures = tf.saved_model.load(path).signatures
    inputs, index = forecaster.serving_inputs(df)
    with open(f"{path}/assets/tsgate.json") as f:
        metadata = json.load(f)
    return forecaster, signatures, inputs, index, metadata


def call(signature, inputs):
    import tensorflow as tf

    return {k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


def refused(signature, inputs):
    """The message of the InvalidArgumentError the signature answers `inputs` with."""
    import tensorflow as tf

    try:
        outputs = call(signature, inputs)
    except tf.errors.InvalidArgumentError as error:
        return error.message
    raise AssertionError(f"served {outputs} for bad inputs { {k: np.shape(v) for k, v in inputs.items()} }")


def positions(shape):
    return st.tuples(*(st.integers(0, n - 1) for n in shape))


@fuzz(50)
@given(data=st.data(), name=st.sampled_from(["past_target", "past_covariates", "static"]),
       value=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_non_finite_values_are_refused_naming_the_input(served, data, name, value):
    _, signatures, inputs, _, _ = served
    bad = {k: v.copy() for k, v in inputs.items()}
    where = data.draw(positions(bad[name].shape))
    bad[name][where] = value
    for signature in ("serving_default", "serving_xla"):
        assert f"Input `{name}` holds NaN or inf" in refused(signatures[signature], bad)
    with pytest.raises(ValueError, match=f"Input `{name}` holds {value} at {list(where)}".replace("[", r"\[")):
        serving.request_body(bad, data.draw(st.sampled_from(["instances", "inputs"])))


@fuzz(40)
@given(data=st.data(), name=st.sampled_from(["past_target", "past_covariates", "static"]),
       value=st.floats(1e20, 3.4e38), sign=st.sampled_from([1, -1]))
def test_huge_finite_values_are_refused_naming_the_input(served, data, name, value, sign):
    _, signatures, inputs, _, _ = served
    bad = {k: v.copy() for k, v in inputs.items()}
    bad[name][data.draw(positions(bad[name].shape))] = sign * value  # finite, but scaling it overflows
    for signature in ("serving_default", "serving_xla"):
        assert f"Input `{name}` holds a value beyond" in refused(signatures[signature], bad)


@fuzz(60)
@given(name=st.sampled_from(sorted(SPECS)), shape=st.lists(st.integers(0, 14), max_size=4))
def test_wrong_shapes_are_refused_naming_the_input(served, name, shape):
    _, signatures, inputs, _, _ = served
    assume(tuple(shape) != (2, *SPECS[name]))
    dtype = inputs[name].dtype
    bad = {**inputs, name: np.zeros(shape, dtype) if name == "series_index" else np.ones(shape, dtype)}
    assert f"`{name}`" in refused(signatures["serving_default"], bad)


@fuzz(20)
@given(name=st.sampled_from(sorted(SPECS)), dtype=st.sampled_from(["float64", "float16", "int32", "int64", "bool", "str"]))
def test_wrong_dtypes_are_refused(served, name, dtype):
    import tensorflow as tf

    _, signatures, inputs, _, _ = served
    assume(np.dtype(dtype) != inputs[name].dtype)
    bad = {**inputs, name: inputs[name].astype(dtype)}
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError)):
        call(signatures["serving_default"], bad)


@fuzz(30)
@given(batches=st.fixed_dictionaries({name: st.integers(1, 4) for name in SPECS}))
def test_batch_mismatches_are_refused_naming_the_inputs(served, batches):
    _, signatures, inputs, _, _ = served
    assume(len(set(batches.values())) > 1)
    bad = {name: np.resize(value, (batches[name], *value.shape[1:])) for name, value in inputs.items()}
    bad["series_index"] = bad["series_index"] % 2
    message = refused(signatures["serving_default"], bad)
    assert "have different batch sizes" in message
    with pytest.raises(ValueError, match="All inputs need the same batch size"):
        serving.request_body(bad)


@fuzz(20)
@given(rows=st.lists(st.integers(-2**31, 2**31 - 1), min_size=2, max_size=2))
def test_series_outside_the_scaler_are_refused(served, rows):
    _, signatures, inputs, _, _ = served
    assume(not all(0 <= r < 2 for r in rows))
    bad = {**inputs, "series_index": np.asarray(rows, "int32")}
    for signature in ("serving_default", "serving_xla"):  # XLA alone would clamp the gather: a wrong scaler
        assert "Input `series_index` holds a" in refused(signatures[signature], bad)


GARBAGE = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats() | st.text(max_size=3) | st.complex_numbers(),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=8,
)


@fuzz(60)
@given(value=GARBAGE, form=st.sampled_from(["instances", "inputs"]))
def test_request_body_refuses_garbage_naming_the_input(value, form):
    try:
        body = serving.request_body({"past_target": value}, form)
    except (ValueError, TypeError) as error:
        assert "`past_target`" in str(error) or "argument `inputs`" in str(error)
        return
    sent = np.asarray(body["inputs"]["past_target"] if form == "inputs"
                      else [row["past_target"] for row in body["instances"]])
    expected = np.asarray(value)
    assert expected.dtype.kind in "iuf" and np.isfinite(expected).all()
    # Integers stay integers; floats are what the float32 input holds (what TF Serving would make of them too).
    np.testing.assert_array_equal(sent, expected if expected.dtype.kind in "iu" else expected.astype("float32"))


@fuzz(20)
@given(batch=st.integers(1, 4), seed=st.integers(0, 2**16), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_valid_inputs_serve_the_keras_numbers(served, batch, seed, scale):
    forecaster, signatures, _, _, _ = served
    rng = np.random.default_rng(seed)
    inputs = {name: (rng.normal(size=(batch, *shape)) * scale).astype("float32") for name, shape in SPECS.items()}
    inputs["series_index"] = rng.integers(0, 2, batch).astype("int32")
    expected = {k: np.asarray(v) for k, v in forecaster.raw_model_(inputs, training=False).items()}
    outputs = call(signatures["serving_default"], inputs)
    for name in ("forecast", "quantiles"):
        np.testing.assert_allclose(outputs[name], expected[name], rtol=1e-4, atol=1e-4 * scale)
    body = json.loads(json.dumps(serving.request_body(inputs, "inputs")))
    for name, value in inputs.items():
        np.testing.assert_array_equal(np.asarray(body["inputs"][name], value.dtype), value)


def valid_response(served):
    forecaster, signatures, inputs, index, metadata = served
    outputs = call(signatures["serving_default"], inputs)
    return {"predictions": [{k: v[i].tolist() for k, v in outputs.items()} for i in range(2)]}, index, metadata


@fuzz(80)
@given(target=st.sampled_from(["response", "metadata", "index"]), pick=st.floats(0, 1, exclude_max=True),
       action=st.sampled_from(["replace", "delete"]), value=GARBAGE)
def test_malformed_responses_say_what_is_wrong(served, target, pick, action, value):
    response, index, metadata = valid_response(served)
    response, metadata = json.loads(json.dumps(response)), json.loads(json.dumps(metadata))
    if target == "index":
        index = index[: int(len(index) * pick)] if action == "delete" else value
    else:
        document = response if target == "response" else metadata
        paths = [path for path, _ in json_leaves(document)][1:]
        path = paths[int(len(paths) * pick)]
        node = document
        for key in path[:-1]:
            node = node[key]
        if action == "delete":
            del node[path[-1]]
        else:
            node[path[-1]] = value
    try:
        frame = serving.response_frame(response, index, metadata)
    except (ValueError, TypeError) as error:
        assert str(error) and not isinstance(error, (KeyError, IndexError))
        return
    outputs = serving.response_outputs(response)  # what it returned must be the response's own numbers
    assert isinstance(frame, pd.DataFrame) and np.isfinite(frame.to_numpy()).all()
    np.testing.assert_array_equal(frame[metadata["targets"][0]].to_numpy(), outputs["forecast"][:, :, 0].ravel())
