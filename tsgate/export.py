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


def _write_atomically(path, write):
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


def export_saved_model(model, path, input_signature=None):
    """`model.export(path)` made safe for serving: written to a temporary
    directory beside `path`, checked by `check_portable`, then renamed into
    place, so `path` either holds a complete portable SavedModel or nothing.
    """
    return _write_atomically(
        path,
        lambda staging: model.export(staging, format="tf_saved_model", input_signature=input_signature, verbose=False),
    )


def _raw_unit_function(model, input_scaling, output_scaling, quantiles, batch=None, frozen=False):
    """The raw-unit serving function of `export_forecast_model` and its input
    specs; `frozen` reads the weights as constants (for TF Lite)."""
    import tensorflow as tf

    specs = {t.name: tf.TensorSpec((batch, *t.shape[1:]), tf.float32, name=t.name) for t in model.inputs}
    unknown = set(input_scaling) - set(specs)
    if unknown:
        raise ValueError(f"input_scaling names {sorted(unknown)}, which the model does not take ({sorted(specs)}).")
    scaling = {name: [tf.constant(np.asarray(v, "float32")) for v in pair] for name, pair in input_scaling.items()}
    out_scale, out_offset = (tf.constant(np.asarray(v, "float32")) for v in output_scaling)
    median = None if not quantiles else list(quantiles).index(0.5)
    if frozen:
        trainable = [np.asarray(v) for v in model.trainable_variables]
        non_trainable = [np.asarray(v) for v in model.non_trainable_variables]

    def serve(inputs):
        scaled = {
            name: value * scaling[name][0] + scaling[name][1] if name in scaling else value
            for name, value in inputs.items()
        }
        if frozen:
            out, _ = model.stateless_call(
                [tf.constant(v) for v in trainable], [tf.constant(v) for v in non_trainable], scaled, training=False
            )
        else:
            out = model(scaled, training=False)
        if median is None:
            return {"forecast": (out - out_offset) / out_scale}
        raw = (out - out_offset[:, None]) / out_scale[:, None]
        return {"forecast": raw[..., median], "quantiles": raw}

    return serve, specs


def export_tflite(model, path, input_scaling, output_scaling, quantiles=None):
    """The raw-unit serving function as a TF Lite flatbuffer with batch 1 and
    builtin ops only (the time loop is lowered), written atomically to `path`."""
    import tensorflow as tf

    serve, specs = _raw_unit_function(model, input_scaling, output_scaling, quantiles, batch=1, frozen=True)
    function = tf.function(serve, input_signature=[specs])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    blob = converter.convert()
    staging = f"{path}.tmp"
    with open(staging, "wb") as f:
        f.write(blob)
    os.replace(staging, path)
    return path


def export_forecast_model(model, path, input_scaling, output_scaling, metadata, quantiles=None, xla=False):
    """A SavedModel that serves raw units: `serving_default` takes the model's
    named inputs in raw units (variable batch), scales them in the graph
    (`raw * scale + offset`), runs the model and returns `forecast` `(b,
    horizon, n_target)` in raw units (and `quantiles` `(b, horizon, n_target,
    n_quantiles)` when the model has a quantile head; `forecast` is then its
    median). A `metadata` signature and `assets/tsgate.json` carry `metadata`.
    With xla=True a `serving_xla` signature is added: the same function
    compiled with XLA (TF Serving then needs `--xla_cpu_compilation_enabled`).

    input_scaling: {input name: (scale, offset)} vectors over its last axis
        (inputs not named pass through). output_scaling: (scale, offset) of the
        targets, inverted on the output. Written atomically to `path`.
    """
    import json

    import keras
    import tensorflow as tf

    serve, specs = _raw_unit_function(model, input_scaling, output_scaling, quantiles)
    text = json.dumps(metadata, indent=2)

    def write(staging):
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serving_default", serve, input_signature=[specs])
        if xla:
            archive.add_endpoint("serving_xla", tf.function(serve, input_signature=[specs], jit_compile=True))
        archive.add_endpoint("metadata", lambda: {"json": tf.constant(text)}, input_signature=[])
        archive.write_out(staging, verbose=False)
        os.makedirs(os.path.join(staging, "assets"), exist_ok=True)
        with open(os.path.join(staging, "assets", "tsgate.json"), "w") as f:
            f.write(text)

    return _write_atomically(path, write)


def export_streaming(model, path):
    """A stateless streaming SavedModel for online sensors, written atomically.

    `serving_default` takes `inputs` `(b, t, d)` (any t) and `state` `(b, s)`
    and returns `outputs` `(b, t, ...)` and the next `state` `(b, s)`: the
    server keeps nothing, the client carries the state (zeros to start; `s`
    is in `assets/tsgate.json`), and feeding a sequence in chunks gives exactly
    the outputs of the whole sequence.

    model: a `keras.Sequential` of tsgate sequence layers with
        return_sequences=True (dense cells) and per-step layers (Dense, ...).
    """
    import json

    import keras
    import tensorflow as tf

    from tsgate.cells.sequence import SequenceLayer

    stages, sizes = [], []
    for layer in model.layers:
        if isinstance(layer, SequenceLayer):
            state_size = layer.cell.state_size
            if not layer.return_sequences or layer.go_backwards or not isinstance(state_size, (int, list)):
                raise ValueError(
                    f"Layer {layer.name} cannot stream: it needs return_sequences=True, go_backwards=False "
                    "and a dense cell."
                )
            config = {**layer.get_config(), "return_state": True, "stateful": False, "name": f"{layer.name}_stream"}
            stream = type(layer).from_config(config)
            stream.build(layer.input.shape)
            stream.set_weights(layer.get_weights())
            sizes.append(state_size if isinstance(state_size, list) else [state_size])
            stages.append(stream)
        else:
            stages.append(layer)
    total = sum(sum(s) for s in sizes)
    spec = {
        "inputs": tf.TensorSpec((None, None, *model.inputs[0].shape[2:]), tf.float32, name="inputs"),
        "state": tf.TensorSpec((None, total), tf.float32, name="state"),
    }

    def serve(request):
        x, state = request["inputs"], request["state"]
        chunks = iter(tf.split(state, [n for layer_sizes in sizes for n in layer_sizes], axis=-1))
        new_states = []
        for stage in stages:
            if isinstance(stage, SequenceLayer):
                n = len(stage.cell.state_size) if isinstance(stage.cell.state_size, list) else 1
                x, *states = stage(x, initial_state=[next(chunks) for _ in range(n)])
                new_states += states
            else:
                x = stage(x)
        return {"outputs": x, "state": tf.concat(new_states, axis=-1)}

    text = json.dumps({"state_size": total, "layers": [s.name for s in stages]})

    def write(staging):
        archive = keras.export.ExportArchive()
        for stage in stages:
            archive.track(stage)
        archive.add_endpoint("serving_default", serve, input_signature=[spec])
        archive.write_out(staging, verbose=False)
        os.makedirs(os.path.join(staging, "assets"), exist_ok=True)
        with open(os.path.join(staging, "assets", "tsgate.json"), "w") as f:
            f.write(text)

    return _write_atomically(path, write)


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
