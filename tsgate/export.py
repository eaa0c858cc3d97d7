"""SavedModel export that CPU TF Serving can load: no cuDNN-only ops, written
atomically. TensorFlow-only, like everything about serving."""

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from tensorflow.core.protobuf import saved_model_pb2

GPU_ONLY_OP_PREFIXES = ("CudnnRNN",)


def saved_model_op_types(path):
    """The set of op types in the graph and function library of a SavedModel."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def check_portable(path):
    """Raises ValueError if the SavedModel at `path` holds an op that only
    exists on GPU builds (a cuDNN RNN), which CPU TF Serving cannot load."""
    gpu_only = sorted(op for op in saved_model_op_types(path) if op.startswith(GPU_ONLY_OP_PREFIXES))
    if gpu_only:
        raise ValueError(
            f"The SavedModel at {path} contains GPU-only ops {gpu_only}; CPU TF Serving "
            "cannot load it (keras #18504). Use tsgate layers instead of "
            "keras.layers.GRU/LSTM, or export on a machine without a GPU."
        )


def export_saved_model(model, path, input_signature=None):
    """`model.export(path)` made safe for serving: written to a temporary
    directory beside `path`, checked by `check_portable`, then renamed into
    place, so `path` either holds a complete portable SavedModel or nothing.
    """
    path = os.path.abspath(path)
    if os.path.exists(path):
        raise ValueError(f"Export path {path} already exists; choose a new one (e.g. a new version).")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tsgate-export-", dir=parent)
    try:
        model.export(staging, format="tf_saved_model", input_signature=input_signature, verbose=False)
        check_portable(staging)
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


# Runs in a fresh interpreter where importing tsgate fails: the SavedModel must
# stand on TensorFlow alone, as it does in TF Serving.
_SERVE_SCRIPT = """
import sys
sys.modules["tsgate"] = None
import numpy as np
import tensorflow as tf
model_dir, inputs_file, outputs_file = sys.argv[1:]
serve = tf.saved_model.load(model_dir).signatures["serving_default"]
inputs = dict(np.load(inputs_file))
outputs = serve(**{name: tf.constant(value) for name, value in inputs.items()})
np.savez(outputs_file, **{name: value.numpy() for name, value in outputs.items()})
"""


def serve_in_fresh_process(path, inputs):
    """Calls the `serving_default` signature of the SavedModel at `path` in a new
    Python process that cannot import tsgate. `inputs` maps the signature's
    input names to arrays; returns its outputs by name as NumPy arrays."""
    with tempfile.TemporaryDirectory() as scratch:
        inputs_file = os.path.join(scratch, "inputs.npz")
        outputs_file = os.path.join(scratch, "outputs.npz")
        np.savez(inputs_file, **inputs)
        result = subprocess.run(
            [sys.executable, "-I", "-c", _SERVE_SCRIPT, path, inputs_file, outputs_file],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"Serving the SavedModel at {path} failed:\n{result.stderr[-3000:]}")
        with np.load(outputs_file) as outputs:
            return dict(outputs)
