"""Saving and loading a fitted `Forecaster`: `model.keras` (the Keras model)
and `forecaster.json` (every constructor argument, the fitted scaler, the
frequency and time zone, the series ids, the window counts, the fit options,
the categories of categorical covariates, the fitted target transform, the
last timestamp fitted on per series (in UTC), and a fingerprint tying them together).
No pickle.

Arguments that are objects are written by `tsgate.argument_json` so that
they come back equal, or refused at `save`.

`load` trusts nothing it reads. `forecaster.json` carries a fingerprint of the
model (its file's SHA-256, input and output names and shapes, a SHA-256 of its
weights in order) and of the scaler (shape, column names, a SHA-256 of its
state), and a SHA-256 of its own contents; a file that is missing, truncated,
garbled, edited by hand or another forecaster's is a `SavedForecasterError`
(a ValueError) or a FileNotFoundError naming the file, before anything of it
is used. Files of format 1 (tsgate 0.1.0 before the fingerprint) are refused:
fit and save the forecaster again.
"""

import hashlib
import json
import os
import zipfile

import keras
import numpy as np

from tsgate.argument_json import TUPLE, decode_argument, encode_argument
from tsgate.files import staged
from tsgate.preprocessing import Preprocessor
from tsgate.training import with_dtype_policy
from tsgate.validation import check_fitted

FORMAT = 2
MODEL_FILE, META_FILE = "model.keras", "forecaster.json"
KEYS = ("format", "tsgate_version", "config", "freq", "tz", "series", "scaler", "windows", "fingerprint", "digest")
COLUMN_ARGUMENTS = ("target", "past_covariates", "future_covariates", "calendar", "static_covariates")


class SavedForecasterError(ValueError):
    """A saved forecaster's file is corrupted, edited, or belongs to another
    forecaster; `path` is the file."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")
        self.path = path


# ------------------------------------------------------------- fingerprints
def _json_digest(value):
    """SHA-256 of `value`'s canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _weights_digest(model):
    """SHA-256 over the model's weights in order: dtype, shape and bytes of each."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        array = np.ascontiguousarray(weight)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _model_structure(model):
    """{"inputs": {name: shape}, "outputs": {name: shape}} of a Keras model, as JSON."""
    names = list(getattr(model, "output_names", None) or [f"output_{i}" for i in range(len(model.outputs))])
    return {"inputs": {t.name: list(t.shape) for t in model.inputs},
            "outputs": {name: list(t.shape) for name, t in zip(names, model.outputs)}}


def _scaler_fingerprint(state):
    """Shape, column names and a digest of a scaler's JSON state."""
    return {"shape": list(np.shape(state["scale"])), "columns": state["feature_names"], "sha256": _json_digest(state)}


def _column_names(value):
    """A column argument as decoded from JSON, as a list (for messages)."""
    if isinstance(value, dict) and TUPLE in value:
        value = value[TUPLE]
    return [value] if isinstance(value, str) else value


# ------------------------------------------------------------------- save
def save(forecaster, path):
    """Writes `path/model.keras` and `path/forecaster.json`; every argument
    is checked before anything is written, and each file is written under a
    temporary name and renamed into place."""
    from tsgate import __version__

    path = _check_path(path)
    check_fitted(forecaster)
    config = {name: encode_argument(name, value) for name, value in forecaster.get_params(deep=False).items()}
    state = forecaster.preprocessor_.to_json()
    os.makedirs(path, exist_ok=True)
    # both files written before either is renamed into place, model.keras first
    with staged(os.path.join(path, META_FILE)) as meta_staging, staged(os.path.join(path, MODEL_FILE)) as model_staging:
        forecaster.model_.save(model_staging)
        meta = {
            "format": FORMAT,
            "tsgate_version": __version__,
            "config": config,
            **state,  # freq, tz (the zone calendar features are computed in), series, scaler, categories, ...
            "windows": forecaster.windows_,
            "fit_options": forecaster.fit_options_,
            "selection": None if forecaster.selection_ is None else forecaster.selection_.to_dict("records"),
            "updates": forecaster.updates_,
            "fingerprint": {
                "model": {**_model_structure(forecaster.model_), "weights_sha256": _weights_digest(forecaster.model_),
                          "file_sha256": _file_digest(model_staging)},
                "scaler": _scaler_fingerprint(state["scaler"]),
                "columns": {name: config[name] for name in COLUMN_ARGUMENTS},
            },
        }
        meta = json.loads(json.dumps(meta))  # the digest is of what load will read
        meta["digest"] = _json_digest(meta)
        with open(meta_staging, "w") as f:
            f.write(json.dumps(meta, indent=2))
    return path


# ------------------------------------------------------------------- load
def load(path, cls):
    """The fitted forecaster saved at `path`, as an instance of `cls` (a
    `Forecaster` class): `cls.load(path)`, which reads `load_parts`."""
    return cls.load(path)


