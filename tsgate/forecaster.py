"""`Forecaster`: a pandas time series in, forecasts in raw units out.

The facade over the pipeline: `tsgate.data` (frame → Panel → windows),
`tsgate.layout` (which column goes where), `tsgate.windows` (tf.data),
`tsgate.models` (the Keras model), `tsgate.scaling` (the scaler and the
raw-unit model), and, delegated, `tsgate.evaluation`, `tsgate.plotting`,
`tsgate.persistence` and `tsgate.serving`.
"""

import os
import time
import warnings

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tsgate import evaluation, persistence, plotting
from tsgate.data import FILLS, Panel, extend
from tsgate.layout import Layout
from tsgate.models import BUILDERS, POINT_LOSSES, training_loss
from tsgate.scaling import AffineScaler, raw_unit_model
from tsgate.validation import check_bool, check_choice, check_positive_float, check_positive_int, invalid
from tsgate.windows import window_dataset

SCHEDULES = ("constant", "cosine")


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
    units), `raw_model_` (raw units), `scaler_`, `layout_`, `freq_`,
    `series_`, `windows_`, `history_`.
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
        for name in ("lookback", "horizon", "stride", "units", "layers"):
            check_positive_int(name, getattr(self, name))
        check_bool("scale_per_series", self.scale_per_series)
        check_choice("fill", self.fill, FILLS)
        check_choice("builder", self.builder, BUILDERS)
        if self.builder_options is not None and not isinstance(self.builder_options, dict):
            raise invalid("builder_options", "a dict or None", self.builder_options)
        check_choice("loss", self.loss, POINT_LOSSES)
        check_positive_float("learning_rate", self.learning_rate)
        check_choice("schedule", self.schedule, SCHEDULES)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise invalid("seed", "an int", self.seed)
        AffineScaler(self.scaler)._transformer()
        return self._layout()

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("This Forecaster is not fitted yet; call fit first (or Forecaster.load).")

    def panel(self, df):
        """The validated `Panel` of `df` with the fitted columns and frequency."""
        self._check_fitted()
        return self._panel(df, self.layout_, self.freq_)

    def _panel(self, df, layout, freq):
        return Panel.from_frame(df, layout.scaled, freq=freq, time_column=self.time_column,
                                series_column=self.series_column, static_columns=layout.static, fill=self.fill)

    # -------------------------------------------------------------------- fit
    def fit(self, df, validation=0.2, epochs=20, batch_size=64, patience=5, checkpoint_dir=None, verbose=1):
        """Fits the scaler on the training rows and the model on the training
        windows (targets before the validation cutoff), with EarlyStopping on
        the validation windows and the best weights restored. With
        checkpoint_dir, the best model is checkpointed and an interrupted fit
        resumes where it stopped (BackupAndRestore). Returns self; the Keras
        History is `history_`."""
        layout = self._check_params()
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            check_positive_int(name, value)
        keras.utils.set_random_seed(self.seed)
        panel = self._panel(df, layout, self.freq)
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
        scaler = AffineScaler(self.scaler, self.scale_per_series).fit(
            panel.values[train_rows], ids[train_rows], layout.scaled)
        if dropped:
            warnings.warn(f"tsgate: {dropped} window positions dropped because they would straddle a gap "
                          f"({panel.gap_rows} missing timestamps).", stacklevel=2)
        arrays = layout.arrays(scaler.transform(panel.values, ids), panel.time)
        options = {"cell": self.cell, "units": self.units, "layers": self.layers, **(self.builder_options or {})}
        model = BUILDERS[self.builder](layout.spec(self.lookback, self.horizon), **options)
        steps = epochs * -(-len(train) // batch_size)
        model.compile(optimizer=keras.optimizers.Adam(self._learning_rate(steps)),
                      loss=training_loss(self.loss, layout.quantiles))
        callbacks = [keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)]
        if checkpoint_dir:
            os.makedirs(checkpoint_dir, exist_ok=True)
            callbacks += [
                keras.callbacks.ModelCheckpoint(os.path.join(checkpoint_dir, "best.keras"), save_best_only=True),
                keras.callbacks.BackupAndRestore(os.path.join(checkpoint_dir, "backup")),
            ]
        history = model.fit(
            self._dataset(panel, arrays, train, batch_size, shuffle=True),
            validation_data=self._dataset(panel, arrays, val, batch_size),
            epochs=epochs, callbacks=callbacks, verbose=verbose,
            shuffle=False,  # the dataset reshuffles the training windows every epoch
        )
        windows = {"train": len(train), "validation": len(val), "dropped_for_gaps": dropped}
        self._set_fitted(model, scaler, layout, panel.freq.freqstr, list(panel.series), windows, history)
        return self

    def _learning_rate(self, steps):
        """Adam's learning rate, or its schedule over `steps` training steps."""
        if self.schedule == "cosine":
            return keras.optimizers.schedules.CosineDecay(self.learning_rate, decay_steps=steps)
        return self.learning_rate

    def _set_fitted(self, model, scaler, layout, freq, series, windows, history=None):
        """Assigns the whole fitted state at once (fit and load)."""
        self.model_, self.scaler_, self.layout_, self.freq_ = model, scaler, layout, freq
        self.series_, self.windows_, self.history_ = series, windows, history
        self.raw_model_ = raw_unit_model(model, layout, scaler, layout.quantiles)

    def _dataset(self, panel, arrays, starts, batch_size, shuffle=False, series_index=None):
        """`window_dataset` of this panel's windows; `series_index` `(n_series,)`
        the scaler rows the raw-unit model takes with per-series scaling."""
        per_series = {"static": panel.static} if panel.static is not None else {}
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
        panel = self.panel(df)
        after = None if start is None else panel.cutoff(start, "start")
        starts, _ = panel.windows(self.lookback, self.horizon, after=after)
        if len(starts) == 0:
            raise ValueError(f"No complete window of lookback {self.lookback} + horizon {self.horizon} "
                             f"has its targets after {start}.")
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
        self.panel(df)  # validates `df` as it is, before the horizon rows are added
        extended = extend(df, self.horizon, self.freq_, self.time_column, self.series_column,
                          future if layout.future else None, layout.future, layout.static)
        panel = self.panel(extended)
        starts = []
        for k, rows in enumerate(panel.series_slices()):
            start = rows.stop - self.horizon - self.lookback
            if start < rows.start or not panel.valid[start : rows.stop - self.horizon].all():
                raise ValueError(f"Series {panel.series[k]!r} needs {self.lookback} consecutive rows without "
                                 "gaps before the forecast origin.")
            starts.append(start)
        return panel, np.asarray(starts)

    def _inputs(self, panel, starts, batch_size=256):
        """The raw-unit model's inputs for the windows at `starts`, batched."""
        series_index = self.scaler_.group_positions(panel.series).astype("int32") if self.scale_per_series else None
        arrays = self.layout_.arrays(np.nan_to_num(panel.values), panel.time)
        dataset = self._dataset(panel, arrays, starts, batch_size, series_index=series_index)
        return dataset.map(lambda inputs, _: inputs)

    def _run(self, panel, starts):
        return self.raw_model_.predict(self._inputs(panel, starts), verbose=0)

    def _levels(self, panel, starts, origins=False):
        """The index levels of the forecasts of the windows at `starts`: one
        row per window and step, ([series,] [origin,] time)."""
        rows = (starts[:, None] + self.lookback + np.arange(self.horizon)).ravel()
        levels = {"time": panel.time[rows]}
        if origins:
            levels = {"origin": np.repeat(panel.time[starts + self.lookback - 1], self.horizon), **levels}
        if self.series_column:
            levels = {self.series_column: np.asarray(panel.series, dtype=object)[panel.series_index()[rows]], **levels}
        return levels

    def _frame(self, panel, starts, outputs, origins=False):
        """The forecast DataFrame of the windows at `starts`."""
        return self.layout_.frame(outputs, self._levels(panel, starts, origins))

    # -------------------------------------------------------------- delegates
    def evaluate(self, df, test=0.2):
        """See `tsgate.evaluation.evaluate`."""
        return evaluation.evaluate(self, df, test)

    def backtest(self, df, folds=3, test=0.2, refit=True, **fit_options):
        """See `tsgate.evaluation.backtest`: fits clones, never this forecaster."""
        return evaluation.backtest(self, df, folds, test, refit, **fit_options)

    def plot(self, df, path=None, history=None, series=None):
        """See `tsgate.plotting.plot_forecast`."""
        return plotting.plot_forecast(self, df, path, history, series)

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
                    "freq": self.freq_, **self.layout_.metadata(), "quantiles": self.layout_.quantiles,
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
