"""TF Serving warm-up records: `assets.extra/tf_serving_warmup_requests` in
every export, so that the first request after a version loads does not pay
for the graph's warm-up (TF Serving runs these requests at load).

The file is a TFRecord of `tensorflow.serving.PredictionLog` protos, built
with `tensorflow-serving-api`'s messages: one `PredictRequest` per signature
and batch size (`BATCHES`: one window, and a typical batch).
"""

import os

import numpy as np
import tensorflow as tf

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
BATCHES = (1, 64)  # the rows of each signature's warm-up requests


def warmup_inputs(specs, batch):
    """{name: array} of `batch` rows for the input `specs` ({name:
    tf.TensorSpec}): ones for floating inputs (finite and positive, inside
    every target transform's domain and every input limit), zeros for
    integer ones (the first fitted row); a dimension the spec leaves open
    besides the batch is 1."""
    inputs = {}
    for name, spec in specs.items():
        shape = (batch, *[1 if size is None else size for size in spec.shape[1:]])
        fill = np.ones if spec.dtype.is_floating else np.zeros
        inputs[name] = fill(shape, spec.dtype.as_numpy_dtype)
    return inputs


def write_warmup_requests(staging, signatures, batches=BATCHES):
    """Writes the warm-up records of `signatures` ({signature name: {input
    name: tf.TensorSpec}}) into the SavedModel being written at `staging`."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = os.path.join(staging, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for signature, specs in signatures.items():
            for batch in batches:
                request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(signature_name=signature))
                for name, value in warmup_inputs(specs, batch).items():
                    request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
                log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
                writer.write(log.SerializeToString())


def read_warmup_requests(path):
    """[(signature name, {input name: array})] of the warm-up records of
    the SavedModel at `path`, in order."""
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(os.path.join(path, WARMUP_FILE)).as_numpy_iterator():
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        requests.append((request.model_spec.signature_name,
                         {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}))
    return requests


def saved_signatures(path):
    """{signature name: {input name: tf.TensorSpec}} of the SavedModel at
    `path`, those that take inputs (what an export made by Keras serves)."""
    loaded = tf.saved_model.load(path)
    signatures = {}
    for name, function in loaded.signatures.items():
        specs = function.structured_input_signature[1]
        if specs:
            signatures[name] = dict(specs)
    return signatures
