"""TF Serving REST bodies from tsgate inputs, and responses back to DataFrames.

TF Serving's REST `predict` API takes either the row form
`{"signature_name": ..., "instances": [{name: example}, ...]}` or the columnar
form `{"signature_name": ..., "inputs": {name: batch}}`, and answers with
`{"predictions": ...}` or `{"outputs": ...}` respectively (`{"error": ...}`
when it refuses a request).

Both directions are checked: a request holds real, finite numbers that fit
float32 (integer inputs such as `series_index` stay integers), every input
with the same batch size; a response is read only if it has the outputs,
shapes and finite values the export's metadata promises. Anything else is a
ValueError (TypeError for a wrong type) naming the input or output.
"""

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from tsgate.layout import quantile_column

FORMS = ("instances", "inputs")


def request_body(inputs, form="instances", signature="serving_default"):
    """A JSON-serialisable request body for `inputs` ({name: `(batch, ...)`
    array}, e.g. from `Forecaster.serving_inputs`); floating inputs are sent
    as float32, integer inputs as integers."""
    if form not in FORMS:
        raise ValueError(
            f"Received an invalid value for argument `form`, expected 'instances' or 'inputs', got {form!r}.")
    if not isinstance(signature, str) or not signature:
        raise ValueError(
            f"Received an invalid value for argument `signature`, expected a signature name, got {signature!r}.")
    if not isinstance(inputs, Mapping) or not inputs:
        raise TypeError(
            f"Received an invalid value for argument `inputs`, expected a non-empty dict of arrays, got {inputs!r:.200}.")
    arrays = {name: _request_array(name, value) for name, value in inputs.items()}
    sizes = {name: len(value) for name, value in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"All inputs need the same batch size (one row per window), got {sizes}.")
    if form == "instances":
        batch = next(iter(sizes.values()))
        rows = [{name: value[i].tolist() for name, value in arrays.items()} for i in range(batch)]
        return {"signature_name": signature, "instances": rows}
    return {"signature_name": signature, "inputs": {name: value.tolist() for name, value in arrays.items()}}


def _position(mask):
    """The index of the first True of `mask`, as a list of int."""
    return [int(i) for i in np.argwhere(mask)[0]]


