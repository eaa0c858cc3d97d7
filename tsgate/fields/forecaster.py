"""`FieldForecaster`: the `Forecaster`'s verbs for gridded time series.

    fit(field)                    per-channel scaler and climatology on the frames before the validation
                                  cut-off, windows of frames gathered by index (tf.data), the encoder–forecaster
                                  trained by `tsgate.training` (early stopping, checkpoints, dtype policy),
                                  missing pixels out of the loss
    predict(field)                the `horizon` frames after the end of each sequence, raw units
    historical_forecasts(field)   every window's forecast, with its actuals and inputs
    evaluate(field, test)         metrics by lead time next to persistence and climatology
    save / load                   model.keras + field_forecaster.json (atomic, no pickle)
    export / export_tflite        the raw-unit model (frames in, frames out) for TF Serving and TF Lite

The raw-unit model is `frames → scale → model → inverse scale`, what
`predict` runs and the exports serve. Missing input pixels (NaN, with
`missing="mask"`) are filled with their channel's training mean before it;
the served signature refuses NaN, so a client fills them the same way.
"""

import json
import os
import time
from dataclasses import dataclass

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler

from tsgate import choices
from tsgate.fields import metrics
from tsgate.fields.data import Field
from tsgate.fields.model import build_field_model
from tsgate.files import staged
from tsgate.scaling import Affine
from tsgate.training import FitOptions, fit_model, with_dtype_policy
from tsgate.validation import check_bool, check_choice, check_fitted, check_positive_int, invalid

MISSING = ("error", "mask")  # `missing`: NaN pixels refused, or left out of the loss
OWN_OPTIONS = ("filters", "kernel_size", "padding", "return_sequences", "return_state", "name")  # the model's own
MODEL_FILE, META_FILE = "model.keras", "field_forecaster.json"
CHUNK = 256  # frames read at a time when fitting the scaler


@dataclass(frozen=True)
class FieldWindows:
    """What `fit` trains on, as `tsgate.training.fit_model` reads it."""

    train: object
    validation: object
    n_train: int
    n_validation: int
    counts: dict


@dataclass(frozen=True)
class FieldForecasts:
    """`historical_forecasts`: for each window (in the order of
    `Field.window_starts`), `forecasts` and `actuals` `(n, horizon, height,
    width, channels)` (actuals NaN where missing), the `inputs` `(n,
    lookback, ...)` as the model read them (missing pixels filled), and
    `origins`, the clock of each window's last input frame."""

    forecasts: np.ndarray
    actuals: np.ndarray
    inputs: np.ndarray
    origins: np.ndarray