def load_parts(path, cls):
    """The parts of the fitted forecaster saved at `path`, once both files
    are checked against the fingerprint written by `save`: an unfitted
    instance of `cls` with the saved arguments, the Keras model, the fitted
    `Preprocessor` and the contents of forecaster.json (`Forecaster.load`
    puts them together)."""
    path = _check_path(path)
    meta_path, model_path = os.path.join(path, META_FILE), os.path.join(path, MODEL_FILE)
    meta = _read_meta(path, meta_path)
    fingerprint = meta["fingerprint"]
    _check_model_file(model_path, meta_path, fingerprint["model"]["file_sha256"])
    try:
        forecaster = cls(**{name: decode_argument(value) for name, value in meta["config"].items()})
    except Exception as error:  # a custom cell layer not registered in this process, another tsgate's arguments
        raise SavedForecasterError(meta_path, f"cannot rebuild the saved arguments: {error}") from error
    preprocessor = Preprocessor.from_params(forecaster.get_params(deep=False))
    try:
        # under the saved dtype_policy: sublayers that a layer makes in its __init__ take the global policy
        model = with_dtype_policy(forecaster.dtype_policy, keras.saving.load_model, model_path)
    except Exception as error:  # a Keras version that cannot read it, an unregistered custom layer
        raise SavedForecasterError(model_path, f"Keras cannot load it: {type(error).__name__}: {error}") from error
    _check_model(model, model_path, fingerprint["model"])
    try:
        preprocessor.load_json(meta)
    except Exception as error:  # written by another tsgate, or by one with a bug
        raise SavedForecasterError(meta_path, f"cannot decode its fitted state: {type(error).__name__}: {error}") \
            from error
    return forecaster, model, preprocessor, meta


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Received an invalid value for argument `path`, expected a directory path, got {path!r}.")
    return os.fspath(path)


def _read_meta(path, meta_path):
    """forecaster.json, checked: JSON, the current format, every key, its digest."""
    if not os.path.isdir(path):
        if os.path.exists(path):
            raise SavedForecasterError(
                path, "is a file; a saved forecaster is a directory (model.keras, forecaster.json).")
        raise FileNotFoundError(f"No saved forecaster at {path}: the directory does not exist.")
    if not os.path.isfile(meta_path):
        raise FileNotFoundError(f"{path} is not a saved forecaster: {meta_path} is missing.")
    with open(meta_path, "rb") as f:
        data = f.read()
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SavedForecasterError(
            meta_path, f"not valid JSON ({error}); the file is truncated or corrupted.") from None
    if not isinstance(meta, dict) or "format" not in meta:
        raise SavedForecasterError(meta_path, "not a file written by Forecaster.save (no `format`).")
    if meta["format"] == 1:
        raise SavedForecasterError(
            meta_path, "format 1 (tsgate 0.1.0 before saved forecasters carried a fingerprint of their model and "
            f"scaler); this tsgate reads format {FORMAT} only, which it can verify: fit and save the forecaster again.")
    if meta["format"] != FORMAT:
        raise SavedForecasterError(meta_path, f"unknown format {meta['format']!r}; this tsgate reads format {FORMAT}.")
    missing = [key for key in KEYS if key not in meta]
    if missing:
        raise SavedForecasterError(meta_path, f"keys {missing} are missing; the file was edited or is corrupted.")
    if meta["digest"] != _json_digest({k: v for k, v in meta.items() if k != "digest"}):
        changes = "; ".join(_changes(meta)) or "its contents are not those Forecaster.save wrote"
        raise SavedForecasterError(meta_path, f"changed after it was saved ({changes}). Restore the file, or fit "
                                   "and save the forecaster again.")
    return meta


def _changes(meta):
    """What an edited forecaster.json changed, as far as its fingerprint tells
    (best effort, for the message only)."""
    changes = []
    try:
        fingerprint = meta["fingerprint"]
        saved = fingerprint["scaler"]
        scaler = _scaler_fingerprint(meta["scaler"])
        if scaler["shape"] != saved["shape"]:
            changes.append(f"its scaler has shape {tuple(scaler['shape'])}, it was fitted with {tuple(saved['shape'])}")
        if scaler["columns"] != saved["columns"]:
            changes.append(f"its scaler's columns are {scaler['columns']}, it was fitted on {saved['columns']}")
        if not changes and scaler["sha256"] != saved["sha256"]:
            changes.append("its scaler's values were edited")
        for name in COLUMN_ARGUMENTS:
            now, then = _column_names(meta["config"][name]), _column_names(fingerprint["columns"][name])
            if now != then:
                changes.append(f"`{name}` is {now}, the model was fitted with {then}")
    except Exception:  # noqa: BLE001 - a message helper; the digest already decided
        pass
    return changes


def _check_model_file(model_path, meta_path, expected):
    if not os.path.isfile(model_path):
        raise FileNotFoundError(f"{model_path} is missing; {META_FILE} beside it was saved with it.")
    if _file_digest(model_path) == expected:
        return
    try:
        with zipfile.ZipFile(model_path) as archive:
            intact = archive.testzip() is None and "config.json" in archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError):
        intact = False  # NotImplementedError, RuntimeError: a damaged header naming a compression zipfile lacks
    what = ("a valid Keras file of another model (another forecaster's?)" if intact
            else "corrupted (not an intact Keras zip archive)")
    raise SavedForecasterError(
        model_path, f"not the model saved with {meta_path} (its SHA-256 differs): it is {what}. Restore it, or fit "
        "and save the forecaster again.")


def _check_model(model, model_path, expected):
    """The loaded model against its fingerprint: names and shapes, weights."""
    structure = _model_structure(model)
    for part in ("inputs", "outputs"):
        if structure[part] != expected[part]:
            raise SavedForecasterError(
                model_path, f"its model has {part} {structure[part]}, the forecaster was saved with {expected[part]}.")
    if _weights_digest(model) != expected["weights_sha256"]:
        raise SavedForecasterError(model_path, "its weights differ from those the forecaster was saved with.")
