"""The raw-unit forecaster as a TF Lite flatbuffer."""

import numpy as np
import tensorflow as tf

from tsgate.files import staged
from tsgate.serving.saved_model import input_specs


def export_tflite(raw_model, path):
    """A Keras model with named inputs (`tsgate.raw_model.raw_unit_model`, a
    field forecaster's, or any model of tsgate cells) as TF Lite with batch
    1 and builtin ops only (the time loop is lowered, the weights frozen to
    constants: the stock converter fails on a recurrent loop's
    `tf.TensorListReserve`), written atomically to `path`; its
    `serving_default` signature takes the same named inputs, one window at a time.

    Unlike the SavedModel, the flatbuffer does not check its inputs: TF
    Lite's builtin ops have neither Assert nor CheckNumerics. Callers must
    pass finite values of the signature's shapes themselves (NaN or inf
    comes out as NaN or a wrong forecast; `tsgate.serving.request_body`
    refuses non-finite values in Python)."""
    trainable = [np.asarray(v) for v in raw_model.trainable_variables]
    non_trainable = [np.asarray(v) for v in raw_model.non_trainable_variables]

    def serve(inputs):
        constants = [tf.constant(v) for v in trainable], [tf.constant(v) for v in non_trainable]
        outputs, _ = raw_model.stateless_call(*constants, inputs, training=False)
        return outputs

    function = tf.function(serve, input_signature=[input_specs(raw_model, batch=1)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], raw_model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    blob = converter.convert()
    with staged(path) as staging:
        with open(staging, "wb") as f:
            f.write(blob)
    return path