class FieldForecaster(BaseEstimator):
    """Direct multi-frame forecaster of gridded time series: a ConvGRU
    encoder–forecaster (`tsgate.fields.model.build_field_model`) between a
    per-channel standard scaler and its inverse.

    Args:
        lookback, horizon: frames read and frames forecast.
        filters: ConvGRU2D filters of each level (each halves the grid).
        kernel_size: of every convolution. cell_options: more ConvGRU2D
            arguments (`{"zoneout": 0.1}`, `{"reset_after": False}`).
        residual: forecast changes from the last input frame (persistence
            plus a learned change), for slowly varying fields.
        loss: "mse", "mae" or "huber", over the observed pixels.
        learning_rate: Adam's. seed: weights and shuffling.
        missing: "error" (NaN pixels refused, naming the frames) or "mask"
            (left out of the loss; as inputs, the channel's training mean).
        dtype_policy: "float32" or "mixed_bfloat16".

    Fitted state: `model_` (scaled units), `raw_model_` (raw units),
    `scale_`, `offset_` `(channels,)` (`scaled = raw * scale + offset`),
    `climatology_` `(height, width, channels)` the mean training frame,
    `range_` `(2, channels)` the training minimum and maximum, `grid_`,
    `channels_`, `windows_`, `history_`, `fit_options_`.
    """

    def __init__(self, lookback, horizon, filters=(16, 32), kernel_size=3, cell_options=None, residual=False,
                 loss="mse", learning_rate=1e-3, missing="error", seed=0, dtype_policy="float32"):
        self.lookback, self.horizon, self.filters, self.kernel_size = lookback, horizon, filters, kernel_size
        self.residual = residual
        self.cell_options, self.loss, self.learning_rate = cell_options, loss, learning_rate
        self.missing, self.seed, self.dtype_policy = missing, seed, dtype_policy

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _check_arguments(self):
        check_positive_int("lookback", self.lookback)
        check_positive_int("horizon", self.horizon)
        check_positive_int("kernel_size", self.kernel_size)
        filters = (self.filters,) if isinstance(self.filters, int) else self.filters
        if not isinstance(filters, (tuple, list)) or not filters:
            raise invalid("filters", "a positive int or a non-empty tuple of them", self.filters)
        for size in filters:
            check_positive_int("filters", size)
        check_bool("residual", self.residual)
        check_choice("loss", self.loss, choices.POINT_LOSSES)
        check_choice("missing", self.missing, MISSING)
        check_choice("dtype_policy", self.dtype_policy, choices.DTYPE_POLICIES)
        if self.cell_options is not None and not isinstance(self.cell_options, dict):
            raise invalid("cell_options", "None or a dict of ConvGRU2D arguments", self.cell_options)
        taken = [key for key in (self.cell_options or {}) if key in OWN_OPTIONS]
        if taken:
            raise ValueError(f"cell_options sets {taken[0]!r}, which the field model sets itself (it sets "
                             f"{list(OWN_OPTIONS)}); use `filters` and `kernel_size` for the sizes.")
        return tuple(int(size) for size in filters)

    # -------------------------------------------------------------------- fit
    def fit(self, field, validation=0.2, epochs=20, batch_size=16, patience=5, checkpoint_dir=None, verbose="auto",
            callbacks=None):
        """Fits the scaler and climatology on the frames before the
        `validation` cut-off (a fraction of the clock's span at its end, a
        timestamp, or a frame position) and the model on the windows whose
        targets all lie before it, early stopping on those whose targets
        start at or after it (best weights restored). `field`: a `Field`,
        or an array `(time, height, width[, channels])`. Returns self."""
        filters = self._check_arguments()
        field = as_field(field)
        field.check_span(self.lookback, self.horizon)
        field.check_missing(self.missing == "mask")
        options = FitOptions(validation, epochs, batch_size, patience, checkpoint_dir, verbose, callbacks, None, None)
        cut = field.cutoff(validation, "validation")
        train_starts = field.window_starts(self.lookback, self.horizon, before=cut)
        val_starts = field.window_starts(self.lookback, self.horizon, after=cut)
        if len(train_starts) == 0 or len(val_starts) == 0:
            raise ValueError(f"Not enough frames: {len(train_starts)} training and {len(val_starts)} validation "
                             f"windows of lookback {self.lookback} + horizon {self.horizon} on each side of the "
                             f"validation cut-off at frame {int(np.searchsorted(field.clock(), cut))} of "
                             f"{len(field)}; give more frames or move `validation`.")
        training_frames = field.values[field.clock() < cut]
        scale, offset, climatology, bounds = _statistics(training_frames)
        empty = np.flatnonzero(~np.isfinite(offset))
        if len(empty):
            raise ValueError(f"Channel {field.channels[empty[0]]!r} has no observed pixel in the training frames "
                             "(before the validation cut-off): nothing to scale it by.")
        keras.utils.set_random_seed(self.seed)
        windows = FieldWindows(
            *[self._dataset(field, starts, options.batch_size, shuffle, scale, offset)
              for starts, shuffle in ((train_starts, True), (val_starts, False))],
            len(train_starts), len(val_starts), {"train": len(train_starts), "validation": len(val_starts)})

        def build():
            return with_dtype_policy(self.dtype_policy, build_field_model, self.lookback, self.horizon, field.grid,
                                     filters, self.kernel_size, self.cell_options, self.residual)

        model, history = fit_model(build, self.loss, self.learning_rate, "constant", windows, options,
                                   self.get_params())
        self._set_fitted(model, scale, offset, climatology, bounds, field.grid, field.channels, windows.counts,
                         {key: value for key, value in options.to_json().items() if key != "steps_per_epoch"})
        self.history_ = history
        return self

    def _set_fitted(self, model, scale, offset, climatology, bounds, grid, channels, counts, fit_options):
        """Assigns the fitted state at once (`fit`, `load`)."""
        self.model_, self.scale_, self.offset_ = model, np.asarray(scale), np.asarray(offset)
        self.climatology_, self.range_ = np.asarray(climatology, "float32"), np.asarray(bounds, "float64")
        self.grid_, self.channels_ = tuple(grid), tuple(channels)
        self.windows_, self.fit_options_ = dict(counts), dict(fit_options)
        self.raw_model_ = raw_unit_field_model(model, self.scale_, self.offset_)

    def _dataset(self, field, starts, batch_size, shuffle, scale, offset):
        """The windows at `starts` as a tf.data dataset of batches: frames
        gathered by index (`tsgate.windows.window_dataset`), then scaled
        (inputs NaN-free: a missing pixel is its channel's mean, 0 scaled;
        labels NaN where missing)."""
        import tensorflow as tf

        from tsgate.windows import window_dataset

        scale_t, offset_t = tf.constant(scale, "float32"), tf.constant(offset, "float32")

        def scaled(inputs, targets):
            frames = inputs["past_target"] * scale_t + offset_t
            return {"frames": tf.where(tf.math.is_nan(frames), tf.zeros_like(frames), frames)}, \
                targets * scale_t + offset_t

        dataset = window_dataset({"target": field.values}, starts, self.lookback, self.horizon, batch_size,
                                 shuffle=shuffle, seed=self.seed)
        return dataset.map(scaled, num_parallel_calls=2)

    # --------------------------------------------------------------- forecast
    def predict(self, field, batch_size=64):
        """The `horizon` frames after the last frame of each sequence of
        `field`, raw units: `(sequences, horizon, height, width, channels)`."""
        field = self._checked(field)
        batch_size = check_positive_int("batch_size", batch_size)
        lengths = np.diff(field.offsets)
        if (lengths < self.lookback).any():
            k = int(np.argmax(lengths < self.lookback))
            raise ValueError(f"Sequence {k} has {int(lengths[k])} frames; the forecast reads the last "
                             f"lookback={self.lookback}.")
        frames = field.values[field.offsets[1:, None] - self.lookback + np.arange(self.lookback)]
        frames = np.where(np.isnan(frames), self._mean(), frames).astype("float32")
        return self._run({"frames": frames}, batch_size)

    def historical_forecasts(self, field, start=None, batch_size=64, name="start"):
        """The forecast of every window of `field` whose targets start at or
        after `start` (a fraction, a timestamp or a frame position; None:
        every window), with its actuals and inputs (`FieldForecasts`);
        `name`: the argument that gave `start`, for its errors."""
        field = self._checked(field)
        batch_size = check_positive_int("batch_size", batch_size)
        after = None if start is None else field.cutoff(start, name)
        starts = field.window_starts(self.lookback, self.horizon, after=after)
        if len(starts) == 0:
            raise ValueError(f"No window of lookback {self.lookback} + horizon {self.horizon} has its targets "
                             f"after `{name}`={start!r}.")
        inputs = field.values[starts[:, None] + np.arange(self.lookback)]
        inputs = np.where(np.isnan(inputs), self._mean(), inputs).astype("float32")
        actuals = field.values[starts[:, None] + self.lookback + np.arange(self.horizon)]
        forecasts = self._run({"frames": inputs}, batch_size)
        return FieldForecasts(forecasts, actuals, inputs, field.clock()[starts + self.lookback - 1])

    def evaluate(self, field, test=0.2, thresholds=()):
        """Metrics by lead time (`tsgate.fields.metrics`: MSE, MAE, SSIM, and
        CSI and HSS at each of `thresholds`, raw units) of the windows whose
        targets start in the last `test` part of `field` (as `start` of
        `historical_forecasts`; None: every window, for a field held out
        whole), next to persistence and climatology: a DataFrame indexed by
        ("lead", "model")."""
        thresholds = metrics.check_thresholds(thresholds)
        scored = self.historical_forecasts(field, test, name="test")
        models = {"tsgate": scored.forecasts,
                  **metrics.baselines(scored.inputs, self.horizon, self.climatology_)}
        return metrics.lead_table(scored.actuals, models, self.range_[1] - self.range_[0], thresholds)

    def _checked(self, field):
        check_fitted(self)
        field = as_field(field)
        if field.grid != self.grid_:
            raise ValueError(f"The frames have shape {field.grid} (height, width, channels); this forecaster was "
                             f"fitted on {self.grid_}.")
        if field.channels != self.channels_ and not (_unnamed(field.channels) or _unnamed(self.channels_)):
            raise ValueError(f"The frames' channels are {list(field.channels)}; this forecaster was fitted on "
                             f"{list(self.channels_)}, in that order.")
        field.check_missing(self.missing == "mask", fitted=True)
        return field

    def _mean(self):
        """`(channels,)` each channel's training mean, raw units (what a missing input pixel reads as)."""
        return (-self.offset_ / self.scale_).astype("float32")

    def _run(self, inputs, batch_size):
        forecast = self.raw_model_.predict(inputs, batch_size=batch_size, verbose=0)["forecast"]
        if not np.isfinite(forecast).all():
            raise ValueError("The forecast is not finite: its frames are far outside what the model was trained on "
                             "(or the model is broken).")
        return forecast

    # ------------------------------------------------------------- save, export
    def save(self, path):
        """`path/model.keras` and `path/field_forecaster.json` (the
        arguments and the fitted state), each written atomically."""
        check_fitted(self)
        os.makedirs(path, exist_ok=True)
        meta = {"format": 1, "params": {**self.get_params(), "filters": list(self._check_arguments())},
                "scale": self.scale_.tolist(), "offset": self.offset_.tolist(),
                "climatology": self.climatology_.tolist(), "range": self.range_.tolist(), "grid": list(self.grid_),
                "channels": list(self.channels_), "windows": self.windows_, "fit_options": self.fit_options_}
        # the model renamed into place first, the state last: a state on disk has its model
        with staged(os.path.join(path, META_FILE)) as meta_file, staged(os.path.join(path, MODEL_FILE)) as model_file:
            self.model_.save(model_file)
            with open(meta_file, "w", encoding="utf-8") as f:
                json.dump(meta, f, default=_number)
        return path

    @classmethod
    def load(cls, path):
        """The field forecaster `save` wrote at `path`."""
        meta_path, model_path = os.path.join(path, META_FILE), os.path.join(path, MODEL_FILE)
        for needed in (meta_path, model_path):
            if not os.path.isfile(needed):
                raise FileNotFoundError(f"{needed} does not exist: is {path!r} a saved FieldForecaster?")
        try:
            with open(meta_path, encoding="utf-8") as f:
                meta = json.load(f)
            params = {**meta["params"], "filters": tuple(meta["params"]["filters"])}
            forecaster = cls(**params)
            state = [meta[key] for key in ("scale", "offset", "climatology", "range", "grid", "channels", "windows",
                                           "fit_options")]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{meta_path} is not a field forecaster's state ({error!r}).") from None
        model = with_dtype_policy(forecaster.dtype_policy, keras.saving.load_model, model_path, compile=False)
        forecaster._set_fitted(model, *state)
        return forecaster

    def export(self, path, version=None, xla=False):
        """The raw-unit SavedModel for TF Serving at `path/<version>/`:
        `serving_default` takes "frames" `(b, lookback, height, width,
        channels)` (finite: fill missing pixels) and returns "forecast" `(b,
        horizon, height, width, channels)`; `assets/tsgate.json` holds the
        metadata (`tsgate.serving.export_forecast`)."""
        from tsgate import __version__, serving

        check_fitted(self)
        version = int(time.time()) if version is None else version
        if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
            raise invalid("version", "a positive integer (TF Serving loads only those)", version)
        metadata = {"tsgate_version": __version__, "kind": "field", "lookback": self.lookback,
                    "horizon": self.horizon, "grid": list(self.grid_), "channels": list(self.channels_),
                    "scale": self.scale_.tolist(), "offset": self.offset_.tolist(),
                    "missing_pixels": "fill with the channel's training mean, -offset / scale"}
        return serving.export_forecast(self.raw_model_, os.path.join(path, str(version)), metadata, xla)

    def export_tflite(self, path):
        """The raw-unit model as TF Lite (batch 1, builtin ops), written to `path`."""
        from tsgate import serving

        check_fitted(self)
        return serving.export_tflite(self.raw_model_, path)


