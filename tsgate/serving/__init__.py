"""Serving: portable, atomic SavedModels for TF Serving (any Keras model of
tsgate cells, the raw-unit forecaster, streaming), TF Lite, TF Serving REST
bodies, and the fresh-process check that an export needs no tsgate.
TensorFlow-only, like everything about serving."""

from tsgate.serving.atomic import check_portable, saved_model_op_types
from tsgate.serving.rest import request_body, response_frame, response_outputs
from tsgate.serving.saved_model import export_forecast, export_saved_model
from tsgate.serving.streaming import export_streaming
from tsgate.serving.tflite import export_tflite
from tsgate.serving.verify import ServingError, serve_in_fresh_process
from tsgate.serving.warmup import read_warmup_requests

__all__ = [
    "ServingError",
    "check_portable",
    "export_forecast",
    "export_saved_model",
    "export_streaming",
    "export_tflite",
    "read_warmup_requests",
    "request_body",
    "response_frame",
    "response_outputs",
    "saved_model_op_types",
    "serve_in_fresh_process",
]
