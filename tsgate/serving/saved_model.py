"""SavedModels for TF Serving: any Keras model of tsgate cells, and the
raw-unit forecaster, whose signatures check their inputs in the graph."""

import contextlib
import json

import keras
import tensorflow as tf

from tsgate.cells.sequence import unrolled
from tsgate.data import FLOAT32_MAX
from tsgate.serving.atomic import write_assets, write_directory_atomically
from tsgate.serving.warmup import saved_signatures, write_warmup_requests


def export_saved_model(model, path, input_signature=None):
    """`model.export(path)` made safe for serving: written to a staging
    directory outside the model base path, checked by `check_portable`, then
    renamed into place, so `path` either holds a complete portable SavedModel
    or nothing, with TF Serving warm-up records for each of its signatures
    (`tsgate.serving.warmup`). The last component of `path` is the version: a positive
    integer, as TF Serving loads only those."""

    def write(staging):
        model.export(staging, format="tf_saved_model", input_signature=input_signature, verbose=False)
        write_warmup_requests(staging, saved_signatures(staging))

    return write_directory_atomically(path, write)


def input_specs(model, batch=None):
    """{input name: tf.TensorSpec} of a Keras model's named inputs."""
    return {t.name: tf.TensorSpec((batch, *t.shape[1:]), t.dtype, name=t.name) for t in model.inputs}


def checked_inputs(inputs, specs=None, n_series=None, limits=None):
    """`inputs` ({name: tensor}, in a signature's graph) behind the checks
    TF Serving does not make from the signature (it feeds what it is sent):
    each input has the rank and the known dimensions of its spec in `specs`
    ({name: tf.TensorSpec}), every input the same batch size, floating inputs
    are finite and within their `limits` ({name: the largest magnitude of
    each column, None for none}, beyond which scaling overflows),
    `series_index` is a fitted row (`0 <= i < n_series`).
    A failed check stops the call with an InvalidArgumentError naming the
    input (what TF Serving returns as an INVALID_ARGUMENT status, HTTP 400
    over REST) before any of the model runs."""
    specs = specs or {}
    names = sorted(inputs)
    pad = tf.ones([1 + max((len(spec.shape) for spec in specs.values()), default=1)], tf.int32)
    shapes = {name: tf.concat([tf.shape(x), pad], 0) for name, x in inputs.items()}  # indexable whatever the rank
    shape_checks = []
    for name, spec in specs.items():
        message = f"Input `{name}` needs shape ({', '.join(['batch', *map(str, spec.shape[1:])])})"
        # The rank from the values of the shape: graph optimizations fold tf.rank to the spec's.
        rank = tf.argmin(tf.concat([tf.shape(inputs[name]), [-1]], 0), output_type=tf.int32)
        shape_checks.append(tf.debugging.assert_equal(rank, len(spec.shape), message=message))
        known = [axis for axis, size in enumerate(spec.shape) if axis and size is not None]
        if known:
            shape_checks.append(tf.debugging.assert_equal(
                tf.gather(shapes[name], known), [spec.shape[axis] for axis in known], message=message))
    for name in names[1:]:
        message = f"Inputs `{names[0]}` and `{name}` have different batch sizes; every input needs one row per window"
        shape_checks.append(tf.debugging.assert_equal(shapes[name][0], shapes[names[0]][0], message=message))
    value_checks = []
    with tf.control_dependencies(shape_checks):  # a wrong rank would break the reductions below
        for name in names:
            x = inputs[name]
            if x.dtype.is_floating:
                value_checks.append(tf.debugging.assert_all_finite(x, message=f"Input `{name}` holds NaN or inf"))
                if limits and name in limits and any(v is not None for v in limits[name]):
                    largest = [FLOAT32_MAX if v is None else v for v in limits[name]]
                    value_checks.append(tf.debugging.assert_less_equal(
                        tf.reduce_max(tf.reshape(tf.abs(x), [-1, len(largest)]), axis=0),
                        tf.constant(largest, x.dtype),
                        message=f"Input `{name}` holds a value beyond its column's limit (`input_limits` of the "
                                "metadata), far outside what the model was trained on: scaling it overflows"))
            elif name == "series_index" and n_series is not None:
                value_checks.append(tf.debugging.assert_non_negative(
                    x, message="Input `series_index` holds a negative row"))
                value_checks.append(tf.debugging.assert_less(
                    x, tf.cast(n_series, x.dtype), message=f"Input `series_index` holds a row >= {n_series}, the "
                    "number of rows fitted (series)"))
    with tf.control_dependencies(shape_checks + value_checks):
        return {name: tf.identity(x) for name, x in inputs.items()}


def series_rows(metadata):
    """How many rows "series_index" may take: the scaler's series with
    per-series scaling, else a per-series calibration's and its pooled row
    (a series not calibrated on); None if neither."""
    scaler, calibrated = metadata.get("scaler") or {}, metadata.get("calibration") or {}
    if scaler.get("per_series"):
        return len(scaler["groups"])
    return len(calibrated["series"]) + 1 if calibrated.get("series_shifts") is not None else None


def export_forecast(raw_model, path, metadata, xla=False, unroll=False):
    """A SavedModel of `tsgate.raw_model.raw_unit_model`: `serving_default`
    takes its named inputs in raw units (any batch size) and returns
    `forecast` `(b, horizon, n_target)` in raw units (and `quantiles` `(b,
    horizon, n_target, n_quantiles)` with a quantile head; `forecast` is then
    its median). A `metadata` signature and `assets/tsgate.json` carry
    `metadata`. With xla=True a `serving_xla` signature is added: the same
    function compiled with XLA (TF Serving then needs
    `--xla_cpu_compilation_enabled`). With unroll=True `serving_default` is
    traced with tsgate's recurrent layers unrolled (`tsgate.cells.sequence.
    unrolled`): lower latency on TensorFlow's executor, a longer export and
    a bigger graph.

    Both signatures refuse, with an InvalidArgumentError naming the input,
    inputs with NaN or inf or beyond `metadata["input_limits"]`, inputs of
    different batch sizes and a `series_index` outside the fitted series
    (`checked_inputs`); the checks
    run before the model, outside the XLA-compiled part. TF Serving warm-up
    records (`tsgate.serving.warmup`: each signature at batch 1 and 64) are
    in `assets.extra/`. Written atomically to `path`, whose last component
    is the version (a positive integer)."""
    specs = input_specs(raw_model)
    text = json.dumps(metadata, indent=2)
    n_series = series_rows(metadata) if "series_index" in specs else None
    limits = metadata.get("input_limits")

    def model(inputs):
        return raw_model(inputs, training=False)

    def serve(inputs):
        with unrolled(raw_model) if unroll else contextlib.nullcontext():
            return model(checked_inputs(inputs, specs, n_series, limits))

    def write(staging):
        archive = keras.export.ExportArchive()
        archive.track(raw_model)
        archive.add_endpoint("serving_default", serve, input_signature=[specs])
        if xla:
            # XLA compiles Assert and CheckNumerics away: the checks stay outside the compiled function.
            compiled = tf.function(model, jit_compile=True)

            def serve_xla(inputs):
                return compiled(checked_inputs(inputs, specs, n_series, limits))

            archive.add_endpoint("serving_xla", tf.function(serve_xla, input_signature=[specs]))
        archive.add_endpoint("metadata", lambda: {"json": tf.constant(text)}, input_signature=[])
        archive.write_out(staging, verbose=False)
        write_assets(staging, text)
        write_warmup_requests(staging, {"serving_default": specs, **({"serving_xla": specs} if xla else {})})

    return write_directory_atomically(path, write)
