"""Proof that an export stands on TensorFlow alone: its signatures called in a
fresh Python process where tsgate cannot be imported, as in TF Serving."""

import os
import subprocess
import sys
import tempfile

import numpy as np

# Runs in a fresh interpreter where importing tsgate fails: the SavedModel must
# stand on TensorFlow alone, as it does in TF Serving.
_SERVE_SCRIPT = """
import sys
sys.modules["tsgate"] = None
import numpy as np
import tensorflow as tf
model_dir, inputs_file, outputs_file, signature = sys.argv[1:]
serve = tf.saved_model.load(model_dir).signatures[signature]
inputs = dict(np.load(inputs_file))
outputs = serve(**{name: tf.constant(value) for name, value in inputs.items()})
np.savez(outputs_file, **{name: value.numpy() for name, value in outputs.items()})
"""


def serve_in_fresh_process(path, inputs, signature="serving_default"):
    """Calls a signature (default `serving_default`) of the SavedModel at `path` in a new
    Python process that cannot import tsgate. `inputs` maps the signature's
    input names to arrays; returns its outputs by name as NumPy arrays."""
    with tempfile.TemporaryDirectory() as scratch:
        inputs_file = os.path.join(scratch, "inputs.npz")
        outputs_file = os.path.join(scratch, "outputs.npz")
        np.savez(inputs_file, **inputs)
        result = subprocess.run(
            [sys.executable, "-I", "-c", _SERVE_SCRIPT, str(path), inputs_file, outputs_file, signature],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"Serving the SavedModel at {path} failed:\n{result.stderr[-3000:]}")
        with np.load(outputs_file) as outputs:
            return dict(outputs)