def raw_unit_field_model(model, scale, offset):
    """`model` (scaled frames in and out) between the per-channel scaler
    and its inverse: "frames" raw → {"forecast"} raw."""
    frames = keras.Input(model.inputs[0].shape[1:], name="frames")
    scaled = Affine(scale, offset, name="scale_frames")(frames)
    forecast = Affine(scale, offset, inverse=True, name="unscale_forecast")(model({"frames": scaled}))
    return keras.Model({"frames": frames}, {"forecast": forecast}, name="raw_unit_field")


def _unnamed(channels):
    """Whether `channels` are the names `Field` gives when none are given (an array's)."""
    return channels == ("value",) or all(name == f"channel {k}" for k, name in enumerate(channels))


def _number(value):
    """JSON of a NumPy number among the arguments (`save`)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{value!r} cannot be saved as JSON")


def as_field(field):
    """A `Field` as it is, an array `(time, height, width[, channels])` as one sequence."""
    return field if isinstance(field, Field) else Field.from_array(field)


def _statistics(frames):
    """Of the training `frames` `(n, height, width, channels)` (NaN
    skipped): per-channel `scale`, `offset` of scikit-learn's
    `StandardScaler` (fitted a chunk at a time, `partial_fit`), the mean
    frame, and the `(2, channels)` minimum and maximum."""
    channels = frames.shape[-1]
    scaler = StandardScaler()
    total, count = np.zeros(frames.shape[1:]), np.zeros(frames.shape[1:])
    low, high = np.full(channels, np.inf), np.full(channels, -np.inf)
    for chunk in range(0, len(frames), CHUNK):
        part = frames[chunk:chunk + CHUNK].astype("float64")
        scaler.partial_fit(part.reshape(-1, channels))
        observed = np.isfinite(part)
        total += np.where(observed, part, 0).sum(axis=0)
        count += observed.sum(axis=0)
        low, high = np.fmin(low, np.nanmin(part, axis=(0, 1, 2))), np.fmax(high, np.nanmax(part, axis=(0, 1, 2)))
    std = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    mean_frame = np.where(count > 0, total / np.maximum(count, 1), scaler.mean_)
    return 1.0 / std, -scaler.mean_ / std, mean_frame, np.stack([low, high])