def _request_array(name, value):
    """One input as float32 or int64 NumPy, checked."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"Input names must be non-empty strings, got {name!r}.")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"Input `{name}` is not a rectangular array: {error}") from None
    if array.dtype == object:
        flat = array.ravel()
        bad = [i for i, v in enumerate(flat) if not isinstance(v, numbers.Real) or isinstance(v, bool)]
        if bad:
            where = [int(i) for i in np.unravel_index(bad[0], array.shape)]
            raise TypeError(f"Input `{name}` holds {flat[bad[0]]!r} at {where}; expected real numbers.")
        array = array.astype("float64")
    if array.ndim == 0:
        raise ValueError(f"Input `{name}` needs a batch axis, shape (batch, ...), got the scalar {array!r}.")
    if len(array) == 0:
        raise ValueError(f"Input `{name}` has a batch of 0 rows; send at least one window.")
    if array.dtype.kind in "iu":
        return array.astype("int64")
    if array.dtype.kind != "f":
        raise TypeError(f"Input `{name}` has dtype {array.dtype}; expected real numbers.")
    if not np.isfinite(array).all():
        mask = ~np.isfinite(array)
        raise ValueError(f"Input `{name}` holds {array[mask][0]} at {_position(mask)}; "
                         "TF Serving needs finite numbers (fill or drop missing values first).")
    with np.errstate(over="ignore"):
        single = array.astype("float32")
    if not np.isfinite(single).all():
        mask = ~np.isfinite(single)
        raise ValueError(f"Input `{name}` holds {array[mask][0]} at {_position(mask)}, beyond the float32 range "
                         "the model takes.")
    return single


def response_outputs(response):
    """{output name: float64 array} from a REST response in either form."""
    if not isinstance(response, Mapping):
        raise TypeError(f"A TF Serving predict response is a dict, got {type(response).__name__}: {response!r:.200}.")
    if "error" in response:
        raise ValueError(f"TF Serving refused the request: {response['error']}")
    if "outputs" in response:
        outputs = response["outputs"]
        if isinstance(outputs, Mapping):
            return {name: _response_array(name, value) for name, value in outputs.items()}
        return {"forecast": _response_array("forecast", outputs)}
    if "predictions" in response:
        rows = response["predictions"]
        if not isinstance(rows, list) or not rows:
            raise ValueError(f"The response's `predictions` should be a non-empty list, got {rows!r:.200}.")
        if not any(isinstance(row, Mapping) for row in rows):
            return {"forecast": _response_array("forecast", rows)}
        names = list(rows[0]) if isinstance(rows[0], Mapping) else None
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping) or set(row) != set(names):
                found = list(row) if isinstance(row, Mapping) else type(row).__name__
                raise ValueError(f"Prediction {i} of the response has outputs {found}; prediction 0 has {names}.")
        return {name: _response_array(name, [row[name] for row in rows]) for name in names}
    raise ValueError(f"Not a TF Serving predict response: keys {sorted(map(str, response))}, "
                     "expected `predictions` or `outputs`.")


def _response_array(name, value):
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"Output `{name}` of the response is not a rectangular array: {error}") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(f"Output `{name}` of the response holds {array.dtype} values, not numbers: {value!r:.200}.")
    return array.astype("float64")


def response_frame(response, index, metadata):
    """The forecast DataFrame of a REST response, laid out as
    `Forecaster.predict`: `index` from `Forecaster.serving_inputs`, target and
    quantile names from the export's metadata (`assets/tsgate.json`)."""
    targets, quantiles, horizon = _metadata(metadata)
    outputs = response_outputs(response)
    if "forecast" not in outputs:
        raise ValueError(f"The response has no `forecast` output; it has {sorted(outputs)}.")
    forecast = outputs["forecast"]
    expected = f"(batch, {horizon if horizon else 'horizon'}, {len(targets)})"
    if forecast.ndim != 3 or forecast.shape[2] != len(targets) or (horizon and forecast.shape[1] != horizon):
        raise ValueError(f"Output `forecast` of the response has shape {forecast.shape}; expected {expected} "
                         f"for targets {targets}.")
    batch, steps = forecast.shape[:2]
    checked = {"forecast": forecast}
    if quantiles:
        if "quantiles" not in outputs:
            raise ValueError(f"The response has no `quantiles` output; the export has quantiles {quantiles}.")
        checked["quantiles"] = outputs["quantiles"]
        if checked["quantiles"].shape != (batch, steps, len(targets), len(quantiles)):
            raise ValueError(f"Output `quantiles` of the response has shape {checked['quantiles'].shape}; expected "
                             f"{(batch, steps, len(targets), len(quantiles))} for quantiles {quantiles}.")
    for name, values in checked.items():
        if not np.isfinite(values).all():
            raise ValueError(f"Output `{name}` of the response holds non-finite values at "
                             f"{_position(~np.isfinite(values))}.")
    try:
        rows = len(index)
    except TypeError:
        raise TypeError(
            f"`index` should be the forecast index from Forecaster.serving_inputs, got {index!r:.200}.") from None
    if rows != batch * steps:
        raise ValueError(f"`index` has {rows} rows; the response holds {batch} forecasts of {steps} steps "
                         f"({batch * steps} rows). Pass the index serving_inputs returned with the request's inputs.")
    data = {}
    for j, name in enumerate(targets):
        for k, q in enumerate(quantiles or ()):
            data[quantile_column(name, q)] = checked["quantiles"][:, :, j, k].ravel()
        data[name] = forecast[:, :, j].ravel()
    return pd.DataFrame(data, index=index)


def _metadata(metadata):
    """targets, quantiles and horizon (None if absent) of an export's metadata."""
    if not isinstance(metadata, Mapping) or "targets" not in metadata:
        raise ValueError("`metadata` should be the export's assets/tsgate.json (a dict with `targets`), got "
                         f"{metadata!r:.200}.")
    targets, quantiles, horizon = metadata["targets"], metadata.get("quantiles"), metadata.get("horizon")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise ValueError(f"`metadata['targets']` should be a list of column names, got {targets!r:.200}.")
    if quantiles is not None and (not isinstance(quantiles, list) or not all(
            isinstance(q, numbers.Real) and not isinstance(q, bool) for q in quantiles)):
        raise ValueError(f"`metadata['quantiles']` should be a list of levels or None, got {quantiles!r:.200}.")
    if horizon is not None and (not isinstance(horizon, int) or isinstance(horizon, bool) or horizon <= 0):
        raise ValueError(f"`metadata['horizon']` should be a positive integer, got {horizon!r:.200}.")
    return targets, quantiles, horizon
