"""TF Serving REST bodies from tsgate inputs, and responses back to DataFrames.

TF Serving's REST `predict` API takes either the row form
`{"signature_name": ..., "instances": [{name: example}, ...]}` or the columnar
form `{"signature_name": ..., "inputs": {name: batch}}`, and answers with
`{"predictions": ...}` or `{"outputs": ...}` respectively.
"""

import numpy as np
import pandas as pd

from tsgate.layout import quantile_column


def request_body(inputs, form="instances", signature="serving_default"):
    """A JSON-serialisable request body for `inputs` ({name: `(batch, ...)`
    array}, e.g. from `Forecaster.serving_inputs`)."""
    arrays = {name: np.asarray(value, "float32") for name, value in inputs.items()}
    sizes = {name: len(value) for name, value in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"All inputs need the same batch size, got {sizes}.")
    if form == "instances":
        batch = next(iter(sizes.values()))
        rows = [{name: value[i].tolist() for name, value in arrays.items()} for i in range(batch)]
        return {"signature_name": signature, "instances": rows}
    if form == "inputs":
        return {"signature_name": signature, "inputs": {name: value.tolist() for name, value in arrays.items()}}
    raise ValueError(f"Received an invalid value for argument `form`, expected 'instances' or 'inputs', got {form!r}.")


def response_outputs(response):
    """{output name: array} from a REST response in either form."""
    if "outputs" in response:
        outputs = response["outputs"]
        return {k: np.asarray(v) for k, v in outputs.items()} if isinstance(outputs, dict) else {"forecast": np.asarray(outputs)}
    if "predictions" in response:
        rows = response["predictions"]
        if rows and isinstance(rows[0], dict):
            return {name: np.asarray([row[name] for row in rows]) for name in rows[0]}
        return {"forecast": np.asarray(rows)}
    raise ValueError(f"Not a TF Serving predict response: keys {sorted(response)}.")


def response_frame(response, index, metadata):
    """The forecast DataFrame of a REST response, laid out as
    `Forecaster.predict`: `index` from `Forecaster.serving_inputs`, target and
    quantile names from the export's metadata (`assets/tsgate.json`)."""
    outputs = response_outputs(response)
    data = {}
    for j, name in enumerate(metadata["targets"]):
        if metadata.get("quantiles"):
            for k, q in enumerate(metadata["quantiles"]):
                data[quantile_column(name, q)] = outputs["quantiles"][:, :, j, k].ravel()
        data[name] = outputs["forecast"][:, :, j].ravel()
    return pd.DataFrame(data, index=index)
