"""`Preprocessor`: the fitted stage between a DataFrame and the Keras model,
both ways.

    fit_transform(df, validation, batch_size)   frame → encoder, transform and scaler fitted on the
                                                training rows → TrainingWindows (tf.data, scaled)
    panel(df)                                   a later frame → its validated Panel (fitted columns,
                                                frequency and time zone)
    origins(df, future)                         the panel extended by the horizon (future covariates
                                                filled in) and the start row of each forecast
    historical_starts(panel, after)             the start rows of the windows to score
    warn_far_outside(panel, starts)             inputs far outside the training range, warned about
    inputs(panel, starts)                       the raw-unit model's inputs (tf.data)
    frame(panel, starts, outputs)               the model's outputs → a forecast DataFrame
    calibrate(model, method, ...)               the conformal calibration of the fitted model's quantiles
    replayed_shifts / adapt                     an adaptive calibration replayed over windows / moved on
    raw_unit_model(model)                       the model wrapped in this stage (raw units in and out)
    to_json() / load_json(state)                its fitted state (the keys of forecaster.json)
    serving_metadata()                          what an export says of this stage

Fitted state, set together by `fit_transform` (or `load_json`): `layout_`
(categorical columns as their one-hot columns), `encoder_`
(`CategoricalEncoder` or None), `target_transform_` (`TargetTransform` or
None), `scaler_` (`AffineScaler`), `freq_` (a pandas offset), `tz_`,
`series_` (ids), `series_ends_` (a Series by series id: the last timestamp
of each series in the frame fitted on, None when unknown; `fit_end_` shows
it to the user, a Timestamp for a forecaster of one series), `lookback_` (planned for
`lookback="auto"`, `tsgate.lookback`), `recipe_` (that plan, else None);
and, once the model is fitted, `calibration_` (`tsgate.calibration.Calibration`
or None; a point forecaster's `layout_` then holds its levels as quantiles).

The checks a user's frame earns against the fitted state (`tsgate.guards`:
targets the transform cannot take, windows scored that the model was fitted
on, values far outside the training range) are called from here, once per
call. The module is one class over one fitted state, about 400
lines: its steps live elsewhere (`data`, `guards`, `lookback`, `scaling`,
`transforms`, `windows`), what remains is the state they share.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsgate import calibration, distributed
from tsgate.arguments import check_arguments
from tsgate.data import (FLOAT32_MAX, INFER, CategoricalEncoder, Panel, freq_from_json, freq_to_json, from_utc_text,
                         series_words, utc_text)
from tsgate.data.frames import check_columns, check_frame
from tsgate.guards import check_scaled, check_transformable, warn_far_outside, warn_fitted_on
from tsgate.layout import column_names
from tsgate.lookback import plan_panel
from tsgate.raw_model import raw_unit_model
from tsgate.scaling import SCALED_LIMIT, AffineScaler
from tsgate.transforms import TargetTransform, transformed
from tsgate.validation import warn
from tsgate.windows import window_dataset

# the Forecaster arguments a Preprocessor takes (besides the layout they make)
ARGUMENTS = ("lookback", "horizon", "stride", "freq", "time_column", "series_column", "fill", "na_values", "scaler",
             "scale_per_series", "target_transform", "categorical", "non_negative", "seed", "sort", "duplicates")
HOLIDAY_YEARS = 10  # years after the training data whose holiday dates an export lists


@dataclass(frozen=True)
class TrainingWindows:
    """What `fit_transform` makes: batched `(inputs, targets)` datasets of
    the training (shuffled every epoch) and validation windows, their
    numbers in this process, `counts` {"train", "validation",
    "dropped_for_gaps"} of every worker together, and the series id of each
    validation window (what a per-series calibration groups them by)."""

    train: object
    validation: object
    n_train: int
    n_validation: int
    counts: dict
    validation_series: np.ndarray


class Preprocessor:
    """The fitted stage between a DataFrame and the model (see the module).

    Args: `layout` (the validated `Layout` of the configuration), and the
    Forecaster arguments of the same names (`ARGUMENTS`; their defaults are
    the Forecaster's), stored unchanged.
    `Preprocessor.from_params(forecaster.get_params())` checks them all.
    """

    def __init__(self, layout, lookback, horizon, stride, freq, time_column, series_column, fill, na_values, scaler,
                 scale_per_series, target_transform, categorical, non_negative, seed, sort, duplicates):
        self.layout, self.lookback, self.horizon, self.stride = layout, lookback, horizon, stride
        self.freq, self.time_column, self.series_column = freq, time_column, series_column
        self.fill, self.na_values, self.scaler, self.scale_per_series = fill, na_values, scaler, scale_per_series
        self.target_transform, self.categorical = target_transform, categorical
        self.non_negative, self.seed, self.sort, self.duplicates = non_negative, seed, sort, duplicates

    @classmethod
    def from_params(cls, params):
        """The preprocessor of a Forecaster's arguments (`get_params()`),
        every one of them checked (`tsgate.arguments.check_arguments`)."""
        return cls(check_arguments(params), **{name: params[name] for name in ARGUMENTS})

    # ------------------------------------------------------------------ fit
    def fit_transform(self, df, validation, batch_size, strategy=None):
        """Fits the encoder, target transform and scaler on the rows of `df`
        before the validation cut-off (a fraction of the span at the end, or
        a timestamp; with a `tf.distribute` strategy, agreed by every worker
        and the scaler's statistics merged across them) and returns the
        scaled `TrainingWindows` of `batch_size` windows a batch. Targets that
        were missing (filled by `fill`) are NaN labels, out of the loss."""
        layout, encoder, panel = self.fit_panel(df)
        transform = None if self.target_transform is None else TargetTransform(self.target_transform)
        check_transformable(panel, transform, len(layout.targets), self.fill, self.series_column)
        cutoff = panel.cutoff(validation, "validation") if strategy is None else \
            distributed.global_cutoff(strategy, panel, validation)
        lookback, recipe = plan_panel(self.lookback, panel, cutoff, self.horizon)
        train_starts, dropped = panel.windows(lookback, self.horizon, before=cutoff)
        val_starts, _ = panel.windows(lookback, self.horizon, after=cutoff)
        train_starts, val_starts = train_starts[:: self.stride], val_starts[:: self.stride]
        if len(train_starts) == 0 or len(val_starts) == 0:
            raise ValueError(
                f"Not enough data: {len(train_starts)} training and {len(val_starts)} validation windows of "
                f"lookback {lookback} + horizon {self.horizon} (each series needs at least "
                f"{lookback + self.horizon} consecutive rows on each side of the cutoff at "
                f"{panel.timestamp(cutoff)}). {panel.shortage(dropped)}")
        ids = np.asarray(panel.series, dtype=object)[panel.series_index()]
        train_rows = panel.time < cutoff
        n_target = len(layout.targets)
        observed = np.where(panel.observed, panel.values, np.nan)  # the scaler and transform fit on observed values
        if transform is not None:
            transform.fit(observed[train_rows, :n_target])
        scaler = AffineScaler(self.scaler, self.scale_per_series).fit(
            transformed(observed, transform, n_target, panel.follows())[train_rows], ids[train_rows], layout.scaled,
            static=None if panel.static is None else panel.static[np.unique(panel.series_index()[train_rows])],
            passthrough=np.isin(layout.scaled, layout.indicators),
            reduce=None if strategy is None else distributed.reduce_statistics(strategy))
        if dropped:
            warn(f"tsgate: {dropped} window positions dropped because they would straddle a gap "
                 f"({panel.gap_rows} missing timestamps). {panel.shortage()}")
        datasets = [self._scaled_windows(panel, starts, batch_size, shuffle, layout, transform, scaler, lookback)
                    for starts, shuffle in ((train_starts, True), (val_starts, False))]
        counts = {"train": len(train_starts), "validation": len(val_starts), "dropped_for_gaps": dropped}
        series = list(panel.series)
        ends = [panel.timestamp(panel.time[rows.stop - 1]) for rows in panel.series_slices()]
        if strategy is not None:
            series, ends, counts = distributed.gather_fitted(strategy, series, ends, counts)
        self._set_fitted(layout, encoder, transform, scaler, panel.freq, panel.tz, series, ends, lookback, recipe)
        return TrainingWindows(*datasets, len(train_starts), len(val_starts), counts, ids[val_starts])

    def _scaled_windows(self, panel, starts, batch_size, shuffle, layout, transform, scaler, lookback):
        """The model's `(inputs, labels)` of the windows at `starts` in scaled
        units (`transform` and `scaler` applied; labels NaN where a target was
        missing), batched. A returns transform reads the targets of each
        window from its origin as it is gathered (`window_dataset`'s `returns`)."""
        n_target = len(layout.targets)
        ids = np.asarray(panel.series, dtype=object)[panel.series_index()]
        scaled = scaler.transform(transformed(panel.values, transform, n_target, panel.follows()), ids)
        check_scaled(panel, scaled)
        arrays = layout.arrays(scaled, panel.index())
        returns = None
        if transform is not None and transform.relative:
            arrays["target"] = panel.values[:, :n_target]
            rows = scaler.group_positions(panel.series)
            returns = (transform.method, scaler.scale_[rows, :n_target], scaler.offset_[rows, :n_target])
        labels = np.where(panel.observed[:, :n_target], arrays["target"], np.nan).astype("float32")
        static = scaler.transform_static(panel.static)
        return self._dataset(panel, arrays, starts, lookback, batch_size, shuffle, static, labels=labels,
                             returns=returns)

    def calibrate(self, model, method, windows=None, window_series=None, panel=None, after=None, argument=None,
                  levels=None, source=None):
        """Sets `calibration_`: None without `method`, else the
        `tsgate.calibration` of the fitted `model` on the scaled `windows`
        (`(inputs, labels)` batches: fit's validation windows, of the series
        `window_series`) or on the windows of `panel` with targets at or
        after `after` (as `historical_starts`, `argument` the user's `(name,
        value)` that chose it); `levels` a point forecaster's (default
        `tsgate.calibration.POINT_LEVELS`), whose `layout_` then holds them
        as its quantiles. `source`: where the windows came from, in words.
        Each fitted series gets its own shifts where it has enough windows,
        in the rows of the raw-unit model's "series_index"."""
        if method is None:
            self.calibration_ = None
            return None
        method, levels, point = calibration.check_calibration(method, self.layout.quantiles, levels)
        if windows is None:
            starts = self.historical_starts(panel, after, "calibrate", argument,
                                            "the band calibrated on them comes out too narrow")
            windows = self._scaled_windows(panel, starts, 256, False, self.layout_, self.target_transform_,
                                           self.scaler_, self.lookback_)
            window_series = self._series_of(panel, starts)
        series = list(self.scaler_.groups_ if self.scale_per_series else self.series_)
        self.calibration_ = calibration.fit(model, windows, method, levels, point, source, series,
                                            self._rows(series, window_series))
        self.layout_ = dataclasses.replace(self.layout_, quantiles=levels)
        return self.calibration_

    def series_rows(self, series):
        """The raw-unit model's "series_index" of each id in `series`: the
        scaler's row with per-series scaling, the calibration's with a
        per-series one (a series not calibrated on: the pooled row); None
        when the model takes none."""
        if self.scale_per_series:
            return self.scaler_.group_positions(series).astype("int32")
        if self.calibration_ is not None and self.calibration_.per_series:
            return self._rows(self.calibration_.series, series)
        return None

    def scaled_windows(self, panel, starts, batch_size, shuffle=False):
        """The model's `(inputs, labels)` of the windows of `panel` at
        `starts` in the fitted scaled units, batched (what an update trains on)."""
        return self._scaled_windows(panel, starts, batch_size, shuffle, self.layout_, self.target_transform_,
                                    self.scaler_, self.lookback_)

    def extend_fitted(self, panel):
        """`series_ends_` moved to the last timestamp of each series of `panel`
        (a series never fitted on added to `series_`): what an update fitted on."""
        ends = {} if self.series_ends_ is None else dict(self.series_ends_.items())
        for sid, rows in zip(panel.series, panel.series_slices()):
            last = panel.timestamp(panel.time[rows.stop - 1])
            ends[sid] = max(ends.get(sid, last), last)
        self.series_ends_ = pd.Series(pd.DatetimeIndex(list(ends.values())), name="fit_end",
                                      index=pd.Index(list(ends), dtype=object, name=self.series_column))
        self.series_ = [*self.series_, *[sid for sid in panel.series if sid not in set(self.series_)]]

    @staticmethod
    def _rows(table, ids):
        """The position of each of `ids` in `table`, `len(table)` where absent."""
        position = {sid: row for row, sid in enumerate(table)}
        return np.asarray([position.get(sid, len(table)) for sid in np.asarray(ids, dtype=object).tolist()], "int32")

    @staticmethod
    def _series_of(panel, starts):
        """The series id of each window at `starts`."""
        return np.asarray(panel.series, dtype=object)[panel.series_index()[starts]]

    def fit_panel(self, df):
        """The layout (categorical columns one-hot), the encoder fitted on
        `df` (None without categorical columns) and the validated panel of a
        frame to fit on: every check of the frame, nothing fitted here."""
        encoder, layout = None, self.layout
        self._check_columns(df)
        categorical = column_names("categorical", self.categorical)
        if categorical:
            encoder = CategoricalEncoder(categorical).fit(df)
            df, layout = encoder.transform(df), layout.encoded(encoder.feature_names_)
        return layout, encoder, self._panel(df, layout, self.freq, INFER)

    def _set_fitted(self, layout, encoder, transform, scaler, freq, tz, series, fit_end, lookback, recipe):
        """Assigns the whole fitted state at once (`fit_transform`, `load_json`)."""
        self.layout_, self.encoder_, self.target_transform_, self.scaler_ = layout, encoder, transform, scaler
        self.freq_, self.tz_, self.series_, self.lookback_, self.recipe_ = freq, tz, series, lookback, recipe
        self.calibration_ = None  # set by `calibrate`, after the model is fitted
        self.series_ends_ = None if fit_end is None else pd.Series(
            pd.DatetimeIndex(fit_end), index=pd.Index(series, dtype=object, name=self.series_column), name="fit_end")

    @property
    def fit_end_(self):
        """The end of the data fitted on, validation included: the last
        timestamp of each series (`series_ends_`), a Timestamp without a
        `series_column` (None when unknown)."""
        if self.series_ends_ is None or self.series_column:
            return self.series_ends_
        return self.series_ends_.iloc[0]

    # ----------------------------------------------------------- later frames
    def panel(self, df):
        """The validated `Panel` of `df` with the fitted columns (categorical
        ones one-hot encoded), frequency and time zone; targets that the
        target transform cannot take are an error naming column and time."""
        self._check_columns(df)
        panel = self._panel(self._encode(df), self.layout_, self.freq_, self.tz_)
        check_transformable(panel, self.target_transform_, len(self.layout.targets), self.fill,
                           self.series_column)
        return panel

    def _check_columns(self, df):
        """The columns of the forecaster's arguments in `df`, by the user's
        names (before any one-hot encoding): a missing one is named among
        the frame's own."""
        check_frame(df, "df")
        check_columns(df, [*self.layout.scaled, *self.layout.static], "df")

    def _encode(self, df, columns=None, name="df"):
        """`df` with the fitted encoder's categorical `columns` (default: all) one-hot."""
        return df if self.encoder_ is None else self.encoder_.transform(df, columns, name)

    def _panel(self, df, layout, freq, tz):
        """With no `freq` given, the holidays of inferred business days are
        inferred again from each frame."""
        return Panel.from_frame(df, layout.scaled, freq=freq, time_column=self.time_column,
                                series_column=self.series_column, static_columns=layout.static, fill=self.fill, tz=tz,
                                na_values=self.na_values, infer_holidays=self.freq is None, sort=self.sort,
                                duplicates=self.duplicates, indicators=layout.indicators)

    def origins(self, df, future=None):
        """The panel of `df` extended by the horizon (the future covariates
        of `future` in its new rows) and the start row of the last complete
        input window of each series."""
        layout = self.layout_
        if layout.future and future is None:
            raise ValueError(f"This model needs future covariates {list(layout.future)} for the "
                             f"{self.horizon} forecast steps; pass them as `future`.")
        panel = self.panel(df)
        lookback, ends = self.lookback_, panel.offsets[1:]
        gaps = np.concatenate([[0], np.cumsum(~panel.valid)])
        short = (np.diff(panel.offsets) < lookback) | (gaps[ends] > gaps[np.maximum(ends - lookback, 0)])
        if short.any():
            words = series_words(panel.series[int(np.argmax(short))])
            raise ValueError(f"{words[:1].upper()}{words[1:]} needs {lookback} consecutive rows without "
                             f"gaps before the forecast origin. {panel.shortage()}")
        categorical = [c for c in self.encoder_.columns if c in self.layout.future] if self.encoder_ else []
        if layout.future and categorical:
            future = self._encode(future, categorical, "future")
        panel, _ = panel.extend(self.horizon, future, layout.future, self.time_column, self.series_column,
                                self.na_values)
        return panel, panel.offsets[1:] - self.horizon - self.lookback_

    def historical_starts(self, panel, after=None, verb="historical_forecasts", argument=None,
                          effect="their errors are optimistic"):
        """The start rows of every gap-free window of `panel` whose targets
        start at or after `after` (a time of `panel.time`, None: all); none
        is an error naming `argument` (the user's `(name, value)`), and
        windows fitted on are warned about (`verb`: the method called,
        `effect`: what they do to its result)."""
        starts, _ = panel.windows(self.lookback_, self.horizon, after=after)
        if len(starts) == 0:
            where = "" if argument is None or argument[1] is None else f" after `{argument[0]}`={argument[1]!r}"
            raise ValueError(f"No complete window of lookback {self.lookback_} + horizon {self.horizon} "
                             f"has its targets{where}. {panel.shortage()}")
        warn_fitted_on(panel, starts, self.lookback_, self.series_ends_, verb, None if argument is None else argument[0],
                       effect)
        return starts

    def warn_far_outside(self, panel, starts, **consequence):
        """A warning for each column that the windows at `starts` read far
        outside its training range (`tsgate.guards.warn_far_outside`)."""
        warn_far_outside(panel, starts, self.lookback_, self.horizon, self.layout_, self.scaler_,
                         self.target_transform_, **consequence)

    def inputs(self, panel, starts, batch_size=1024, shifts=None):
        """The raw-unit model's inputs for the windows at `starts`, batched;
        with `shifts` (`replayed_shifts`), each window's "calibration_shifts"."""
        series_index = self.series_rows(panel.series)
        arrays = self.layout_.arrays(np.nan_to_num(panel.values), panel.index())
        per_window = None if shifts is None else {"calibration_shifts": shifts.astype("float32")}
        dataset = self._dataset(panel, arrays, starts, self.lookback_, batch_size, series_index=series_index,
                                per_window=per_window)
        return dataset.map(lambda inputs, _: inputs)

    def replayed_shifts(self, model, panel, starts, final=False):
        """None unless the calibration is "adaptive"; then its shifts in force
        at each window at `starts` `(n, horizon, n_target, n_levels)`, the
        tracker replayed over them in time order from the calibrated shifts
        (`tsgate.calibration.track`; with `final`, the calibration once all
        their actuals are in): one pass of the scaled `model` over the windows."""
        if self.calibration_ is None or self.calibration_.method != "adaptive":
            return None
        windows = self._scaled_windows(panel, starts, 256, False, self.layout_, self.target_transform_, self.scaler_,
                                       self.lookback_)
        predictions, labels = calibration.forecasts_and_actuals(model, windows)
        origins = panel.time[starts + self.lookback_ - 1]
        targets = panel.time[starts[:, None] + self.lookback_ + np.arange(self.horizon)]
        rows = self.series_rows(self._series_of(panel, starts)) if self.calibration_.per_series else None
        shifts, moved = calibration.track(self.calibration_, predictions, labels, origins, targets, rows)
        return moved if final else shifts

    def adapt(self, model, panel, after, argument):
        """Moves an adaptive calibration's shifts through the windows of
        `panel` with targets at or after `after` (as `historical_starts`) and
        keeps them once all their actuals are in."""
        if self.calibration_ is None or self.calibration_.method != "adaptive":
            raise ValueError("adapt moves an adaptive calibration: fit with calibration='adaptive' (this forecaster's "
                             f"calibration is {None if self.calibration_ is None else self.calibration_.method!r}).")
        starts = self.historical_starts(panel, after, "adapt", argument,
                                        "the band adapted on them comes out too narrow")
        moved = self.replayed_shifts(model, panel, starts, final=True)
        last = panel.time[starts + self.lookback_ + self.horizon - 1].max()
        self.calibration_ = dataclasses.replace(moved, source=f"{self.calibration_.source}, adapted to the actuals up "
                                                       f"to {panel.timestamp(last)}")

    def _dataset(self, panel, arrays, starts, lookback, batch_size, shuffle=False, static=None, series_index=None,
                 labels=None, per_window=None, returns=None):
        """`window_dataset` of this panel's windows; `static` the static
        covariates fed (default: the panel's raw values, which the raw-unit
        model scales); `series_index` `(n_series,)` the rows the raw-unit
        model takes with per-series scaling or calibration (`series_rows`); `labels` the targets
        (NaN: missing); `returns` as `window_dataset`'s."""
        static = panel.static if static is None else static
        per_series = {"static": static} if static is not None else {}
        if series_index is not None:
            per_series["series_index"] = series_index
        return window_dataset(arrays, starts, lookback, self.horizon, batch_size, shuffle=shuffle,
                              seed=self.seed, per_series=per_series, series_of_row=panel.series_index(),
                              labels=labels, per_window=per_window, returns=returns)

    # ---------------------------------------------------------------- outputs
    def check_finite(self, panel, starts, outputs):
        """A forecast (or quantile) that is not finite is an error naming its series."""
        for name, values in outputs.items():
            finite = np.isfinite(values).reshape(len(starts), -1).all(axis=1)
            if not finite.all():
                sid = panel.series[panel.series_index()[starts[int(np.argmin(finite))]]]
                what = "forecast" if name == "forecast" else "forecast quantiles"
                raise ValueError(f"The {what} of {series_words(sid)} {'is' if name == 'forecast' else 'are'} not finite: its inputs are far outside what the model was "
                                 "trained on (or the model is broken).")

    def forecast_index(self, panel, starts, origins=False):
        """The index of the forecasts of the windows at `starts`: one row
        per window and step, ([series,] [origin,] time)."""
        rows = (starts[:, None] + self.lookback_ + np.arange(self.horizon)).ravel()
        index = panel.index()
        levels = {"time": index[rows]}
        if origins:
            levels = {"origin": index[np.repeat(starts + self.lookback_ - 1, self.horizon)], **levels}
        if self.series_column:
            levels = {self.series_column: np.asarray(panel.series, dtype=object)[panel.series_index()[rows]], **levels}
        if len(levels) == 1:
            return pd.DatetimeIndex(levels["time"], name="time")
        return pd.MultiIndex.from_arrays(list(levels.values()), names=list(levels))

    def frame(self, panel, starts, outputs, origins=False):
        """The forecast DataFrame of the raw-unit `outputs` of the windows at `starts`."""
        return self.layout_.frame(outputs, self.forecast_index(panel, starts, origins))

    def scaled_targets(self, values, series):
        """Target values `(rows, n_target, ...)` in raw units, row i of
        series `series[i]`, in the units the model was fitted in: the target
        transform, then the fitted scaler (z-scores with scaler="standard"
        and no transform, the scale published long-horizon tables report)."""
        if self.target_transform_ is not None and self.target_transform_.relative:
            raise ValueError(f"units='scaled' scores in the units the model was fitted in, which for "
                             f"target_transform={self.target_transform_.method!r} are returns from each forecast "
                             "origin, not values of the target; score the target itself with units='raw'.")
        values = np.moveaxis(np.asarray(values, "float64"), 1, -1)  # the targets last
        if self.target_transform_ is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                values = self.target_transform_.transform(values)
        n_target, rows = len(self.layout_.targets), self.scaler_.group_positions(series)
        shape = (len(rows),) + (1,) * (values.ndim - 2) + (n_target,)
        scale = self.scaler_.scale_[rows, :n_target].reshape(shape)
        return np.moveaxis(values * scale + self.scaler_.offset_[rows, :n_target].reshape(shape), -1, 1)

    def input_limits(self):
        """{raw-unit model input: the largest magnitude of each of its
        columns, None for no limit}: what `scaling.SCALED_LIMIT` allows
        through the column's largest scale over the series (and, for the
        targets, the inverse target transform; none for returns, which the
        scale does not bound in raw units): the export's `input_limits`,
        checked in the served graph."""
        scaling = self.layout_.input_scaling(self.scaler_.scale_, self.scaler_.offset_, self.scaler_.static_scale_,
                                             self.scaler_.static_offset_)
        limits = {}
        for name, (scale, _) in scaling.items():
            largest = np.abs(scale).reshape(-1, scale.shape[-1]).max(axis=0)
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                limit = SCALED_LIMIT / largest
                if name == "past_target" and self.target_transform_ is not None:
                    limit = np.full_like(limit, np.inf) if self.target_transform_.relative else \
                        self.target_transform_.inverse_transform(limit[None])[0]
            limits[name] = [float(v) if np.isfinite(v) and v < FLOAT32_MAX else None for v in limit]
        return limits

    def raw_unit_model(self, model, per_window=False):
        """`model` (scaled units) wrapped in this fitted stage: raw inputs →
        transform → scale → model (→ calibrate) → inverse scale → inverse
        transform (→ clip at 0 with `non_negative`), what `predict` runs and
        exports serve; `per_window`: the calibration's shifts an input (for
        `replayed_shifts`)."""
        return raw_unit_model(model, self.layout_, self.scaler_, self.layout_.quantiles, self.target_transform_,
                              self.non_negative, self.calibration_, per_window)

    # ------------------------------------------------------------------ JSON
    def to_json(self):
        """The fitted state as JSON (forecaster.json's keys, the export's)."""
        return {"freq": freq_to_json(self.freq_), "tz": self.tz_, "series": self.series_,
                "scaler": self.scaler_.to_json(),
                "categories": None if self.encoder_ is None else self.encoder_.to_json(),
                "target_transform": None if self.target_transform_ is None else self.target_transform_.to_json(),
                "fit_end": None if self.series_ends_ is None else [utc_text(t) for t in self.series_ends_],
                "recipe": self.recipe_,
                "calibration": None if self.calibration_ is None else self.calibration_.to_json()}

    def load_json(self, state):
        """This preprocessor with the fitted state `to_json` wrote (keys
        absent from files written before they were kept read as None)."""
        encoder = None if state.get("categories") is None else CategoricalEncoder.from_json(state["categories"])
        layout = self.layout if encoder is None else self.layout.encoded(encoder.feature_names_)
        transform = state.get("target_transform")
        transform = None if transform is None else TargetTransform.from_json(transform)
        fit_end = None if state.get("fit_end") is None else from_utc_text(state["fit_end"], state["tz"])
        recipe = state.get("recipe")
        self._set_fitted(layout, encoder, transform, AffineScaler.from_json(state["scaler"], method=self.scaler),
                         freq_from_json(state["freq"]), state["tz"], state["series"], fit_end,
                         self.lookback if recipe is None else recipe["lookback"], recipe)
        if state.get("calibration") is not None:
            self.calibration_ = calibration.Calibration.from_json(state["calibration"])
            self.layout_ = dataclasses.replace(self.layout_, quantiles=self.calibration_.levels)
        return self

    def serving_metadata(self):
        """What an export's `assets/tsgate.json` says of this stage: lookback,
        horizon, the input columns and how each calendar column is computed
        (holiday dates from the year before the end of the training data to
        HOLIDAY_YEARS after it), quantiles, `non_negative` and the fitted
        state (`to_json`, but the series and their ends)."""
        state = self.to_json()
        ends = pd.DatetimeIndex([pd.Timestamp.now()] if self.series_ends_ is None else self.series_ends_)
        holidays_between = f"{ends.min().year - 1}-01-01", f"{ends.max().year + HOLIDAY_YEARS}-12-31"
        return {"lookback": self.lookback_, "horizon": self.horizon, "freq": state["freq"], "tz": state["tz"],
                **self.layout_.metadata(*holidays_between), "quantiles": self.layout_.quantiles,
                "scaler": state["scaler"], "target_transform": state["target_transform"],
                "non_negative": self.non_negative, "categories": state["categories"],
                "calibration": state["calibration"], "input_limits": self.input_limits()}
