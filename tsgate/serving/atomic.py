"""Writing a SavedModel so that TF Serving never sees half of one, and never
one it cannot load: written to a staging directory, checked for GPU-only ops,
then renamed into place."""

import os
import shutil
import tempfile

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


def write_atomically(path, write):
    """Calls `write(staging_dir)` on a temporary directory beside `path`,
    checks the result with `check_portable`, then renames it to `path`; on any
    failure or interruption nothing is left at `path`."""
    path = os.path.abspath(path)
    if os.path.exists(path):
        raise ValueError(f"Export path {path} already exists; choose a new one (e.g. a new version).")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tsgate-export-", dir=parent)
    try:
        write(staging)
        check_portable(staging)
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def write_assets(staging, text):
    """`assets/tsgate.json` of a SavedModel being written."""
    os.makedirs(os.path.join(staging, "assets"), exist_ok=True)
    with open(os.path.join(staging, "assets", "tsgate.json"), "w") as f:
        f.write(text)
