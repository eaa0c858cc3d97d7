"""The TF Serving REST helpers refuse what TF Serving would choke on or turn
into a wrong number, naming the input or output."""

import json

import numpy as np
import pandas as pd
import pytest

from tsgate import serving

METADATA = {"targets": ["y"], "quantiles": [0.1, 0.5, 0.9], "horizon": 2}


def inputs(batch=2):
    return {"past_target": np.ones((batch, 4, 1), "float32"), "series_index": np.arange(batch, dtype="int32")}


@pytest.mark.parametrize(("value", "message"), [
    (np.nan, r"Input `past_target` holds nan at \[1, 2, 0\]"),
    (-np.inf, r"Input `past_target` holds -inf at \[1, 2, 0\]"),
    (1e39, r"Input `past_target` holds 1e\+39 at \[1, 2, 0\], beyond the float32 range"),
])
def test_request_body_refuses_non_finite_values(value, message):
    bad = inputs()
    bad["past_target"] = bad["past_target"].astype("float64")
    bad["past_target"][1, 2, 0] = value
    for form in ("instances", "inputs"):
        with pytest.raises(ValueError, match=message):
            serving.request_body(bad, form)


@pytest.mark.parametrize(("value", "error", "message"), [
    ([[1.0, 2.0], [3.0]], ValueError, "Input `past_target` is not a rectangular array"),
    ([["a"]], TypeError, "Input `past_target` has dtype <U1"),
    ([[1.0, None]], TypeError, r"Input `past_target` holds None at \[0, 1\]"),
    ([[True]], TypeError, "Input `past_target` has dtype bool"),
    ([[1j]], TypeError, "Input `past_target` has dtype complex128"),
    (3.0, ValueError, "Input `past_target` needs a batch axis"),
    (np.zeros((0, 4, 1)), ValueError, "Input `past_target` has a batch of 0 rows"),
])
def test_request_body_refuses_what_is_not_an_array_of_numbers(value, error, message):
    with pytest.raises(error, match=message):
        serving.request_body({"past_target": value})


def test_request_body_checks_its_arguments_and_keeps_integer_inputs_integers():
    body = json.loads(json.dumps(serving.request_body(inputs(), "inputs")))
    assert body["inputs"]["series_index"] == [0, 1] and body["inputs"]["past_target"][0][0] == [1.0]
    with pytest.raises(ValueError, match=r"same batch size .* \{'past_target': 2, 'series_index': 3\}"):
        serving.request_body({**inputs(), "series_index": np.arange(3)})
    with pytest.raises(ValueError, match="argument `form`"):
        serving.request_body(inputs(), "rows")
    with pytest.raises(TypeError, match="argument `inputs`"):
        serving.request_body({})


def response(batch=2, form="outputs"):
    forecast = np.arange(batch * 2, dtype="float64").reshape(batch, 2, 1)
    quantiles = np.stack([forecast - 1, forecast, forecast + 1], axis=-1)
    if form == "outputs":
        return {"outputs": {"forecast": forecast.tolist(), "quantiles": quantiles.tolist()}}
    return {"predictions": [{"forecast": forecast[i].tolist(), "quantiles": quantiles[i].tolist()} for i in range(batch)]}


INDEX = pd.MultiIndex.from_product([["a", "b"], pd.date_range("2024-01-01", periods=2, freq="h")], names=["site", "time"])


@pytest.mark.parametrize("form", ["outputs", "predictions"])
def test_response_frame_of_a_well_formed_response(form):
    frame = serving.response_frame(response(form=form), INDEX, METADATA)
    assert list(frame.columns) == ["y_q0.1", "y_q0.5", "y_q0.9", "y"]
    np.testing.assert_array_equal(frame["y"], [0, 1, 2, 3])
    np.testing.assert_array_equal(frame["y_q0.9"], [1, 2, 3, 4])


def broken(change):
    body = response(form="predictions")
    change(body)
    return body


@pytest.mark.parametrize(("body", "index", "metadata", "error", "message"), [
    ({"error": "Input `past_target` holds NaN or inf"}, INDEX, METADATA, ValueError, "TF Serving refused the request"),
    ({"result": []}, INDEX, METADATA, ValueError, "expected `predictions` or `outputs`"),
    ([1, 2], INDEX, METADATA, TypeError, "response is a dict"),
    ({"predictions": []}, INDEX, METADATA, ValueError, "non-empty list"),
    (broken(lambda b: b["predictions"][1].pop("quantiles")), INDEX, METADATA, ValueError,
     r"Prediction 1 of the response has outputs \['forecast'\]"),
    (broken(lambda b: b["predictions"][1]["forecast"].pop()), INDEX, METADATA, ValueError,
     "Output `forecast` of the response is not a rectangular array"),
    (broken(lambda b: b["predictions"][0]["forecast"][0].__setitem__(0, "x")), INDEX, METADATA, ValueError,
     "Output `forecast` of the response holds <U"),
    (broken(lambda b: b["predictions"][0]["forecast"][0].__setitem__(0, None)), INDEX, METADATA, ValueError,
     "Output `forecast` of the response holds object"),
    (broken(lambda b: b["predictions"][0]["forecast"][0].__setitem__(0, float("nan"))), INDEX, METADATA,
     ValueError, r"Output `forecast` of the response holds non-finite values at \[0, 0, 0\]"),
    (response(), INDEX[:3], METADATA, ValueError, r"`index` has 3 rows; the response holds 2 forecasts of 2 steps"),
    (response(), INDEX, {**METADATA, "horizon": 3}, ValueError, r"Output `forecast` of the response has shape \(2, 2, 1\)"),
    (response(), INDEX, {**METADATA, "targets": ["y", "z"]}, ValueError, "has shape"),
    (response(), INDEX, {**METADATA, "quantiles": [0.5]}, ValueError, "Output `quantiles` of the response has shape"),
    ({"outputs": {"forecast": [[[1.0], [2.0]]]}}, INDEX[:2], METADATA, ValueError, "no `quantiles` output"),
    ({"outputs": {"quantiles": [[[1.0]]]}}, INDEX[:1], METADATA, ValueError, "no `forecast` output"),
    (response(), INDEX, {"target": ["y"]}, ValueError, "assets/tsgate.json"),
    (response(), None, METADATA, TypeError, "`index` should be the forecast index"),
])
def test_response_frame_says_what_is_wrong(body, index, metadata, error, message):
    with pytest.raises(error, match=message):
        serving.response_frame(body, index, metadata)
