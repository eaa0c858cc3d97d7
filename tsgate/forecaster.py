"""`Forecaster`: a pandas time series in, forecasts in raw units out.

The facade orchestrates; each stage is a module of its own:
`tsgate.arguments` (the constructor's checks), `tsgate.preprocessing` (the
fitted stage between a frame and the model: encoder, target transform,
scaler, windows, forecast frames), `tsgate.training` (build, compile and
train the Keras model), and, delegated, `tsgate.evaluation`,
`tsgate.model_selection`, `tsgate.plotting`, `tsgate.persistence` and
`tsgate.serving`. A new feature goes into one of them, never into a branch
here (ARCHITECTURE.md).
"""

import os
import time

import keras
import pandas as pd
from sklearn.base import BaseEstimator

from tsgate import distributed, evaluation, model_selection, persistence, plotting, training, updating
from tsgate._moved import lender
from tsgate._quiet import keras_retracing_quiet
from tsgate.arguments import plain_arguments
from tsgate.lookback import planned_options
from tsgate.models import BUILDERS, ensemble, training_loss
from tsgate.preprocessing import Preprocessor
from tsgate.validation import check_fitted, invalid


class _Fitted:
    """A fitted attribute of the forecaster's `preprocessor_`, read through
    (`forecaster.scaler_` is `forecaster.preprocessor_.scaler_`): one owner,
    the public names of before."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, forecaster, owner=None):
        if forecaster is None:
            return self
        if "preprocessor_" not in vars(forecaster):
            raise AttributeError(f"{type(forecaster).__name__!r} object has no attribute {self.name!r} (not fitted)")
        return getattr(forecaster.preprocessor_, self.name)

    def __set__(self, forecaster, value):
        raise AttributeError(f"`{self.name}` is fitted state of `preprocessor_`, set by fit or load.")


class Forecaster(BaseEstimator):
    """Direct multi-horizon forecaster built from tsgate cells.

    Args:
        target: column name(s) to forecast.
        lookback, horizon: input and output lengths in timesteps; lookback
            "auto": whole seasons of the data's frequency, as many as its
            training rows leave room for, planned at fit (`tsgate.lookback`).
        stride: keep every stride-th window for training and validation
            (evaluation uses every window).
        cell: "gru", "lstm", "memory_gru", "sru", or a Keras layer used (as a
            fresh copy) as the encoder. units, layers: size of the recurrent stack.
        past_covariates: columns known up to the forecast origin.
        future_covariates: columns known for the horizon too (given to
            `predict` through `future`).
        calendar: calendar fields added as known-future covariates, computed
            from the timestamps: sin/cos of "hour", "minute", "dayofweek",
            "day" (of month), "dayofyear", "weekofyear" (ISO), "month",
            "quarter"; "holiday" (1.0 on the dates of `holidays`, else 0.0).
        static_covariates: columns constant within each series.
        categorical: covariate columns (of past, future or static) holding
            strings, pandas categories or integers, one-hot encoded with the
            categories seen by `fit` (`tsgate.data.CategoricalEncoder`); an
            unknown category later is an error naming column and value.
        holidays: the dates of the "holiday" calendar field: a pandas holiday
            calendar instance (`pandas.tseries.holiday.USFederalHolidayCalendar()`)
            or a list of dates.
        target_transform: None, "log1p" (`log(1 + y)`, targets > −1) or
            "boxcox" (λ per target fitted on the training rows, targets > 0),
            applied to the targets before the scaler and inverted on the
            forecast, in `predict` and in the exported graph alike; or, for
            prices, "log_return", "pct_change" (prices > 0) or "diff": returns from
            each window's origin, turned back into prices (`transforms.TargetTransform`).
        non_negative: clip the forecast and its quantiles at 0 in raw units.
        quantiles: e.g. (0.1, 0.5, 0.9) for a pinball-loss quantile head; must
            hold 0.5, the point forecast.
        scaler: "standard", "minmax", "robust" or an affine scikit-learn
            transformer; fitted on training rows only. scale_per_series: bool.
        freq, time_column, series_column, fill, na_values, sort, duplicates:
            see `tsgate.data.Panel.from_frame`; every frame given (to fit,
            predict, update, ...) is read so. sort: rows in any order (a
            newest-first download); duplicates: "error" (default), "first",
            "last" or "mean" for rows of one series at one timestamp. freq: a pandas frequency, e.g.
            "h", "B" or `pandas.offsets.CustomBusinessDay(calendar=...)`;
            inferred when None (weekdays with a few missing: business days
            with those as holidays, also in later frames). With `fill`,
            missing targets are filled as inputs but left out of the loss.
        builder: a name in `tsgate.models.BUILDERS` (default "recurrent");
            builder_options: a dict of further arguments for it (e.g. dropout).
        loss: "mse", "mae" or "huber" on the scaled values (a quantile head
            trains on the pinball loss). learning_rate: Adam's; schedule:
            "constant" or "cosine" (decays to 0 over `epochs` of `fit`).
        seed: makes fitting repeatable.
        dtype_policy: "float32" (default) or "mixed_bfloat16" (Keras' mixed
            precision: the model's layers compute in bfloat16 and keep float32
            weights; about 2x faster training of large models on CPUs with
            AMX, see benchmarks/README.md). The model is built (and loaded)
            under it, the global Keras policy is left as it was; scaling, the
            segment model's normalisation and the raw-unit inputs and
            forecasts stay float32.
        n_members: an ensemble of that many models of this configuration,
            each initialised from its own draw of `seed` (what starts at
            zero, as the segment builder's linear path, starts alike),
            trained together (each on its own loss; early stopping on their
            mean forecast) and averaged inside the one model that
            `predict`, `save`, `export` and `export_tflite` use
            (`tsgate.models.ensemble`): n_members times the training cost,
            a forecast less dependent on one seed. The History's `loss` is
            then the mean of the members' own losses, `val_loss` the loss of
            their average.
        calibration: None, "conformal" or "adaptive": the quantiles (a
            point forecaster's: `tsgate.calibration.POINT_LEVELS`)
            calibrated on the validation windows at the end of `fit`, a
            shift per horizon step, target and level (`tsgate.calibration`:
            split conformal, one more pass over those windows), applied by
            `predict` and served by the exports; `calibrate` does it later
            on other rows. "adaptive" also moves the shifts with each actual
            (online quantile tracking): `historical_forecasts`, `evaluate`
            and `backtest` replay it, `adapt(df)` keeps its last state.

    Fitted state (set together when `fit` succeeds): `model_` (Keras, scaled
    units), `raw_model_` (raw units), `preprocessor_` (the fitted
    `tsgate.preprocessing.Preprocessor`), `windows_`, `history_`,
    `fit_options_` (fit's validation, epochs, batch_size, patience and
    steps_per_epoch, JSON-ready), `selection_` (None, or the table of
    `tsgate.selection.select` that chose this configuration), `updates_`
    (a list: the record of each `update`, `tsgate.updating.update`), and, read through from the preprocessor:
    `scaler_`, `layout_` (the one-hot columns in place of each categorical
    one), `freq_` (a pandas offset; custom business days keep their
    holidays), `tz_` (the time zone of the training timestamps, None if
    naive), `series_`, `fit_end_` (the end of the frame fitted on: a Timestamp, or
    with a `series_column` a Series of each series' own), `encoder_` (the
    `CategoricalEncoder`, or None), `target_transform_` (the fitted
    `TargetTransform`, or None), `lookback_` (the lookback, planned for
    "auto"), `recipe_` (the plan of an "auto" lookback, else None),
    `calibration_` (the `tsgate.calibration.Calibration`, or None).

    Time zones: calendar features are computed in `tz_`. Frames given to a
    fitted forecaster are converted to `tz_` when they are in another zone;
    naive timestamps for a model fitted on zoned ones (or the reverse) are
    an error.
    """

    (layout_, scaler_, encoder_, target_transform_, freq_, tz_, series_, fit_end_, lookback_, recipe_,
     calibration_) = (_Fitted() for _ in range(11))

    def __init__(self, target, lookback, horizon, stride=1, cell="gru", units=32, layers=1, past_covariates=(),
                 future_covariates=(), calendar=(), static_covariates=(), quantiles=None, scaler="standard",
                 scale_per_series=False, freq=None, time_column=None, series_column=None, fill=None, na_values=None,
                 builder="recurrent", builder_options=None, loss="mse", learning_rate=3e-3, schedule="constant",
                 seed=0, target_transform=None, non_negative=False, categorical=(), holidays=None,
                 dtype_policy="float32", n_members=1, calibration=None, sort=False, duplicates="error"):
        self.target, self.lookback, self.horizon, self.stride = target, lookback, horizon, stride
        self.cell, self.units, self.layers = cell, units, layers
        self.past_covariates, self.future_covariates = past_covariates, future_covariates
        self.calendar, self.static_covariates, self.quantiles = calendar, static_covariates, quantiles
        self.scaler, self.scale_per_series = scaler, scale_per_series
        self.freq, self.time_column, self.series_column, self.fill = freq, time_column, series_column, fill
        self.na_values, self.sort, self.duplicates = na_values, sort, duplicates
        self.builder, self.builder_options = builder, builder_options
        self.loss, self.learning_rate, self.schedule, self.seed = loss, learning_rate, schedule, seed
        self.target_transform, self.non_negative = target_transform, non_negative
        self.categorical, self.holidays = categorical, holidays
        self.dtype_policy, self.n_members, self.calibration = dtype_policy, n_members, calibration

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def panel(self, df):
        """The validated `Panel` of `df` with the fitted columns (categorical
        ones one-hot encoded), frequency and time zone (see
        `Preprocessor.panel`)."""
        check_fitted(self)
        return self.preprocessor_.panel(df)

    # -------------------------------------------------------------------- fit
    def fit(self, df, validation=0.2, epochs=20, batch_size=64, patience=5, checkpoint_dir=None, verbose="auto",
            callbacks=None, strategy=None, steps_per_epoch=None):
        """Fits the scaler on the training rows and the model on the training
        windows (targets before the validation cutoff), with EarlyStopping on
        the validation windows and the best weights restored. Targets that
        were missing (filled by `fill`) are left out of the loss. With
        checkpoint_dir, the best model is written to `checkpoint_dir/best.keras`
        and the training state after every epoch to `checkpoint_dir/backup/`,
        each file atomically: a fit killed at any moment resumes, when called
        again with the same arguments, from its last finished epoch with
        EarlyStopping's best value, patience and best weights; the backup is
        removed when the fit ends. verbose: Keras' 0, 1 or 2, or "auto" (1 on
        a terminal, else 2: one line per epoch). callbacks: Keras callbacks
        run after tsgate's (TensorBoard, your own). strategy: a
        `tf.distribute` strategy to train in (`tsgate.distributed`: each
        worker passes its own series; batch_size is the global batch; with
        checkpoint_dir and more than one worker, the checkpoints above in
        `checkpoint_dir/worker-<i>`, resumed at the same epoch on every
        worker). steps_per_epoch: None, an epoch is one pass over the
        training windows; or that many batches of the training windows,
        reshuffled and repeated (Keras' `steps_per_epoch`), so that early
        stopping, the checkpoints and the schedule (`epochs *
        steps_per_epoch` steps long) count in steps, whatever the size of
        the data; or "auto", one pass held within 32 to 128 batches
        (`tsgate.training.epoch_steps`). Returns self; the Keras History (of every epoch, those
        before a resume included) is `history_`, the options
        `fit_options_`."""
        preprocessor = Preprocessor.from_params(self.get_params(deep=False))
        options = training.FitOptions(validation, epochs, batch_size, patience, checkpoint_dir, verbose, callbacks,
                                      strategy, steps_per_epoch)
        if strategy is not None:
            distributed.check_forecaster(self)
        keras.utils.set_random_seed(self.seed)
        windows = preprocessor.fit_transform(df, validation, options.replica_batch, strategy)
        model, history = training.fit_model(
            lambda: self._build(preprocessor), training_loss(self.loss, preprocessor.layout_.quantiles),
            self.learning_rate, self.schedule, windows, options, plain_arguments(self.get_params(deep=False)))
        preprocessor.calibrate(model, self.calibration, windows.validation, windows.validation_series,
                               source="the validation windows of fit")
        self._set_fitted(model, preprocessor, windows.counts, history, options.to_json())
        return self

    def _build(self, preprocessor):
        """The Keras model (scaled units) of this configuration over the fitted
        `preprocessor`'s layout and lookback, built under `dtype_policy`."""
        options = {"cell": self.cell, "units": int(self.units), "layers": int(self.layers),
                   **planned_options(self.builder_options or {}, preprocessor.recipe_)}
        spec = preprocessor.layout_.spec(preprocessor.lookback_, self.horizon)
        return training.with_dtype_policy(self.dtype_policy, ensemble, spec,
                                          lambda: BUILDERS[self.builder](spec, **options), self.n_members)

    def _set_fitted(self, model, preprocessor, windows, history=None, fit_options=None, selection=None, updates=()):
        """Assigns the whole fitted state at once (fit, load and `tsgate.selection.select`)."""
        self.model_, self.preprocessor_, self.windows_ = model, preprocessor, windows
        self.history_, self.fit_options_, self.selection_ = history, fit_options, selection
        self.updates_ = list(updates)
        self.raw_model_ = preprocessor.raw_unit_model(model)

    def calibrate(self, df, start=None, levels=None, method=None):
        """Calibrates the forecast quantiles on the windows of `df` whose
        targets start at or after `start` (a timestamp, or a fraction of the
        span at the end; None: every window): a shift per horizon step,
        target and level (`tsgate.calibration`, split conformal), one pass
        of the model over them (and per series, where a series has enough
        windows: `tsgate.calibration`). Give recent rows the model was not fitted on
        (windows fitted on are warned about: they make the band too narrow).
        `levels`: a point forecaster's quantile levels (default
        `tsgate.calibration.POINT_LEVELS`); a quantile head keeps its own.
        `method`: "conformal" or "adaptive" (default: the `calibration`
        argument's, else "conformal"). The Keras model is unchanged;
        `calibration_`, `predict` and the exports use the calibrated
        quantiles. Returns self."""
        panel = self.panel(df)
        after = None if start is None else panel.cutoff(start, "start")
        self.preprocessor_.calibrate(self.model_, method or self.calibration or "conformal", panel=panel, after=after,
                                     argument=("start", start), levels=levels, source=f"calibrate(df, start={start!r})")
        self.raw_model_ = self.preprocessor_.raw_unit_model(self.model_)  # the one fitted state calibrate changes
        return self

    def adapt(self, df, start=None):
        """Moves an adaptive calibration (`calibration="adaptive"`) through
        the actuals of the windows of `df` whose targets start at or after
        `start` (a timestamp or a fraction of the span at the end; None:
        every window), from its current shifts, as `historical_forecasts`
        replays it, and keeps where it ends: what `predict` and the next
        export serve. Returns self."""
        panel = self.panel(df)
        after = None if start is None else panel.cutoff(start, "start")
        self.preprocessor_.adapt(self.model_, panel, after, ("start", start))
        self.raw_model_ = self.preprocessor_.raw_unit_model(self.model_)  # as calibrate
        return self

    def update(self, df, epochs=5, learning_rate=None, replay=0.0, validation=0.2, patience=2, batch_size=None,
               verbose=0):
        """`tsgate.updating.update`: the fitted model trained on from its
        weights on the windows of `df` after the data fitted on, the fitted
        stage kept; recorded in `updates_`. Returns self."""
        updating.update(self, df, epochs, learning_rate, replay, validation, patience, batch_size, verbose)
        return self

    # ---------------------------------------------------------------- predict
    def predict(self, df, future=None):
        """Forecasts the `horizon` steps after the last timestamp of each
        series in `df` (its last `lookback` rows must have no gap). `future`
        holds the future covariates for those steps when the model uses them.
        Returns a DataFrame in raw units indexed by ([series,] time)."""
        check_fitted(self)
        panel, starts = self.preprocessor_.origins(df, future)
        return self.preprocessor_.frame(panel, starts, self._run(panel, starts))

    def historical_forecasts(self, df, start=None, actuals=False):
        """Raw-unit forecasts of every gap-free window of `df` whose targets
        start at or after `start` (a timestamp or a fraction of the span at the
        end; None: all), as a DataFrame indexed by ([series,] origin, time),
        `horizon` rows per window in window order; `origin` is the last input
        timestamp. actuals: also the step of each row ("step", 1 ..
        horizon) and each target's actual ("<target>_actual", NaN where
        missing), `tsgate.evaluation.with_actuals`."""
        panel = self.panel(df)
        after = None if start is None else panel.cutoff(start, "start")
        forecasts = self.forecast_windows(panel, after, argument=("start", start))
        return evaluation.with_actuals(self, panel, forecasts) if actuals else forecasts

    def forecast_windows(self, panel, after=None, verb="historical_forecasts", argument=None):
        """`historical_forecasts` of a validated `panel` (`self.panel(df)`):
        the windows whose targets start at or after `after` (a time of
        `panel.time`, None: all). `verb` (the method called) and `argument`
        (the user's `(name, value)` that chose `after`) word the messages."""
        check_fitted(self)
        starts = self.preprocessor_.historical_starts(panel, after, verb, argument)
        shifts = self.preprocessor_.replayed_shifts(self.model_, panel, starts)  # an adaptive calibration's, or None
        return self.preprocessor_.frame(panel, starts, self._run(panel, starts, shifts), origins=True)

    def serving_inputs(self, df, future=None):
        """The raw-unit inputs of the exported model for the forecast after
        the end of each series in `df`, as {name: array}, and the forecast's
        index (what `predict` returns it with)."""
        check_fitted(self)
        panel, starts = self.preprocessor_.origins(df, future)
        batch = self.preprocessor_.inputs(panel, starts, len(starts)).get_single_element()
        return {name: value.numpy() for name, value in batch.items()}, self.preprocessor_.forecast_index(panel, starts)

    def _run(self, panel, starts, shifts=None):
        """The raw-unit model's outputs for the windows at `starts` (with
        `shifts`, each window's calibration shifts)."""
        self.preprocessor_.warn_far_outside(panel, starts)
        model = self.raw_model_ if shifts is None else self.preprocessor_.raw_unit_model(self.model_, per_window=True)
        with keras_retracing_quiet():  # each new model traces its own step; TensorFlow counts them together
            outputs = model.predict(self.preprocessor_.inputs(panel, starts, shifts=shifts), verbose=0)
        self.preprocessor_.check_finite(panel, starts, outputs)
        return outputs

    def score(self, df):
        """Minus the mean squared error, in raw units, of the forecasts of
        every complete window of `df` over every target and step (missing
        actuals skipped): higher is better, as scikit-learn's model selection
        (`GridSearchCV`, `cross_validate`) expects; see
        `tsgate.evaluation.score` and `tsgate.model_selection.WindowSplit`."""
        return evaluation.score(self, df)

    # -------------------------------------------------------------- delegates
    def evaluate(self, df, *args, **kwargs):
        """`tsgate.evaluation.evaluate(self, df, ...)`: see its arguments."""
        return evaluation.evaluate(self, df, *args, **kwargs)

    def backtest(self, df, *args, **kwargs):
        """`tsgate.model_selection.backtest(self, df, ...)`: fits clones, never this forecaster."""
        return model_selection.backtest(self, df, *args, **kwargs)

    def plot(self, df, *args, **kwargs):
        """`tsgate.plotting.plot_forecast(self, df, ...)`: see its arguments."""
        return plotting.plot_forecast(self, df, *args, **kwargs)

    def export(self, path, version=None, xla=False, unroll=False):
        """Writes the raw-unit SavedModel for TF Serving to `path/<version>/`
        (version: a positive int, default the current Unix time); xla,
        unroll: see `tsgate.serving.export_forecast`. Its metadata (`assets/tsgate.json`,
        `Preprocessor.serving_metadata`) holds the input columns (categorical
        covariates as their one-hot columns, which the signature takes;
        `categories` lists them), how each calendar column is computed, the
        scaler, the target transform and `non_negative`."""
        from tsgate import __version__, serving

        check_fitted(self)
        version = int(time.time()) if version is None else version
        if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
            raise invalid("version", "a positive integer (TF Serving loads only those)", version)
        metadata = {"tsgate_version": __version__, **self.preprocessor_.serving_metadata()}
        return serving.export_forecast(self.raw_model_, os.path.join(path, str(version)), metadata, xla, unroll)

    def export_tflite(self, path):
        """The raw-unit model as TF Lite (batch 1, builtin ops), written to `path`."""
        from tsgate import serving

        check_fitted(self)
        return serving.export_tflite(self.raw_model_, path)

    def save(self, path):
        """See `tsgate.persistence.save`: model.keras and forecaster.json, no pickle."""
        return persistence.save(self, path)

    @classmethod
    def load(cls, path):
        """The forecaster saved at `path` (see `tsgate.persistence.load_parts`)."""
        forecaster, model, preprocessor, meta = persistence.load_parts(path, cls)
        selection = meta.get("selection")
        forecaster._set_fitted(model, preprocessor, meta["windows"], fit_options=meta.get("fit_options"),
                               selection=None if selection is None else pd.DataFrame(selection),
                               updates=meta.get("updates") or ())
        return forecaster


__getattr__ = lender(__name__, {"SCHEDULES": "tsgate.choices", "DTYPE_POLICIES": "tsgate.choices",
                                "BUILDER_ARGUMENTS": "tsgate.arguments", "LARGEST": "tsgate.validation",
                                "HOLIDAY_YEARS": "tsgate.preprocessing"})
