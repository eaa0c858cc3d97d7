"""`Forecaster`: a pandas time series in, forecasts in raw units out.

The facade over the pipeline: `tsgate.data` (frame → Panel → windows),
`tsgate.layout` (which column goes where), `tsgate.windows` (tf.data),
`tsgate.models` (the Keras model), `tsgate.scaling` (the scaler and the
raw-unit model), and, delegated, `tsgate.evaluation`, `tsgate.plotting`,
`tsgate.persistence` and `tsgate.serving`.
"""

import inspect
import json
import math
import os
import shutil
import time
import warnings

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tsgate import evaluation, persistence, plotting
from tsgate.data import FILLS, INFER, Panel, check_freq, future_values
from tsgate.layout import Layout
from tsgate.models import BUILDERS, CELLS, POINT_LOSSES, training_loss
from tsgate.scaling import AffineScaler, raw_unit_model
from tsgate.validation import (
    check_bool,
    check_choice,
    check_non_negative_int,
    check_optional_name,
    check_positive_float,
    check_positive_int,
    invalid,
)
from tsgate.windows import window_dataset

SCHEDULES = ("constant", "cosine")
BUILDER_ARGUMENTS = ("cell", "units", "layers")  # Forecaster arguments every builder takes
LARGEST = 2**31 - 1  # sizes and counts index int32 arrays and tensors


