"""`Forecaster`: a pandas time series in, forecasts in raw units out.

The facade over the pipeline: `tsgate.data` (frame → Panel → windows),
`tsgate.layout` (which column goes where), `tsgate.windows` (tf.data),
`tsgate.models` (the Keras model), `tsgate.scaling` (the scaler and the
raw-unit model), and, delegated, `tsgate.evaluation`, `tsgate.plotting`,
`tsgate.persistence` and `tsgate.serving`.
"""

import contextlib
import inspect
import math
import numbers
import os
import time
import warnings

import keras
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tsgate import distributed, evaluation, persistence, plotting
from tsgate.data import (
    FILLS,
    INFER,
    CategoricalEncoder,
    Panel,
    check_freq,
    check_na_values,
    freq_to_json,
    future_values,
)
from tsgate.layout import Layout, _names
from tsgate.models import BUILDERS, CELLS, POINT_LOSSES, training_loss
from tsgate.raw_model import raw_unit_model
from tsgate.scaling import AffineScaler
from tsgate.transforms import TRANSFORMS, TargetTransform
from tsgate._quiet import keras_retracing_quiet
from tsgate.training import compile_masked, train
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
DTYPE_POLICIES = ("float32", "mixed_bfloat16")
BUILDER_ARGUMENTS = ("cell", "units", "layers")  # Forecaster arguments every builder takes
LARGEST = 2**31 - 1  # sizes and counts index int32 arrays and tensors
HOLIDAY_YEARS = 10  # years after the training data whose holiday dates an export lists


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
            forecast, in `predict` and in the exported graph alike.
        non_negative: clip the forecast and its quantiles at 0 in raw units.
        quantiles: e.g. (0.1, 0.5, 0.9) for a pinball-loss quantile head; must
            hold 0.5, the point forecast.
        scaler: "standard", "minmax", "robust" or an affine scikit-learn
            transformer; fitted on training rows only. scale_per_series: bool.
        freq, time_column, series_column, fill, na_values: see
            `tsgate.data.Panel.from_frame`. freq: a pandas frequency, e.g.
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

    Fitted state (set together when `fit` succeeds): `model_` (Keras, scaled
    units), `raw_model_` (raw units), `scaler_`, `layout_`, `freq_`, `tz_`
    (the time zone of the training timestamps, None if naive), `series_`,
    `windows_`, `history_`, `fit_options_` (fit's validation, epochs,
    batch_size and patience, JSON-ready), `fit_end_` (a Series: the last
    timestamp of each series in the frame fitted on, validation included),
    `encoder_` (the `CategoricalEncoder`, or None), `target_transform_` (the
    fitted `TargetTransform`, or None). `freq_` is a pandas offset (custom
    business days keep their holidays), saved and exported with the model.
    `layout_` names the one-hot columns in place of each categorical one.

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
        na_values=None,
        builder="recurrent",
        builder_options=None,
        loss="mse",
        learning_rate=3e-3,
        schedule="constant",
        seed=0,
        target_transform=None,
        non_negative=False,
        categorical=(),
        holidays=None,
        dtype_policy="float32",
    ):
        self.target, self.lookback, self.horizon, self.stride = target, lookback, horizon, stride
        self.cell, self.units, self.layers = cell, units, layers
        self.past_covariates, self.future_covariates = past_covariates, future_covariates
        self.calendar, self.static_covariates, self.quantiles = calendar, static_covariates, quantiles
        self.scaler, self.scale_per_series = scaler, scale_per_series
        self.freq, self.time_column, self.series_column, self.fill = freq, time_column, series_column, fill
        self.na_values = na_values
        self.builder, self.builder_options = builder, builder_options
        self.loss, self.learning_rate, self.schedule, self.seed = loss, learning_rate, schedule, seed
        self.target_transform, self.non_negative = target_transform, non_negative
        self.categorical, self.holidays = categorical, holidays
        self.dtype_policy = dtype_policy

    # ---------------------------------------------------------- configuration
    def _layout(self):
        """The validated column layout of this configuration."""
        layout = Layout.from_arguments(self.target, self.past_covariates, self.future_covariates, self.calendar,
                                       self.static_covariates, self.quantiles, self.holidays)
        covariates = layout.past + layout.future + layout.static
        categorical = _names("categorical", self.categorical)
        for name in categorical:
            if name not in covariates or categorical.count(name) > 1:
                raise invalid("categorical", "distinct columns among past_covariates, future_covariates and "
                              "static_covariates", self.categorical)
        return layout

    def _check_params(self):
        """Every constructor argument checked; the validated layout."""
        for name in ("lookback", "horizon", "stride", "units", "layers"):
            check_positive_int(name, getattr(self, name), LARGEST)
        if not isinstance(self.cell, (str, keras.layers.Layer)) or isinstance(self.cell, str) and self.cell not in CELLS:
            raise invalid("cell", f"one of {sorted(CELLS)} or a Keras layer", self.cell)
        check_bool("scale_per_series", self.scale_per_series)
        check_choice("fill", self.fill, FILLS)
        check_na_values(self.na_values)
        if self.freq is not None:
            check_freq(self.freq)
        check_optional_name("time_column", self.time_column)
        check_optional_name("series_column", self.series_column)
        check_choice("builder", self.builder, BUILDERS)
        self._check_builder_options()
        check_choice("loss", self.loss, POINT_LOSSES)
        check_positive_float("learning_rate", self.learning_rate)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("target_transform", self.target_transform, TRANSFORMS)
        check_choice("dtype_policy", self.dtype_policy, DTYPE_POLICIES)
        check_bool("non_negative", self.non_negative)
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

    def _with_dtype_policy(self, fn, *args, **kwargs):
        """`fn(*args, **kwargs)` with `dtype_policy` as the Keras dtype policy of
        the layers it creates (building or loading the model); the caller's
        policy (thread-local in Keras) is restored after."""
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.dtype_policy)
        try:
            return fn(*args, **kwargs)
        finally:
            keras.config.set_dtype_policy(previous)

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("This Forecaster is not fitted yet; call fit first (or Forecaster.load).")

    def panel(self, df):
        """The validated `Panel` of `df` with the fitted columns (categorical
        ones one-hot encoded), frequency and time zone; targets that the
        target transform cannot take are an error naming column and time."""
        self._check_fitted()
        panel = self._panel(self._encode(df), self.layout_, self.freq_, self.tz_)
        self._check_transformable(panel, self.target_transform_)
        return panel

    def _encode(self, df, columns=None, name="df"):
        """`df` with the fitted encoder's categorical `columns` (default: all) one-hot."""
        return df if self.encoder_ is None else self.encoder_.transform(df, columns, name)

    def _fit_panel(self, df):
        """The validated layout (categorical columns one-hot), the encoder
        fitted on `df` (None without categorical columns) and the panel of a
        frame to fit on."""
        layout = self._check_params()
        categorical, encoder = _names("categorical", self.categorical), None
        if categorical:
            encoder = CategoricalEncoder(categorical).fit(df)
            df, layout = encoder.transform(df), layout.encoded(encoder.feature_names_)
        return layout, encoder, self._panel(df, layout, self.freq, INFER)

    def _panel(self, df, layout, freq, tz):
        """With no `freq` given, the holidays of inferred business days are
        inferred again from each frame."""
        return Panel.from_frame(df, layout.scaled, freq=freq, time_column=self.time_column,
                                series_column=self.series_column, static_columns=layout.static, fill=self.fill, tz=tz,
                                na_values=self.na_values, infer_holidays=self.freq is None)

    def _check_transformable(self, panel, transform):
        """Every target value of `panel` in the domain of `transform` (None:
        any), else an error naming column and time: observed values as the
        data's, filled ones (`fill`) as the fill's."""
        if transform is None:
            return
        n_target = len(_names("target", self.target))
        bad = transform.outside(panel.values[:, :n_target])
        observed = panel.observed[:, :n_target]
        for where, mine in ((bad & observed, True), (bad & ~observed & panel.valid[:, None], False)):
            if not where.any():
                continue
            row, j = (int(axis[0]) for axis in np.nonzero(where))
            series = f" of series {panel.series[panel.series_index()[row]]!r}" if self.series_column else ""
            example = f"e.g. {panel.values[row, j]:g} at {panel.index()[row]}"
            if mine:
                raise ValueError(f"Target column {panel.columns[j]!r}{series} has {int(where[:, j].sum())} value(s) "
                                 f"that target_transform={transform.method!r} cannot take (it needs "
                                 f"{transform.domain()}), {example}; drop them (na_values=...) or choose another "
                                 "transform.")
            raise ValueError(f"fill={self.fill!r} fills {int(where[:, j].sum())} missing value(s) of target column "
                             f"{panel.columns[j]!r}{series} with values that target_transform={transform.method!r} "
                             f"cannot take (it needs {transform.domain()}), {example}; choose another `fill` "
                             "('ffill' or 'interpolate') or another transform.")

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
        the data. Returns self; the Keras History (of every epoch, those
        before a resume included) is `history_`, the options
        `fit_options_`."""
        self._check_params()
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            check_positive_int(name, value, LARGEST)
        check_non_negative_int("patience", patience)
        if steps_per_epoch is not None:
            check_positive_int("steps_per_epoch", steps_per_epoch, LARGEST)
        if checkpoint_dir is not None and not (isinstance(checkpoint_dir, (str, os.PathLike)) and os.fspath(checkpoint_dir)):
            raise invalid("checkpoint_dir", "None or a directory path", checkpoint_dir)
        if isinstance(verbose, float):
            raise invalid("verbose", "0, 1, 2 or 'auto'", verbose)
        check_choice("verbose", verbose, (0, 1, 2, "auto"))
        callbacks = [] if callbacks is None else callbacks
        if not isinstance(callbacks, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
            raise invalid("callbacks", "None or a list of keras.callbacks.Callback instances", callbacks)
        if strategy is not None:
            distributed.check_strategy(strategy)
            distributed.check_forecaster(self)
            batch_size = distributed.replica_batch(strategy, batch_size)
        keras.utils.set_random_seed(self.seed)
        layout, encoder, panel = self._fit_panel(df)
        transform = None if self.target_transform is None else TargetTransform(self.target_transform)
        self._check_transformable(panel, transform)
        cutoff = panel.cutoff(validation, "validation") if strategy is None else \
            distributed.global_cutoff(strategy, panel, validation)
        train_starts, dropped = panel.windows(self.lookback, self.horizon, before=cutoff)
        val_starts, _ = panel.windows(self.lookback, self.horizon, after=cutoff)
        train_starts, val_starts = train_starts[:: self.stride], val_starts[:: self.stride]
        if len(train_starts) == 0 or len(val_starts) == 0:
            raise ValueError(
                f"Not enough data: {len(train_starts)} training and {len(val_starts)} validation windows of "
                f"lookback {self.lookback} + horizon {self.horizon} (each series needs at least "
                f"{self.lookback + self.horizon} consecutive rows on each side of the cutoff at "
                f"{panel.timestamp(cutoff)}). {panel.shortage(dropped)}"
            )
        ids = np.asarray(panel.series, dtype=object)[panel.series_index()]
        train_rows = panel.time < cutoff
        training_series = np.unique(panel.series_index()[train_rows])
        n_target = len(layout.targets)
        observed = np.where(panel.observed, panel.values, np.nan)  # the scaler and transform fit on observed values
        if transform is not None:
            transform.fit(observed[train_rows, :n_target])
        values = _transformed(panel.values, transform, n_target)
        scaler = AffineScaler(self.scaler, self.scale_per_series).fit(
            _transformed(observed, transform, n_target)[train_rows], ids[train_rows], layout.scaled,
            static=None if panel.static is None else panel.static[training_series],
            passthrough=np.isin(layout.scaled, layout.indicators),
            reduce=None if strategy is None else distributed.reduce_statistics(strategy))
        if dropped:
            warnings.warn(f"tsgate: {dropped} window positions dropped because they would straddle a gap "
                          f"({panel.gap_rows} missing timestamps). {panel.shortage()}", stacklevel=2)
        arrays = layout.arrays(scaler.transform(values, ids), panel.index())
        labels = np.where(panel.observed[:, :n_target], arrays["target"], np.nan).astype("float32")
        static = scaler.transform_static(panel.static)
        options = {"cell": self.cell, "units": int(self.units), "layers": int(self.layers),
                   **(self.builder_options or {})}
        datasets = [self._dataset(panel, arrays, train_starts, batch_size, shuffle=True, static=static, labels=labels),
                    self._dataset(panel, arrays, val_starts, batch_size, static=static, labels=labels)]
        steps = steps_per_epoch or -(-len(train_starts) // batch_size)
        if strategy is not None:
            local, (datasets, (steps, _)) = datasets[0], distributed.distribute(
                strategy, datasets, (len(train_starts), len(val_starts)), batch_size, steps_per_epoch)
        elif steps_per_epoch is not None:
            datasets[0] = datasets[0].repeat().take(steps_per_epoch)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = self._with_dtype_policy(BUILDERS[self.builder], layout.spec(self.lookback, self.horizon), **options)
            compile_masked(model, keras.optimizers.Adam(self._learning_rate(epochs * steps)),
                           training_loss(self.loss, layout.quantiles))
            if strategy is not None:
                distributed.work_around_keras(model, local)
            fingerprint = {"weights": [list(w.shape) for w in model.weights],
                           "windows": [len(train_starts), len(val_starts)],
                           "fit": [str(validation), epochs, batch_size, patience, steps_per_epoch],
                           "config": repr(self._plain_params())}
            history, early_stopping = train(model, *datasets, epochs, patience, verbose, callbacks, checkpoint_dir,
                                            fingerprint, strategy)
        self._check_converged(model, early_stopping)
        windows = {"train": len(train_starts), "validation": len(val_starts), "dropped_for_gaps": dropped}
        ends = [panel.timestamp(panel.time[rows.stop - 1]) for rows in panel.series_slices()]
        series = list(panel.series)
        if strategy is not None:
            series, ends, windows = distributed.gather_fitted(strategy, series, ends, windows)
            batch_size *= strategy.num_replicas_in_sync
        fit_options = {"validation": _plain_time(validation), "epochs": epochs, "batch_size": batch_size,
                       "patience": patience, "steps_per_epoch": steps_per_epoch}
        self._set_fitted(model, scaler, layout, panel.freq, series, windows, history, panel.tz, fit_options,
                         encoder, transform, ends)
        return self

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

    def _set_fitted(self, model, scaler, layout, freq, series, windows, history=None, tz=None, fit_options=None,
                    encoder=None, transform=None, fit_end=None):
        """Assigns the whole fitted state at once (fit and load); `freq` a
        pandas offset, `layout` with the one-hot columns of `encoder`,
        `fit_end` the last timestamp of each of `series` (None: unknown)."""
        self.model_, self.scaler_, self.layout_, self.freq_, self.tz_ = model, scaler, layout, freq, tz
        self.series_, self.windows_, self.history_, self.fit_options_ = series, windows, history, fit_options
        self.encoder_, self.target_transform_ = encoder, transform
        self.fit_end_ = None if fit_end is None else pd.Series(
            pd.DatetimeIndex(fit_end), index=pd.Index(series, dtype=object, name=self.series_column), name="fit_end")
        self.raw_model_ = raw_unit_model(model, layout, scaler, layout.quantiles, transform, self.non_negative)

    def _dataset(self, panel, arrays, starts, batch_size, shuffle=False, static=None, series_index=None, labels=None):
        """`window_dataset` of this panel's windows; `static` the static
        covariates fed (default: the panel's raw values, which the raw-unit
        model scales); `series_index` `(n_series,)` the scaler rows the
        raw-unit model takes with per-series scaling; `labels` the targets
        (NaN: missing)."""
        static = panel.static if static is None else static
        per_series = {"static": static} if static is not None else {}
        if series_index is not None:
            per_series["series_index"] = series_index
        return window_dataset(arrays, starts, self.lookback, self.horizon, batch_size, shuffle=shuffle,
                              seed=self.seed, per_series=per_series, series_of_row=panel.series_index(),
                              labels=labels)

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
        return self._historical(self.panel(df), start, "start", stacklevel=3)

    def _historical(self, panel, start, name, stacklevel):
        """`historical_forecasts` of a validated panel; `name` the argument
        `start` came as ("start", or "test" for `evaluate`); `stacklevel`
        of the overlap warning (`_warn_fitted_on`)."""
        after = None if start is None else panel.cutoff(start, name)
        starts, _ = panel.windows(self.lookback, self.horizon, after=after)
        if len(starts) == 0:
            where = "" if start is None else f" after `{name}`={start!r}"
            raise ValueError(f"No complete window of lookback {self.lookback} + horizon {self.horizon} "
                             f"has its targets{where}. {panel.shortage()}")
        self._warn_fitted_on(panel, starts, name, stacklevel + 1)
        return self._frame(panel, starts, self._run(panel, starts), origins=True)

    def _warn_fitted_on(self, panel, starts, name, stacklevel):
        """A warning when windows at `starts` have targets at or before the
        last timestamp their series had in the frame fitted on (`fit_end_`):
        training or validation windows, whose scores are optimistic."""
        if self.fit_end_ is None:
            return
        ends = {sid: _naive_utc(end) for sid, end in self.fit_end_.items()}
        series_end = np.asarray([ends.get(sid, np.datetime64("NaT")) for sid in panel.series], "datetime64[ns]")
        first_target = panel.time[starts + self.lookback]
        inside = first_target <= series_end[panel.series_index()[starts]]
        if not inside.any():
            return
        verb = "evaluate" if name == "test" else "historical_forecasts"
        last = self.fit_end_.max()
        warnings.warn(
            f"tsgate: {int(inside.sum())} of the {len(starts)} windows that {verb} scores have targets at or before "
            f"the end of the data this forecaster was fitted on ({last}): the training and validation windows, on "
            "which early stopping chose the weights, so their errors are optimistic. Fit on the rows before the test "
            f"cut-off and score after it: fit(df[df.index < cutoff], ...) then {verb}(df, {name}=cutoff).",
            stacklevel=stacklevel)

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
                                 f"gaps before the forecast origin. {panel.shortage()}")
            starts.append(start)
        if layout.future:
            columns = [layout.scaled.index(name) for name in layout.future]
            future_names = _names("future_covariates", self.future_covariates)
            categorical = [c for c in self.encoder_.columns if c in future_names] if self.encoder_ else []
            if categorical:
                future = self._encode(future, categorical, "future")
            values = future_values(future, panel, added, layout.future, self.time_column, self.series_column,
                                   self.na_values)
            panel.values[np.ix_(added.ravel(), columns)] = values.reshape(-1, len(columns))
            panel.observed[np.ix_(added.ravel(), columns)] = True
        return panel, np.asarray(starts)

    def _inputs(self, panel, starts, batch_size=256):
        """The raw-unit model's inputs for the windows at `starts`, batched."""
        series_index = self.scaler_.group_positions(panel.series).astype("int32") if self.scale_per_series else None
        arrays = self.layout_.arrays(np.nan_to_num(panel.values), panel.index())
        dataset = self._dataset(panel, arrays, starts, batch_size, series_index=series_index)
        return dataset.map(lambda inputs, _: inputs)

    def _run(self, panel, starts):
        self._warn_far_outside(panel, starts)
        with keras_retracing_quiet():  # each new model traces its own step; TensorFlow counts them together
            outputs = self.raw_model_.predict(self._inputs(panel, starts), verbose=0)
        for name, values in outputs.items():  # the forecast and its quantiles
            finite = np.isfinite(values).reshape(len(starts), -1).all(axis=1)
            if not finite.all():
                sid = panel.series[panel.series_index()[starts[int(np.argmin(finite))]]]
                what = "forecast of series {!r} is" if name == "forecast" else "forecast quantiles of series {!r} are"
                raise ValueError(f"The {what.format(sid)} not finite: its inputs are far outside what the model was "
                                 "trained on (or the model is broken).")
        return outputs

    def _warn_far_outside(self, panel, starts):
        """A warning for each column whose values read by the windows at
        `starts` (targets and past covariates over the lookback, future
        covariates over the horizon) lie far outside its training range;
        one-hot columns never do."""
        read = np.zeros(panel.values.shape, bool)
        known = len(self.layout_.targets) + len(self.layout_.past)
        read[_covered(len(read), starts, self.lookback), :known] = True
        read[_covered(len(read), starts + self.lookback, self.horizon), known:] = True
        read[:, np.isin(panel.columns, self.layout_.indicators)] = False  # one-hot: 1 is no extrapolation
        n_target = len(self.layout_.targets)
        far = self.scaler_.far_outside(_transformed(panel.values, self.target_transform_, n_target)) & read \
            & panel.observed
        index = panel.index()
        bounds = self.scaler_.range_
        if far.any() and self.target_transform_ is not None:  # the range in raw units
            bounds = np.concatenate([self.target_transform_.inverse_transform(bounds[:, :n_target]),
                                     bounds[:, n_target:]], axis=1)
        for j in np.flatnonzero(far.any(axis=0)):
            row = int(np.flatnonzero(far[:, j])[0])
            low, high = bounds[:, j]
            warnings.warn(f"tsgate: column {panel.columns[j]!r} has {int(far[:, j].sum())} value(s) far outside its "
                          f"training range [{low:g}, {high:g}], e.g. {panel.values[row, j]:g} at {index[row]}; the "
                          "forecast extrapolates. Are they sentinels for missing values (pass `na_values`)?",
                          stacklevel=4)

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
        `tsgate.serving.export_forecast`. Its metadata (`assets/tsgate.json`)
        holds the input columns (categorical covariates as their one-hot
        columns, which the signature takes; `categories` lists them), how
        each calendar column is computed (holiday dates from the year before
        the end of the training data to HOLIDAY_YEARS after it), the scaler,
        the target transform and `non_negative`."""
        from tsgate import __version__, serving

        self._check_fitted()
        version = int(time.time()) if version is None else version
        if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
            raise invalid("version", "a positive integer (TF Serving loads only those)", version)
        ends = pd.DatetimeIndex([pd.Timestamp.now()] if self.fit_end_ is None else self.fit_end_)
        holidays_between = f"{ends.min().year - 1}-01-01", f"{ends.max().year + HOLIDAY_YEARS}-12-31"
        metadata = {"tsgate_version": __version__, "lookback": self.lookback, "horizon": self.horizon,
                    "freq": freq_to_json(self.freq_), "tz": self.tz_, **self.layout_.metadata(*holidays_between),
                    "quantiles": self.layout_.quantiles, "scaler": self.scaler_.to_json(),
                    "target_transform": None if self.target_transform_ is None else self.target_transform_.to_json(),
                    "non_negative": self.non_negative,
                    "categories": None if self.encoder_ is None else self.encoder_.to_json()}
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


def _transformed(values, transform, n_target):
    """Panel `values` `(rows, n_scaled)` with the `n_target` target columns
    (the first ones) transformed by a fitted `TargetTransform` (None: unchanged)."""
    if transform is None:
        return values
    out = np.array(values, "float64")
    out[:, :n_target] = transform.transform(out[:, :n_target])
    return out.astype(values.dtype)


def _naive_utc(stamp):
    """A Timestamp as naive UTC datetime64 (the panel's `time`)."""
    return (stamp if stamp.tz is None else stamp.tz_convert("UTC").tz_localize(None)).to_datetime64()


def _covered(rows, starts, length):
    """`(rows,)` bool: the rows of the spans [start, start + length)."""
    delta = np.zeros(rows + 1, int)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.asarray(starts) + length, -1)
    return np.cumsum(delta[:-1]) > 0


def _plain_time(value):
    """A fraction or a time (a `validation` or `test` argument) as JSON: the
    float, or the timestamp's ISO text."""
    if isinstance(value, numbers.Real):
        return float(value)
    return value if isinstance(value, str) else pd.Timestamp(value).isoformat()
