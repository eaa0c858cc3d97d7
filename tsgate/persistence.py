"""Saving and loading a fitted `Forecaster`: `model.keras` (the Keras model)
and `forecaster.json` (every constructor argument, the fitted scaler, the
frequency, the series ids, the window counts). No pickle.

Arguments that are objects are written so that they come back equal: a Keras
layer given as `cell` through Keras serialization, a scikit-learn transformer
given as `scaler` as its class and `get_params()`. What cannot be written that
way is refused at `save`, never replaced by a default.
"""

import importlib
import json
import os

import keras
from sklearn.base import BaseEstimator

from tsgate.scaling import AffineScaler

FORMAT = 1
TUPLE = "__tuple__"  # JSON has no tuples; get_params must come back equal


def _encode(name, value):
    """A constructor argument as JSON."""
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
        return {"sklearn": f"{module}.{type(value).__qualname__}", "params": _encode(name, value.get_params(deep=False))}
    if isinstance(value, tuple):
        return {TUPLE: [_encode(name, v) for v in value]}
    if isinstance(value, list):
        return [_encode(name, v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(name, v) for k, v in value.items()}
    try:
        json.dumps(value)
    except TypeError:
        raise ValueError(f"Cannot save `{name}`={value!r}: it is not JSON-serializable.") from None
    return value


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict) and TUPLE in value:
        return tuple(_decode(v) for v in value[TUPLE])
    if isinstance(value, dict) and "keras_layer" in value:
        return keras.saving.deserialize_keras_object(value["keras_layer"])
    if isinstance(value, dict) and "sklearn" in value:
        module, _, name = value["sklearn"].rpartition(".")
        if not module.startswith("sklearn."):
            raise ValueError(f"Refusing to import {value['sklearn']!r}: only scikit-learn transformers are loaded.")
        return getattr(importlib.import_module(module), name)(**_decode(value["params"]))
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


def save(forecaster, path):
    """Writes `path/model.keras` and `path/forecaster.json`; every argument
    is checked before anything is written."""
    from tsgate import __version__

    forecaster._check_fitted()
    config = {name: _encode(name, value) for name, value in forecaster.get_params(deep=False).items()}
    meta = {
        "format": FORMAT,
        "tsgate_version": __version__,
        "config": config,
        "freq": forecaster.freq_,
        "series": forecaster.series_,
        "scaler": forecaster.scaler_.to_json(),
        "windows": forecaster.windows_,
    }
    text = json.dumps(meta, indent=2)
    os.makedirs(path, exist_ok=True)
    forecaster.model_.save(os.path.join(path, "model.keras"))
    with open(os.path.join(path, "forecaster.json"), "w") as f:
        f.write(text)
    return path


def load(path, cls):
    """The fitted forecaster saved at `path`, as an instance of `cls`."""
    with open(os.path.join(path, "forecaster.json")) as f:
        meta = json.load(f)
    forecaster = cls(**{name: _decode(value) for name, value in meta["config"].items()})
    layout = forecaster._check_params()
    model = keras.saving.load_model(os.path.join(path, "model.keras"))
    scaler = AffineScaler.from_json(meta["scaler"], method=forecaster.scaler)
    forecaster._set_fitted(model, scaler, layout, meta["freq"], meta["series"], meta["windows"])
    return forecaster