class Forecaster(BaseEstimator):
    """Direct multi-horizon forecaster built from tsgate cells.

    Args:
        target: column name(s) to forecast.
        lookback, horizon: input and output lengths in timesteps.
        stride: keep every stride-th window for training and validation
            (evaluation uses every window).
        cell: "gru", "lstm", "memory_gru", "sru", or a Keras layer used (as a
            fresh copy) as the encoder. units, layers: size of the recurrent stack.
        past_covariates: columns known up to the forecast origin.
        future_covariates: columns known for the horizon too (given to
            `predict` through `future`).
        calendar: calendar fields ("hour", "dayofweek", ...) added as sin/cos
            known-future covariates, computed from the timestamps.
        static_covariates: columns constant within each series.
        quantiles: e.g. (0.1, 0.5, 0.9) for a pinball-loss quantile head; must
            hold 0.5, the point forecast.
        scaler: "standard", "minmax", "robust" or an affine scikit-learn
            transformer; fitted on training rows only. scale_per_series: bool.
        freq, time_column, series_column, fill: see `tsgate.data.Panel.from_frame`.
        builder: a name in `tsgate.models.BUILDERS` (default "recurrent");
            builder_options: a dict of further arguments for it (e.g. dropout).
        loss: "mse", "mae" or "huber" on the scaled values (a quantile head
            trains on the pinball loss). learning_rate: Adam's; schedule:
            "constant" or "cosine" (decays to 0 over `epochs` of `fit`).
        seed: makes fitting repeatable.

    Fitted state (set together when `fit` succeeds): `model_` (Keras, scaled
    units), `raw_model_` (raw units), `scaler_`, `layout_`, `freq_`, `tz_`
    (the time zone of the training timestamps, None if naive), `series_`,
    `windows_`, `history_`.

    Time zones: calendar features are computed in `tz_`. Frames given to a
    fitted forecaster are converted to `tz_` when they are in another zone;
    naive timestamps for a model fitted on zoned ones (or the reverse) are
    an error.
    """

    def __init__(
        self,
        target,
        lookback,
        horizon,
        stride=1,
        cell="gru",
        units=32,
        layers=1,
        past_covariates=(),
        future_covariates=(),
        calendar=(),
        static_covariates=(),
        quantiles=None,
        scaler="standard",
        scale_per_series=False,
        freq=None,
        time_column=None,
        series_column=None,
        fill=None,
        builder="recurrent",
        builder_options=None,
        loss="mse",
        learning_rate=3e-3,
        schedule="constant",
        seed=0,
    ):
        self.target, self.lookback, self.horizon, self.stride = target, lookback, horizon, stride
        self.cell, self.units, self.layers = cell, units, layers
        self.past_covariates, self.future_covariates = past_covariates, future_covariates
        self.calendar, self.static_covariates, self.quantiles = calendar, static_covariates, quantiles
        self.scaler, self.scale_per_series = scaler, scale_per_series
        self.freq, self.time_column, self.series_column, self.fill = freq, time_column, series_column, fill
        self.builder, self.builder_options = builder, builder_options
        self.loss, self.learning_rate, self.schedule, self.seed = loss, learning_rate, schedule, seed

    # ---------------------------------------------------------- configuration
    def _layout(self):
        """The validated column layout of this configuration."""
        return Layout.from_arguments(self.target, self.past_covariates, self.future_covariates, self.calendar,
                                     self.static_covariates, self.quantiles)

    def _check_params(self):
        """Every constructor argument checked; the validated layout."""
        for name in ("lookback", "horizon", "stride", "units", "layers"):
            check_positive_int(name, getattr(self, name), LARGEST)
        if not isinstance(self.cell, (str, keras.layers.Layer)) or isinstance(self.cell, str) and self.cell not in CELLS:
            raise invalid("cell", f"one of {sorted(CELLS)} or a Keras layer", self.cell)
        check_bool("scale_per_series", self.scale_per_series)
        check_choice("fill", self.fill, FILLS)
        if self.freq is not None:
            check_freq(self.freq)
        check_optional_name("time_column", self.time_column)
        check_optional_name("series_column", self.series_column)
        check_choice("builder", self.builder, BUILDERS)
        self._check_builder_options()
        check_choice("loss", self.loss, POINT_LOSSES)
        check_positive_float("learning_rate", self.learning_rate)
        check_choice("schedule", self.schedule, SCHEDULES)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**32:
            raise invalid("seed", "an int in [0, 2**32)", self.seed)
        AffineScaler(self.scaler)._transformer()
        layout = self._layout()
        for name in ("time_column", "series_column"):
            column = getattr(self, name)
            if column is not None and column in layout.scaled + layout.static:
                raise invalid(name, "a column with no other role", column)
        if self.time_column is not None and self.time_column == self.series_column:
            raise invalid("series_column", "a column other than `time_column`", self.series_column)
        return layout

    def _check_builder_options(self):
        options = self.builder_options
        if options is None:
            return
        if not isinstance(options, dict) or not all(isinstance(key, str) for key in options):
            raise invalid("builder_options", "a dict of keyword arguments or None", options)
        parameters = inspect.signature(BUILDERS[self.builder]).parameters
        accepted = [name for name in list(parameters)[1:] if name not in BUILDER_ARGUMENTS]
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        unknown = [key for key in options if key in BUILDER_ARGUMENTS or not (takes_any or key in accepted)]
        if unknown:
            raise invalid("builder_options", f"options of the {self.builder!r} builder among {accepted} "
                          f"({list(BUILDER_ARGUMENTS)} are Forecaster arguments)", options)

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("This Forecaster is not fitted yet; call fit first (or Forecaster.load).")

    def panel(self, df):
        """The validated `Panel` of `df` with the fitted columns, frequency
        and time zone."""
        self._check_fitted()
        return self._panel(df, self.layout_, self.freq_, self.tz_)

    def _panel(self, df, layout, freq, tz):
        return Panel.from_frame(df, layout.scaled, freq=freq, time_column=self.time_column,
                                series_column=self.series_column, static_columns=layout.static, fill=self.fill, tz=tz)

    # -------------------------------------------------------------------- fit
    def fit(self, df, validation=0.2, epochs=20, batch_size=64, patience=5, checkpoint_dir=None, verbose=1):
        """Fits the scaler on the training rows and the model on the training
        windows (targets before the validation cutoff), with EarlyStopping on
        the validation windows and the best weights restored. With
        checkpoint_dir, the best model is written to `checkpoint_dir/best.keras`
        and the training state after every epoch to `checkpoint_dir/backup/`,
        each file atomically: a fit killed at any moment resumes, when called
        again with the same arguments, from its last finished epoch with
        EarlyStopping's best value, patience and best weights; the backup is
        removed when the fit ends. Returns self; the Keras History (of every
        epoch, those before a resume included) is `history_`."""
        layout = self._check_params()
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            check_positive_int(name, value, LARGEST)
        check_non_negative_int("patience", patience)
        if checkpoint_dir is not None and not (isinstance(checkpoint_dir, (str, os.PathLike)) and os.fspath(checkpoint_dir)):
            raise invalid("checkpoint_dir", "None or a directory path", checkpoint_dir)
        if isinstance(verbose, float):
            raise invalid("verbose", "0, 1, 2 or 'auto'", verbose)
        check_choice("verbose", verbose, (0, 1, 2, "auto"))
        keras.utils.set_random_seed(self.seed)
        panel = self._panel(df, layout, self.freq, INFER)
        cutoff = panel.cutoff(validation, "validation")
        train, dropped = panel.windows(self.lookback, self.horizon, before=cutoff)
        val, _ = panel.windows(self.lookback, self.horizon, after=cutoff)
        train, val = train[:: self.stride], val[:: self.stride]
        if len(train) == 0 or len(val) == 0:
            raise ValueError(
                f"Not enough data: {len(train)} training and {len(val)} validation windows of "
                f"lookback {self.lookback} + horizon {self.horizon} (each series needs at least "
                f"{self.lookback + self.horizon} consecutive rows on each side of the cutoff)."
            )
        ids = np.asarray(panel.series, dtype=object)[panel.series_index()]
        train_rows = panel.time < cutoff
        training_series = np.unique(panel.series_index()[train_rows])
        scaler = AffineScaler(self.scaler, self.scale_per_series).fit(
            panel.values[train_rows], ids[train_rows], layout.scaled,
            static=None if panel.static is None else panel.static[training_series])
        if dropped:
            warnings.warn(f"tsgate: {dropped} window positions dropped because they would straddle a gap "
                          f"({panel.gap_rows} missing timestamps).", stacklevel=2)
        arrays = layout.arrays(scaler.transform(panel.values, ids), panel.index())
        static = scaler.transform_static(panel.static)
        options = {"cell": self.cell, "units": self.units, "layers": self.layers, **(self.builder_options or {})}
        model = BUILDERS[self.builder](layout.spec(self.lookback, self.horizon), **options)
        steps = epochs * -(-len(train) // batch_size)
        model.compile(optimizer=keras.optimizers.Adam(self._learning_rate(steps)),
                      loss=training_loss(self.loss, layout.quantiles))
        fingerprint = {"weights": [list(w.shape) for w in model.weights], "windows": [len(train), len(val)],
                       "fit": [str(validation), epochs, batch_size, patience], "config": repr(self._plain_params())}
        history = self._train(model, self._dataset(panel, arrays, train, batch_size, shuffle=True, static=static),
                              self._dataset(panel, arrays, val, batch_size, static=static),
                              epochs, patience, checkpoint_dir, verbose, fingerprint)
        windows = {"train": len(train), "validation": len(val), "dropped_for_gaps": dropped}
        self._set_fitted(model, scaler, layout, panel.freq.freqstr, list(panel.series), windows, history, panel.tz)
        return self

    def _train(self, model, train, validation, epochs, patience, checkpoint_dir, verbose, fingerprint):
        """Keras fit with EarlyStopping (best weights restored) and, with
        `checkpoint_dir`, the crash-safe checkpoints (resuming an interrupted
        fit of the same `fingerprint`); the History of every epoch."""
        early_stopping = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
        callbacks, initial_epoch, stopped = [_StopOnNaN(), early_stopping], 0, False
        if checkpoint_dir is not None:
            checkpoints = _Checkpoints(os.fspath(checkpoint_dir), early_stopping, fingerprint)
            initial_epoch, stopped = checkpoints.restore(model)
            callbacks.append(checkpoints)
        history = model.fit(
            train, validation_data=validation, callbacks=callbacks, verbose=verbose,
            initial_epoch=initial_epoch,
            epochs=initial_epoch if stopped else epochs,  # stopped before a kill: only the best weights come back
            shuffle=False,  # the dataset reshuffles the training windows every epoch
        )
        if checkpoint_dir is not None:
            checkpoints.finish()  # the fit is over: a later fit with this directory starts afresh
            if initial_epoch:
                history.history, history.epoch = checkpoints.history, list(range(len(checkpoints.history["loss"])))
        self._check_converged(model, early_stopping)
        return history

    def _plain_params(self):
        """The constructor arguments, Keras layers by their config (for the checkpoint fingerprint)."""
        params = self.get_params(deep=False)
        return {name: (value.get_config() | {"name": None} if isinstance(value, keras.layers.Layer) else value)
                for name, value in sorted(params.items())}

    def _check_converged(self, model, early_stopping):
        """A model whose weights or best validation loss are NaN/inf is an error, not a forecaster."""
        best = early_stopping.best
        finite = best is not None and math.isfinite(best) and all(np.isfinite(w).all() for w in model.get_weights())
        if not finite:
            raise ValueError(f"Training diverged: the best validation loss is {best} and the weights are not all "
                             f"finite; lower `learning_rate` (got {self.learning_rate!r}) or check the data.")

    def _learning_rate(self, steps):
        """Adam's learning rate, or its schedule over `steps` training steps."""
        if self.schedule == "cosine":
            return keras.optimizers.schedules.CosineDecay(self.learning_rate, decay_steps=steps)
        return self.learning_rate

    def _set_fitted(self, model, scaler, layout, freq, series, windows, history=None, tz=None):
        """Assigns the whole fitted state at once (fit and load)."""
        self.model_, self.scaler_, self.layout_, self.freq_, self.tz_ = model, scaler, layout, freq, tz
        self.series_, self.windows_, self.history_ = series, windows, history
        self.raw_model_ = raw_unit_model(model, layout, scaler, layout.quantiles)

    def _dataset(self, panel, arrays, starts, batch_size, shuffle=False, static=None, series_index=None):
        """`window_dataset` of this panel's windows; `static` the static
        covariates fed (default: the panel's raw values, which the raw-unit
        model scales); `series_index` `(n_series,)` the scaler rows the
        raw-unit model takes with per-series scaling."""
        static = panel.static if static is None else static
        per_series = {"static": static} if static is not None else {}
        if series_index is not None:
            per_series["series_index"] = series_index
        return window_dataset(arrays, starts, self.lookback, self.horizon, batch_size, shuffle=shuffle,
                              seed=self.seed, per_series=per_series, series_of_row=panel.series_index())

    # ---------------------------------------------------------------- predict
    def predict(self, df, future=None):
        """Forecasts the `horizon` steps after the last timestamp of each
        series in `df` (its last `lookback` rows must have no gap). `future`
        holds the future covariates for those steps when the model uses them.
        Returns a DataFrame in raw units indexed by ([series,] time)."""
        panel, starts = self._origins(df, future)
        return self._frame(panel, starts, self._run(panel, starts))

    def historical_forecasts(self, df, start=None):
        """Raw-unit forecasts of every gap-free window of `df` whose targets
        start at or after `start` (a timestamp or a fraction of the span at the
        end; None: all), as a DataFrame indexed by ([series,] origin, time),
        `horizon` rows per window in window order; `origin` is the last input
        timestamp."""
        self._check_fitted()
        return self._historical(self.panel(df), start, "start")

    def _historical(self, panel, start, name):
        """`historical_forecasts` of a validated panel; `name` the argument `start` came as."""
        after = None if start is None else panel.cutoff(start, name)
        starts, _ = panel.windows(self.lookback, self.horizon, after=after)
        if len(starts) == 0:
            where = "" if start is None else f" after `{name}`={start!r}"
            raise ValueError(f"No complete window of lookback {self.lookback} + horizon {self.horizon} "
                             f"has its targets{where}.")
        return self._frame(panel, starts, self._run(panel, starts), origins=True)

    def serving_inputs(self, df, future=None):
        """The raw-unit inputs of the exported model for the forecast after
        the end of each series in `df`, as {name: array}, and the forecast's
        index (what `predict` returns it with)."""
        panel, starts = self._origins(df, future)
        batch = self._inputs(panel, starts, len(starts)).get_single_element()
        inputs = {name: np.asarray(value) for name, value in batch.items()}
        return inputs, self.layout_.index(self._levels(panel, starts))

    def _origins(self, df, future):
        """The panel of `df` extended by the horizon, and the start row of the
        last complete input window of each series."""
        self._check_fitted()
        layout = self.layout_
        if layout.future and future is None:
            raise ValueError(f"This model needs future covariates {list(layout.future)} for the "
                             f"{self.horizon} forecast steps; pass them as `future`.")
        panel, added = self.panel(df).extend(self.horizon)
        starts = []
        for k, rows in enumerate(panel.series_slices()):
            start = rows.stop - self.horizon - self.lookback
            if start < rows.start or not panel.valid[start : rows.stop - self.horizon].all():
                raise ValueError(f"Series {panel.series[k]!r} needs {self.lookback} consecutive rows without "
                                 "gaps before the forecast origin.")
            starts.append(start)
        if layout.future:
            columns = [layout.scaled.index(name) for name in layout.future]
            values = future_values(future, panel, added, layout.future, self.time_column, self.series_column)
            panel.values[np.ix_(added.ravel(), columns)] = values.reshape(-1, len(columns))
        return panel, np.asarray(starts)

    def _inputs(self, panel, starts, batch_size=256):
        """The raw-unit model's inputs for the windows at `starts`, batched."""
        series_index = self.scaler_.group_positions(panel.series).astype("int32") if self.scale_per_series else None
        arrays = self.layout_.arrays(np.nan_to_num(panel.values), panel.index())
        dataset = self._dataset(panel, arrays, starts, batch_size, series_index=series_index)
        return dataset.map(lambda inputs, _: inputs)

    def _run(self, panel, starts):
        outputs = self.raw_model_.predict(self._inputs(panel, starts), verbose=0)
        finite = np.isfinite(outputs["forecast"]).reshape(len(starts), -1).all(axis=1)
        if not finite.all():
            sid = panel.series[panel.series_index()[starts[int(np.argmin(finite))]]]
            raise ValueError(f"The forecast of series {sid!r} is not finite: its inputs are far outside what the "
                             "model was trained on (or the model is broken).")
        return outputs

    def _levels(self, panel, starts, origins=False):
        """The index levels of the forecasts of the windows at `starts`: one
        row per window and step, ([series,] [origin,] time)."""
        rows = (starts[:, None] + self.lookback + np.arange(self.horizon)).ravel()
        index = panel.index()
        levels = {"time": index[rows]}
        if origins:
            levels = {"origin": index[np.repeat(starts + self.lookback - 1, self.horizon)], **levels}
        if self.series_column:
            levels = {self.series_column: np.asarray(panel.series, dtype=object)[panel.series_index()[rows]], **levels}
        return levels

    def _frame(self, panel, starts, outputs, origins=False):
        """The forecast DataFrame of the windows at `starts`."""
        return self.layout_.frame(outputs, self._levels(panel, starts, origins))

    # -------------------------------------------------------------- delegates
    def evaluate(self, df, *args, **kwargs):
        """`tsgate.evaluation.evaluate(self, df, ...)`: see its arguments."""
        return evaluation.evaluate(self, df, *args, **kwargs)

    def backtest(self, df, *args, **kwargs):
        """`tsgate.evaluation.backtest(self, df, ...)`: fits clones, never this forecaster."""
        return evaluation.backtest(self, df, *args, **kwargs)

    def plot(self, df, *args, **kwargs):
        """`tsgate.plotting.plot_forecast(self, df, ...)`: see its arguments."""
        return plotting.plot_forecast(self, df, *args, **kwargs)

    def export(self, path, version=None, xla=False):
        """Writes the raw-unit SavedModel for TF Serving to `path/<version>/`
        (version: a positive int, default the current Unix time). See
        `tsgate.serving.export_forecast`."""
        from tsgate import __version__, serving

        self._check_fitted()
        version = int(time.time()) if version is None else version
        if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
            raise invalid("version", "a positive integer (TF Serving loads only those)", version)
        metadata = {"tsgate_version": __version__, "lookback": self.lookback, "horizon": self.horizon,
                    "freq": self.freq_, "tz": self.tz_, **self.layout_.metadata(), "quantiles": self.layout_.quantiles,
                    "scaler": self.scaler_.to_json()}
        return serving.export_forecast(self.raw_model_, os.path.join(path, str(version)), metadata, xla)

    def export_tflite(self, path):
        """The raw-unit model as TF Lite (batch 1, builtin ops), written to `path`."""
        from tsgate import serving

        self._check_fitted()
        return serving.export_tflite(self.raw_model_, path)

    def save(self, path):
        """See `tsgate.persistence.save`: model.keras and forecaster.json, no pickle."""
        return persistence.save(self, path)

    @classmethod
    def load(cls, path):
        """See `tsgate.persistence.load`."""
        return persistence.load(path, cls)


class _StopOnNaN(keras.callbacks.Callback):
    """Stops training, silently, after an epoch whose loss is NaN or inf (fit then reports it)."""

    def on_epoch_end(self, epoch, logs=None):
        if not math.isfinite(float((logs or {}).get("loss", 0.0))):
            self.model.stop_training = True


def _fsync(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_atomically(path, write):
    """Calls `write(temporary)` for a temporary file beside `path` (same
    suffix), flushes it to disk and renames it to `path`: a kill at any
    moment leaves either the old file or the new one, never a torn one."""
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".tmp-{os.getpid()}-{name}")
    write(temporary)
    _fsync(temporary)
    os.replace(temporary, path)
    _fsync(directory)


def _write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


class _Checkpoints(keras.callbacks.Callback):
    """`fit(checkpoint_dir=...)`: the best model and a training state that
    survive a kill at any moment.

        checkpoint_dir/best.keras            the model at the best validation loss so far
        checkpoint_dir/backup/state.json     epoch, weights file, EarlyStopping's state, history
        checkpoint_dir/backup/epoch-N.weights.h5   model and optimizer after epoch N
        checkpoint_dir/backup/best-N.npz     EarlyStopping's best weights (epoch N)

    Every file is written under a temporary name, flushed and renamed into
    place; `state.json` is renamed last and is the commit point: it names only
    complete files, and files it does not name are leftovers, removed. The
    state carries a fingerprint of the configuration, the data's windows and
    the fit arguments: a directory holding another fit's state is an error,
    never a silent resume. Must follow the EarlyStopping callback it restores.
    """

    STATE = "state.json"
    KEYS = ("fingerprint", "epoch", "weights", "stopped", "history", "early_stopping")

    def __init__(self, directory, early_stopping, fingerprint):
        super().__init__()
        self.directory, self.backup = directory, os.path.join(directory, "backup")
        self.early_stopping, self.fingerprint = early_stopping, fingerprint
        self.state, self.history = None, {}

    def restore(self, model):
        """Loads the state of an interrupted fit, if any, into `model`; returns
        the epoch to resume at and whether training had already stopped
        (early stopping or NaN). `history` then holds the epochs before."""
        try:
            os.makedirs(self.backup, exist_ok=True)
        except OSError as error:
            raise ValueError(f"Cannot create the checkpoint directory {self.backup!r}: {error}") from None
        path = os.path.join(self.backup, self.STATE)
        state = None
        if os.path.exists(path):
            try:
                with open(path) as f:
                    state = json.load(f)
            except (OSError, ValueError) as error:
                state = error
            if not isinstance(state, dict) or not set(self.KEYS) <= set(state):
                raise ValueError(f"The checkpoint state {path!r} is unreadable ({state!r}); tsgate's fit did not "
                                 f"write it. Delete {self.backup!r} to start afresh.")
            if state.get("fingerprint") != json.loads(json.dumps(self.fingerprint)):
                raise ValueError(
                    f"{self.directory!r} holds the checkpoints of an interrupted fit with other arguments, data or "
                    "configuration; call fit exactly as before to resume it, or give another `checkpoint_dir`."
                )
        self._remove_leftovers(state)
        if state is None:
            return 0, False
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(self.backup, state["weights"]))
        self.state, self.history = state, {key: list(values) for key, values in state["history"].items()}
        return state["epoch"], state["stopped"]

    def _remove_leftovers(self, state):
        keep = {self.STATE} if state is None else {self.STATE, state["weights"], state["early_stopping"]["best_weights"]}
        for name in os.listdir(self.backup):
            if name not in keep:
                os.remove(os.path.join(self.backup, name))
        for name in os.listdir(self.directory):
            if name.startswith(".tmp-"):
                os.remove(os.path.join(self.directory, name))

    def on_train_begin(self, logs=None):
        # EarlyStopping.on_train_begin has just reset its state: put back the one before the kill.
        self.best_file = None
        if self.state is None:
            return
        stopping, saved = self.early_stopping, self.state["early_stopping"]
        stopping.best, stopping.wait = saved["best"], saved["wait"]
        stopping.best_epoch, stopping.stopped_epoch = saved["best_epoch"], saved["stopped_epoch"]
        self.best_file = saved["best_weights"]
        if self.best_file:
            with np.load(os.path.join(self.backup, self.best_file)) as weights:
                stopping.best_weights = [weights[f"w{i}"] for i in range(len(weights.files))]

    def on_epoch_end(self, epoch, logs=None):
        stopping = self.early_stopping
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if stopping.best_epoch == epoch and stopping.best_weights is not None:  # a new best (or the first) epoch
            _write_atomically(os.path.join(self.directory, "best.keras"), self.model.save)
            best_file = f"best-{epoch + 1}.npz"
            _write_atomically(os.path.join(self.backup, best_file),
                              lambda path: np.savez(path, **{f"w{i}": w for i, w in enumerate(stopping.best_weights)}))
            self.best_file = best_file
        weights = f"epoch-{epoch + 1}.weights.h5"
        _write_atomically(os.path.join(self.backup, weights), self.model.save_weights)
        best = None if stopping.best is None else float(stopping.best)
        state = {
            "format": 1, "fingerprint": self.fingerprint, "epoch": epoch + 1, "weights": weights,
            "stopped": bool(self.model.stop_training), "history": self.history,
            "early_stopping": {"best": best, "wait": int(stopping.wait), "best_epoch": int(stopping.best_epoch),
                               "stopped_epoch": int(stopping.stopped_epoch), "best_weights": self.best_file},
        }
        text = json.dumps(state)
        _write_atomically(os.path.join(self.backup, self.STATE), lambda path: _write_text(path, text))
        self._remove_leftovers(state)

    def finish(self):
        """Removes the backup once the fit is over: the state file first, so
        that a kill midway leaves no state to resume, only leftovers."""
        state = os.path.join(self.backup, self.STATE)
        if os.path.exists(state):
            os.remove(state)
        shutil.rmtree(self.backup, ignore_errors=True)
