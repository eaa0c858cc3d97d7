"""SavedModels for TF Serving: any Keras model of tsgate cells, and the
raw-unit forecaster."""

import json

import keras
import tensorflow as tf

from tsgate.serving.atomic import write_assets, write_atomically


def export_saved_model(model, path, input_signature=None):
    """`model.export(path)` made safe for serving: written to a temporary
    directory beside `path`, checked by `check_portable`, then renamed into
    place, so `path` either holds a complete portable SavedModel or nothing."""
    return write_atomically(
        path,
        lambda staging: model.export(staging, format="tf_saved_model", input_signature=input_signature, verbose=False),
    )


def input_specs(model, batch=None):
    """{input name: tf.TensorSpec} of a Keras model's named inputs."""
    return {t.name: tf.TensorSpec((batch, *t.shape[1:]), t.dtype, name=t.name) for t in model.inputs}


def export_forecast(raw_model, path, metadata, xla=False):
    """A SavedModel of `tsgate.scaling.raw_unit_model`: `serving_default`
    takes its named inputs in raw units (any batch size) and returns
    `forecast` `(b, horizon, n_target)` in raw units (and `quantiles` `(b,
    horizon, n_target, n_quantiles)` with a quantile head; `forecast` is then
    its median). A `metadata` signature and `assets/tsgate.json` carry
    `metadata`. With xla=True a `serving_xla` signature is added: the same
    function compiled with XLA (TF Serving then needs
    `--xla_cpu_compilation_enabled`). Written atomically to `path`."""
    specs = input_specs(raw_model)
    text = json.dumps(metadata, indent=2)

    def serve(inputs):
        return raw_model(inputs, training=False)

    def write(staging):
        archive = keras.export.ExportArchive()
        archive.track(raw_model)
        archive.add_endpoint("serving_default", serve, input_signature=[specs])
        if xla:
            archive.add_endpoint("serving_xla", tf.function(serve, input_signature=[specs], jit_compile=True))
        archive.add_endpoint("metadata", lambda: {"json": tf.constant(text)}, input_signature=[])
        archive.write_out(staging, verbose=False)
        write_assets(staging, text)

    return write_atomically(path, write)
