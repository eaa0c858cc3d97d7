"""A Forecaster's constructor arguments as JSON, for forecaster.json.

Arguments that are objects are written so that they come back equal: a Keras
layer given as `cell` through Keras serialization, a scikit-learn transformer
given as `scaler` as its class and `get_params()`, a pandas offset given as
`freq` (and the fitted `freq_`) by `tsgate.data.freq_to_json` (custom business
days with their weekmask and every holiday), a pandas holiday calendar given
as `holidays` by its class name (pandas' own calendars with their class's
rules, see `tsgate.calendar_features.check_holidays`), Timestamps, dates and NumPy
datetimes as ISO text (they load as Timestamps). What cannot be written that
way is refused at `save`, never replaced by a default.
"""

import datetime
import importlib
import json

import keras
import numpy as np
import pandas as pd
from pandas.tseries import holiday
from sklearn.base import BaseEstimator

from tsgate.data import freq_from_json, freq_to_json

TUPLE = "__tuple__"  # JSON has no tuples; get_params must come back equal


def encode_argument(name, value):
    """The constructor argument `name` as JSON that `decode_argument` reads
    back equal; a ValueError naming it when it cannot be."""
    if isinstance(value, keras.layers.Layer):
        encoded = keras.saving.serialize_keras_object(value)
        try:
            keras.saving.deserialize_keras_object(encoded)
        except Exception as error:
            raise ValueError(
                f"Cannot save `{name}`={value!r}: Keras cannot deserialize it ({error}). Register the layer "
                "with @keras.saving.register_keras_serializable and give it a complete get_config."
            ) from None
        return {"keras_layer": encoded}
    if isinstance(value, BaseEstimator):
        module = type(value).__module__
        if not module.startswith("sklearn."):
            raise ValueError(f"Cannot save `{name}`={value!r}: only scikit-learn's own transformers are saved by name.")
        return {"sklearn": f"{module}.{type(value).__qualname__}", "params": encode_argument(name, value.get_params(deep=False))}
    if isinstance(value, holiday.AbstractHolidayCalendar):
        kind = type(value)
        if kind.__module__ != holiday.__name__ or getattr(holiday, kind.__name__, None) is not kind:
            raise ValueError(f"Cannot save `{name}`={value!r}: only pandas' own holiday calendars are saved by name; "
                             "pass the holiday dates as a list instead.")
        return {"pandas_holiday_calendar": kind.__name__}
    if isinstance(value, (datetime.date, np.datetime64)):  # pd.Timestamp is a datetime.date
        return {"pandas_timestamp": pd.Timestamp(value).isoformat()}
    if isinstance(value, (pd.offsets.BaseOffset, pd.Timedelta)):
        try:
            return {"pandas_freq": freq_to_json(value)}
        except ValueError as error:
            raise ValueError(f"Cannot save `{name}`={value!r}: {error}") from None
    if isinstance(value, tuple):
        return {TUPLE: [encode_argument(name, v) for v in value]}
    if isinstance(value, list):
        return [encode_argument(name, v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: encode_argument(name, v) for k, v in value.items()}
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError(f"Cannot save `{name}`={value!r}: it is not JSON-serializable.") from None
    return value


def decode_argument(value):
    """The argument `encode_argument` wrote."""
    if isinstance(value, list):
        return [decode_argument(v) for v in value]
    if isinstance(value, dict) and TUPLE in value:
        return tuple(decode_argument(v) for v in value[TUPLE])
    if isinstance(value, dict) and "pandas_freq" in value:
        return freq_from_json(value["pandas_freq"])
    if isinstance(value, dict) and "pandas_holiday_calendar" in value:
        kind = getattr(holiday, value["pandas_holiday_calendar"], None)
        if not (isinstance(kind, type) and issubclass(kind, holiday.AbstractHolidayCalendar)):
            raise ValueError(f"Unknown pandas holiday calendar {value['pandas_holiday_calendar']!r}.")
        return kind()
    if isinstance(value, dict) and "pandas_timestamp" in value:
        return pd.Timestamp(value["pandas_timestamp"])
    if isinstance(value, dict) and "keras_layer" in value:
        return keras.saving.deserialize_keras_object(value["keras_layer"])
    if isinstance(value, dict) and "sklearn" in value:
        module, _, name = value["sklearn"].rpartition(".")
        if not module.startswith("sklearn."):
            raise ValueError(f"Refusing to import {value['sklearn']!r}: only scikit-learn transformers are loaded.")
        return getattr(importlib.import_module(module), name)(**decode_argument(value["params"]))
    if isinstance(value, dict):
        return {k: decode_argument(v) for k, v in value.items()}
    return value
