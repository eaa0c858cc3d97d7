"""tsgate: recurrent cells for time-series forecasting with Keras 3.

Importing tsgate loads no framework: the cells, `Forecaster`, `from_keras`
and `to_keras` are imported (with Keras and TensorFlow, quietly, see
`tsgate._quiet`) when first used.
"""

from importlib import import_module as _import_module

from tsgate import _quiet

__version__ = "0.1.0"

_quiet.install()

_CELLS = ("ConvGRU1D", "ConvGRU1DCell", "ConvGRU2D", "ConvGRU2DCell", "ConvGRU3D", "ConvGRU3DCell", "GRU", "GRUCell",
          "LSTM", "LSTMCell", "MemoryGRU", "MemoryGRUCell", "SRU", "SRUCell")  # tsgate.cells.__all__
_HOMES = {**dict.fromkeys(_CELLS, "tsgate.cells"), "Forecaster": "tsgate.forecaster",
          "from_keras": "tsgate.interchange", "to_keras": "tsgate.interchange",
          **dict.fromkeys(("forecast_chunks", "predict_chunked", "ray_forecast"), "tsgate.batch")}

__all__ = [*_CELLS, "Forecaster", "from_keras", "to_keras", "forecast_chunks", "predict_chunked", "ray_forecast",
           "__version__"]


def __getattr__(name):
    """The public names, imported from their module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'tsgate' has no attribute {name!r}")
    value = getattr(_import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    """The public names and the submodules imported so far, not the private helpers."""
    return sorted({*(name for name in globals() if not name.startswith("_")), *__all__})
