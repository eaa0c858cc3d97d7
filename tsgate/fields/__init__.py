"""Forecasting fields: gridded time series (`Field`), the ConvGRU
encoder–forecaster (`FieldForecaster`), metrics by lead time and frame plots.
Frames are `(height, width, channels)`; the cells are `tsgate.ConvGRU2D`.
The names load on first use: `tsgate.fields.Field` loads no framework."""

from importlib import import_module as _import_module

_HOMES = {"Field": "tsgate.fields.data", "FieldForecaster": "tsgate.fields.forecaster",
          "FieldForecasts": "tsgate.fields.forecaster"}
__all__ = list(_HOMES)


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'tsgate.fields' has no attribute {name!r}")
    return getattr(_import_module(_HOMES[name]), name)
