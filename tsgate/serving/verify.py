"""Proof that an export stands on TensorFlow alone: its signatures called in a
fresh Python process where tsgate cannot be imported, as in TF Serving."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

# Runs in a fresh interpreter where importing tsgate fails: the SavedModel must
# stand on TensorFlow alone, as it does in TF Serving. A refused call is
# reported with its canonical status code, as TF Serving reports it.
_SERVE_SCRIPT = """
import json
import sys
sys.modules["tsgate"] = None
import numpy as np
import tensorflow as tf
model_dir, inputs_file, outputs_file, error_file, signature = sys.argv[1:]
serve = tf.saved_model.load(model_dir).signatures[signature]
inputs = dict(np.load(inputs_file))
codes = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
         "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
         "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]
try:
    outputs = serve(**{name: tf.constant(value) for name, value in inputs.items()})
except tf.errors.OpError as error:
    code = codes[error.error_code] if 0 <= error.error_code < len(codes) else str(error.error_code)
    with open(error_file, "w") as f:
        json.dump({"code": code, "message": error.message}, f)
    sys.exit(3)
except (TypeError, ValueError) as error:  # inputs that do not bind to the signature
    with open(error_file, "w") as f:
        json.dump({"code": "INVALID_ARGUMENT", "message": str(error)}, f)
    sys.exit(3)
np.savez(outputs_file, **{name: value.numpy() for name, value in outputs.items()})
"""


class ServingError(RuntimeError):
    """A SavedModel refused a call: `code` is the canonical status TF
    Serving answers with ("INVALID_ARGUMENT" for refused inputs: HTTP 400
    over REST, its `message` in the body's "error"), `message` TensorFlow's."""

    def __init__(self, path, code, message):
        super().__init__(f"The SavedModel at {path} refused the call with {code}: {message}")
        self.code, self.message = code, message


def serve_in_fresh_process(path, inputs, signature="serving_default"):
    """Calls a signature (default `serving_default`) of the SavedModel at `path` in a new
    Python process that cannot import tsgate. `inputs` maps the signature's
    input names to arrays; returns its outputs by name as NumPy arrays. A
    call the model refuses raises `ServingError` (with TF Serving's status
    code); a model that cannot be loaded, RuntimeError."""
    with tempfile.TemporaryDirectory() as scratch:
        inputs_file = os.path.join(scratch, "inputs.npz")
        outputs_file = os.path.join(scratch, "outputs.npz")
        error_file = os.path.join(scratch, "error.json")
        np.savez(inputs_file, **inputs)
        result = subprocess.run(
            [sys.executable, "-I", "-c", _SERVE_SCRIPT, str(path), inputs_file, outputs_file, error_file, signature],
            capture_output=True,
            text=True,
        )
        if result.returncode == 3 and os.path.exists(error_file):
            with open(error_file) as f:
                error = json.load(f)
            raise ServingError(path, error["code"], error["message"])
        if result.returncode != 0:
            raise RuntimeError(f"Serving the SavedModel at {path} failed:\n{result.stderr[-3000:]}")
        with np.load(outputs_file) as outputs:
            return dict(outputs)
