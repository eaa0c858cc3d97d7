"""`Forecaster`: a pandas time series in, forecasts in raw units out."""

import json
import os

import keras
import numpy as np
import pandas as pd

from tsgate import __version__
from tsgate.data import Panel, calendar_features, window_dataset
from tsgate.models import BUILDERS, PinballLoss
from tsgate.scaling import AffineScaler

# Steps per season for calendar frequencies; sub-daily ones use one day.
SEASONS = {"D": 7, "B": 5, "W": 52, "MS": 12, "ME": 12, "M": 12}


def _as_list(value):
    return [value] if isinstance(value, str) else list(value or [])


def metrics(actual, forecast, scale):
    """MAE, RMSE, MAPE (%), sMAPE (%) and MASE (MAE over `scale`, the in-sample
    one-step naive MAE) over all windows, steps and targets."""
    error = forecast - actual
    mae = float(np.mean(np.abs(error)))
    with np.errstate(divide="ignore", invalid="ignore"):
        nonzero = actual != 0
        mape = float(np.mean(np.abs(error[nonzero] / actual[nonzero])) * 100) if nonzero.any() else float("nan")
        denominator = np.abs(actual) + np.abs(forecast)
        smape = float(np.mean(np.where(denominator > 0, 2 * np.abs(error) / denominator, 0.0)) * 100)
    return {"MAE": mae, "RMSE": float(np.sqrt(np.mean(error**2))), "MAPE": mape, "sMAPE": smape, "MASE": mae / scale}


class Forecaster:
    """Direct multi-horizon forecaster built from tsgate cells.

    Args:
        target: column name(s) to forecast.
        lookback, horizon: input and output lengths in timesteps.
        stride: keep every stride-th window for training and validation
            (evaluation uses every window).
        cell: "gru", "lstm", "memory_gru", "sru", or a Keras layer used as the
            encoder. units, layers: size of the recurrent stack.
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
        builder: a name in `tsgate.models.BUILDERS` (default "recurrent").
        seed: makes fitting repeatable.
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
        learning_rate=3e-3,
        seed=0,
    ):
        for name, value in (
            ("lookback", lookback), ("horizon", horizon), ("stride", stride), ("units", units), ("layers", layers)
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Received an invalid value for argument `{name}`, expected a positive integer, got {value!r}.")
        if quantiles is not None and (0.5 not in quantiles or not all(0 < q < 1 for q in quantiles)):
            raise ValueError(f"`quantiles` must lie in (0, 1) and include 0.5, got {quantiles!r}.")
        if builder not in BUILDERS:
            raise ValueError(f"Unknown builder {builder!r}; registered: {sorted(BUILDERS)}.")
        self.targets = _as_list(target)
        self.lookback, self.horizon, self.stride = lookback, horizon, stride
        self.cell, self.units, self.layers = cell, units, layers
        self.past_covariates = _as_list(past_covariates)
        self.future_covariates = _as_list(future_covariates)
        self.calendar = _as_list(calendar)
        self.static_covariates = _as_list(static_covariates)
        self.quantiles = sorted(quantiles) if quantiles is not None else None
        self.scaler_method, self.scale_per_series = scaler, scale_per_series
        self.freq, self.time_column, self.series_column, self.fill = freq, time_column, series_column, fill
        self.builder, self.learning_rate, self.seed = builder, learning_rate, seed
        self.model = None

    # ----------------------------------------------------------------- data
    @property
    def _scaled_columns(self):
        return self.targets + self.past_covariates + self.future_covariates

    def _panel(self, df, freq=None):
        return Panel.from_frame(
            df,
            self._scaled_columns,
            freq=freq or self.freq,
            time_column=self.time_column,
            series_column=self.series_column,
            static_columns=self.static_covariates,
            fill=self.fill,
        )

    def _arrays(self, panel, scaled):
        n_t, n_p = len(self.targets), len(self.past_covariates)
        arrays = {"target": scaled[:, :n_t]}
        if n_p:
            arrays["past_covariates"] = scaled[:, n_t : n_t + n_p]
        future = [scaled[:, n_t + n_p :]] if self.future_covariates else []
        if self.calendar:
            future.append(calendar_features(pd.DatetimeIndex(panel.time), self.calendar).to_numpy("float32"))
        if future:
            arrays["future_covariates"] = np.concatenate(future, axis=1)
        return arrays

    def _series_groups(self, panel):
        return panel.series_index() if self.scale_per_series else None

    def _spec(self):
        return {
            "lookback": self.lookback,
            "horizon": self.horizon,
            "n_target": len(self.targets),
            "n_past": len(self.past_covariates),
            "n_future": len(self.future_covariates) + 2 * len(self.calendar),
            "n_static": len(self.static_covariates),
        }

    def _cutoff(self, panel, fraction_or_time, name):
        """The first timestamp of the held-out part: a timestamp, or the
        fraction of the overall time span at the end."""
        if isinstance(fraction_or_time, (int, float)) and not isinstance(fraction_or_time, bool):
            if not 0 < fraction_or_time < 1:
                raise ValueError(f"`{name}` as a fraction must lie in (0, 1), got {fraction_or_time!r}.")
            start, end = panel.time.min(), panel.time.max()
            return start + (end - start) * (1 - fraction_or_time)
        return np.datetime64(pd.Timestamp(fraction_or_time))

    def _windows(self, panel, after=None, before=None):
        """Start rows of windows whose targets all lie in [after, before)."""
        starts, dropped = panel.window_starts(self.lookback + self.horizon)
        first = panel.time[starts + self.lookback]
        last = panel.time[starts + self.lookback + self.horizon - 1]
        keep = np.ones(len(starts), bool)
        if after is not None:
            keep &= first >= after
        if before is not None:
            keep &= last < before
        return starts[keep], dropped

    def _dataset(self, panel, arrays, starts, batch_size, shuffle=False):
        return window_dataset(
            arrays,
            starts,
            self.lookback,
            self.horizon,
            batch_size,
            shuffle=shuffle,
            seed=self.seed,
            static=panel.static,
            series_of_row=panel.series_index() if panel.static is not None else None,
        )

    # ------------------------------------------------------------------ fit
    def fit(self, df, validation=0.2, epochs=20, batch_size=64, patience=5, checkpoint_dir=None, verbose=1, **builder_options):
        """Fits scalers on the training rows and the model on the training
        windows (targets before the validation cutoff), with EarlyStopping on
        the validation windows and the best weights restored. With
        checkpoint_dir, the best model is checkpointed and an interrupted fit
        resumes where it stopped (BackupAndRestore). Returns the Keras History."""
        keras.utils.set_random_seed(self.seed)
        panel = self._panel(df)
        self.freq_ = panel.freq.freqstr
        cutoff = self._cutoff(panel, validation, "validation")
        train_rows = panel.time < cutoff
        self.scaler_ = AffineScaler(self.scaler_method, self.scale_per_series).fit(
            panel.values[train_rows],
            None if not self.scale_per_series else panel.series_index()[train_rows],
            self._scaled_columns,
        )
        self.series_ = list(panel.series)
        scaled = self.scaler_.transform(panel.values, self._series_groups(panel))
        arrays = self._arrays(panel, scaled)
        train, dropped = self._windows(panel, before=cutoff)
        val, _ = self._windows(panel, after=cutoff)
        train, val = train[:: self.stride], val[:: self.stride]
        if len(train) == 0 or len(val) == 0:
            raise ValueError(
                f"Not enough data: {len(train)} training and {len(val)} validation windows of "
                f"lookback {self.lookback} + horizon {self.horizon} (each series needs at least "
                f"{self.lookback + self.horizon} consecutive rows on each side of the cutoff)."
            )
        self.windows_ = {"train": len(train), "validation": len(val), "dropped_for_gaps": dropped}
        if verbose and dropped:
            print(f"tsgate: {dropped} window positions dropped because they would straddle a gap "
                  f"({panel.gap_rows} missing timestamps).")
        self.model = BUILDERS[self.builder](self._spec(), cell=self.cell, units=self.units, layers=self.layers,
                                            quantiles=self.quantiles, **builder_options)
        loss = PinballLoss(self.quantiles) if self.quantiles else "mse"
        self.model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss=loss)
        callbacks = [keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)]
        if checkpoint_dir:
            os.makedirs(checkpoint_dir, exist_ok=True)
            callbacks += [
                keras.callbacks.ModelCheckpoint(os.path.join(checkpoint_dir, "best.keras"), save_best_only=True),
                keras.callbacks.BackupAndRestore(os.path.join(checkpoint_dir, "backup")),
            ]
        return self.model.fit(
            self._dataset(panel, arrays, train, batch_size, shuffle=True),
            validation_data=self._dataset(panel, arrays, val, batch_size),
            epochs=epochs,
            callbacks=callbacks,
            shuffle=False,  # the dataset reshuffles the training windows every epoch
            verbose=verbose,
        )

    def _check_fitted(self):
        if self.model is None or not hasattr(self, "scaler_"):
            raise ValueError("This Forecaster is not fitted yet; call fit first (or Forecaster.load).")

    def _check_columns(self, df):
        names = set(df.columns) | {df.index.name}
        missing = [c for c in self._scaled_columns + self.static_covariates if c not in names]
        if missing:
            raise ValueError(f"Columns {missing} were used at fit time but are missing now.")

    def _predict_scaled(self, panel, arrays, starts):
        out = self.model.predict(self._dataset(panel, arrays, starts, 256), verbose=0)
        groups = panel.series_index()[starts] if self.scale_per_series else None
        targets = slice(0, len(self.targets))
        if not self.quantiles:
            return self.scaler_.inverse_transform(out, groups, targets)
        # (windows, horizon, targets, quantiles): targets on the last axis while inverting
        raw = self.scaler_.inverse_transform(np.moveaxis(out, -1, -2), groups, targets)
        return np.moveaxis(raw, -1, -2)

    # -------------------------------------------------------------- predict
    def predict(self, df, future=None):
        """Forecasts the `horizon` steps after the last timestamp of each
        series in `df` (its last `lookback` rows must have no gap). `future`
        holds the future covariates for those steps when the model uses them.
        Returns a DataFrame in raw units indexed by (series,) time."""
        panel, starts = self._origins(df, future)
        scaled = self.scaler_.transform(np.nan_to_num(panel.values), self._series_groups(panel))
        forecast = self._predict_scaled(panel, self._arrays(panel, scaled), starts)
        return self._frame(panel, starts, forecast)

    def _origins(self, df, future):
        """The panel of `df` extended by the horizon, and the start row of the
        last complete input window of each series."""
        self._check_fitted()
        self._check_columns(df)
        if self.future_covariates and future is None:
            raise ValueError(
                f"This model needs future covariates {self.future_covariates} for the "
                f"{self.horizon} forecast steps; pass them as `future`."
            )
        panel = self._panel(self._append_future(df, future if self.future_covariates else None), self.freq_)
        starts = []
        for k, rows in enumerate(panel.series_slices()):
            start = rows.stop - self.horizon - self.lookback
            if start < rows.start or not panel.valid[start : rows.stop - self.horizon].all():
                raise ValueError(
                    f"Series {panel.series[k]!r} needs {self.lookback} consecutive rows without gaps "
                    f"before the forecast origin."
                )
            starts.append(start)
        return panel, np.asarray(starts)

    def serving_inputs(self, df, future=None):
        """The raw-unit inputs of the exported model for the forecast after
        the end of each series in `df`, as {name: array}, and the forecast's
        index (what `predict` would return it with)."""
        panel, starts = self._origins(df, future)
        arrays = self._arrays(panel, panel.values)  # raw values, calendar features added
        past = starts[:, None] + np.arange(self.lookback)
        inputs = {"past_target": arrays["target"][past]}
        if "past_covariates" in arrays:
            inputs["past_covariates"] = arrays["past_covariates"][past]
        if "future_covariates" in arrays:
            inputs["future_covariates"] = arrays["future_covariates"][past[:, -1:] + 1 + np.arange(self.horizon)]
        if panel.static is not None:
            inputs["static"] = panel.static
        empty = np.zeros((len(starts), self.horizon, len(self.targets), len(self.quantiles or [0])))
        index = self._frame(panel, starts, empty if self.quantiles else empty[..., 0]).index
        return {name: value.astype("float32") for name, value in inputs.items()}, index

    def export(self, path, version=None, xla=False):
        """Writes a SavedModel for TF Serving to `path/<version>/` (version:
        an int, default the current Unix time): raw-unit inputs, the fitted
        scaler and its inverse inside the graph, raw-unit `forecast` (and
        `quantiles`), metadata in a `metadata` signature and
        `assets/tsgate.json`. See `tsgate.export.export_forecast_model`."""
        import time

        from tsgate import export

        scaling, output_scaling = self._serving_scaling()
        calendar_names = list(calendar_features(pd.DatetimeIndex([]), self.calendar).columns)
        metadata = {
            "tsgate_version": __version__,
            "lookback": self.lookback,
            "horizon": self.horizon,
            "freq": self.freq_,
            "targets": self.targets,
            "inputs": {
                "past_target": self.targets,
                "past_covariates": self.past_covariates,
                "future_covariates": self.future_covariates + calendar_names,
                "static": self.static_covariates,
            },
            "quantiles": self.quantiles,
            "scaler": self.scaler_.to_json(),
        }
        version_dir = os.path.join(path, str(version if version is not None else int(time.time())))
        return export.export_forecast_model(self.model, version_dir, scaling, output_scaling, metadata, self.quantiles, xla)

    def export_tflite(self, path):
        """Writes the raw-unit forecast function as a TF Lite model (batch 1,
        builtin ops) to `path`; its `serving_default` signature takes the
        inputs of `serving_inputs` one series at a time."""
        from tsgate import export

        scaling, output_scaling = self._serving_scaling()
        return export.export_tflite(self.model, path, scaling, output_scaling, self.quantiles)

    def _serving_scaling(self):
        """{input: (scale, offset)} and the targets' (scale, offset) for export."""
        self._check_fitted()
        if self.scale_per_series:
            raise ValueError("Export needs one scaler for all series: fit with scale_per_series=False.")
        scale, offset = self.scaler_.scale_[0], self.scaler_.offset_[0]
        n_t, n_p = len(self.targets), len(self.past_covariates)
        calendar = 2 * len(self.calendar)  # sin/cos features pass through unscaled
        scaling = {"past_target": (scale[:n_t], offset[:n_t])}
        if n_p:
            scaling["past_covariates"] = (scale[n_t : n_t + n_p], offset[n_t : n_t + n_p])
        if self.future_covariates or calendar:
            scaling["future_covariates"] = (
                np.concatenate([scale[n_t + n_p :], np.ones(calendar)]),
                np.concatenate([offset[n_t + n_p :], np.zeros(calendar)]),
            )
        return scaling, (scale[:n_t], offset[:n_t])

    def _append_future(self, df, future):
        """Appends the horizon's rows (covariates from `future`, NaN targets)."""
        frame = df.reset_index() if self.time_column is None else df.reset_index(drop=True)
        time = self.time_column or (df.index.name or "index")
        parts = []
        groups = frame.groupby(self.series_column, sort=False) if self.series_column else [(None, frame)]
        for sid, part in groups:
            stamps = pd.date_range(pd.Timestamp(part[time].iloc[-1]), periods=self.horizon + 1, freq=self.freq_)[1:]
            extra = pd.DataFrame({time: stamps})
            if self.series_column:
                extra[self.series_column] = sid
            for column in self.static_covariates:
                extra[column] = part[column].iloc[-1]
            for column in self.targets + self.past_covariates:
                extra[column] = 0.0  # placeholders in the horizon rows, never read
            if future is not None:
                given = future.reset_index() if self.time_column is None else future.reset_index(drop=True)
                if self.series_column:
                    given = given[given[self.series_column] == sid]
                given = given.set_index(pd.to_datetime(given[time]))
                missing = stamps.difference(given.index)
                if len(missing):
                    raise ValueError(f"`future` lacks covariates for {[str(m) for m in missing[:3]]} (series {sid!r}).")
                for column in self.future_covariates:
                    extra[column] = given.loc[stamps, column].to_numpy()
            parts += [part, extra]
        merged = pd.concat(parts, ignore_index=True)
        return merged if self.time_column else merged.set_index(time)

    def _frame(self, panel, starts, forecast):
        series = panel.series_index()
        rows = starts[:, None] + self.lookback + np.arange(self.horizon)
        data = {}
        for j, name in enumerate(self.targets):
            if self.quantiles:
                for k, q in enumerate(self.quantiles):
                    data[f"{name}_q{q:g}"] = forecast[:, :, j, k].ravel()
                data[name] = forecast[:, :, j, self.quantiles.index(0.5)].ravel()
            else:
                data[name] = forecast[:, :, j].ravel()
        index = pd.DatetimeIndex(panel.time[rows.ravel()], name="time")
        frame = pd.DataFrame(data, index=index)
        if self.series_column:
            frame.insert(0, self.series_column, [panel.series[s] for s in series[rows.ravel()]])
            frame = frame.set_index(self.series_column, append=True).swaplevel()
        return frame

    # ------------------------------------------------------------- evaluate
    def season(self):
        """Steps per season for the seasonal-naive baseline: a day for
        sub-daily data (24 at "h", 96 at "15min"), a week for daily, 5 for
        business days, a year for weekly and monthly; 1 if unknown."""
        offset = pd.tseries.frequencies.to_offset(self.freq_)
        if offset.name in SEASONS and offset.n == 1:
            return SEASONS[offset.name]
        try:
            step = pd.Timedelta(offset)
        except ValueError:
            return 1
        day = pd.Timedelta("1D")
        return int(day // step) if step < day and day % step == pd.Timedelta(0) else 1

    def evaluate(self, df, test=0.2):
        """Metrics in raw units on the windows whose targets lie in the last
        `test` part of the time span (a fraction or a start timestamp), next to
        the naive (last value) and seasonal-naive baselines. Returns a
        DataFrame indexed by model."""
        self._check_fitted()
        self._check_columns(df)
        panel = self._panel(df, self.freq_)
        cutoff = self._cutoff(panel, test, "test")
        scaled = self.scaler_.transform(np.nan_to_num(panel.values), self._series_groups(panel))
        starts, _ = self._windows(panel, after=cutoff)
        if len(starts) == 0:
            raise ValueError(f"No test windows after {cutoff}: the series are too short for lookback + horizon.")
        forecast = self._predict_scaled(panel, self._arrays(panel, scaled), starts)
        if self.quantiles:
            forecast = forecast[..., self.quantiles.index(0.5)]
        n_t = len(self.targets)
        raw = panel.values[:, :n_t].astype("float64")
        actual = raw[starts[:, None] + self.lookback + np.arange(self.horizon)]
        last = raw[starts + self.lookback - 1][:, None, :]
        season = self.season()
        lag = np.arange(self.horizon) % season - season  # the same phase in the last season
        seasonal = raw[starts[:, None] + self.lookback + lag] if self.lookback >= season else np.repeat(last, self.horizon, 1)
        history = raw[panel.time < cutoff]
        scale = float(np.nanmean(np.abs(np.diff(history, axis=0)))) or 1.0
        table = {
            "tsgate": metrics(actual, forecast, scale),
            "naive": metrics(actual, np.repeat(last, self.horizon, axis=1), scale),
            f"seasonal naive ({season})": metrics(actual, seasonal, scale),
        }
        return pd.DataFrame(table).T

    def backtest(self, df, folds=3, test=0.2, refit=True, **fit_options):
        """Rolling-origin evaluation: the last `test` part of the span is cut
        into `folds` chunks; each fold trains on everything before its chunk
        (scalers re-fitted; with refit=False only the first fold trains) and
        is evaluated on the chunk. Returns a DataFrame of metrics per fold."""
        panel = self._panel(df)
        start, end = panel.time.min(), panel.time.max()
        begin = start + (end - start) * (1 - test)
        edges = [begin + (end - begin) * k / folds for k in range(folds + 1)]
        frame_time = df.index if self.time_column is None else pd.to_datetime(df[self.time_column])
        rows = []
        for k in range(folds):
            history = df[frame_time < edges[k]]
            chunk = df[frame_time < edges[k + 1]] if k < folds - 1 else df
            if refit or k == 0:
                self.fit(history, verbose=0, **fit_options)
            table = self.evaluate(chunk, test=pd.Timestamp(edges[k]))
            table.insert(0, "fold", k)
            rows.append(table)
        return pd.concat(rows)

    # ----------------------------------------------------------------- plot
    def plot(self, df, path=None, history=None, series=None):
        """History, forecast and (with quantiles) the outer interval of the
        first target, as a matplotlib Figure; saved as PNG when `path` is given."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        forecast = self.predict(df)
        target = self.targets[0]
        past = df if not self.series_column else df[df[self.series_column] == (series or self.series_[0])]
        if self.series_column:
            forecast = forecast.xs(series or self.series_[0], level=0)
        past = past.iloc[-(history or 3 * self.lookback) :]
        times = past.index if self.time_column is None else pd.to_datetime(past[self.time_column])
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.plot(times, past[target], label="history")
        ax.plot(forecast.index, forecast[target], label="forecast")
        if self.quantiles:
            low, high = self.quantiles[0], self.quantiles[-1]
            ax.fill_between(forecast.index, forecast[f"{target}_q{low:g}"], forecast[f"{target}_q{high:g}"],
                            alpha=0.3, label=f"{low:g}-{high:g} interval")
        ax.set(title=f"{target}: {self.horizon}-step forecast", ylabel=target)
        ax.legend()
        fig.autofmt_xdate()
        if path:
            fig.savefig(path, dpi=100, bbox_inches="tight")
        return fig

    # ------------------------------------------------------------ save/load
    def _config(self):
        """Constructor arguments; a layer passed as `cell` or a transformer
        object as `scaler` live on in model.keras and the scaler JSON."""
        return {
            "target": self.targets, "lookback": self.lookback, "horizon": self.horizon, "stride": self.stride,
            "cell": self.cell if isinstance(self.cell, str) else None,
            "units": self.units, "layers": self.layers, "past_covariates": self.past_covariates,
            "future_covariates": self.future_covariates, "calendar": self.calendar,
            "static_covariates": self.static_covariates, "quantiles": self.quantiles,
            "scaler": self.scaler_method if isinstance(self.scaler_method, str) else "standard",
            "scale_per_series": self.scale_per_series, "freq": self.freq, "time_column": self.time_column,
            "series_column": self.series_column, "fill": self.fill, "builder": self.builder,
            "learning_rate": self.learning_rate, "seed": self.seed,
        }

    def save(self, path):
        """Writes `path/model.keras` and `path/forecaster.json` (configuration,
        fitted scaler, frequency, series, tsgate version). No pickle."""
        self._check_fitted()
        os.makedirs(path, exist_ok=True)
        self.model.save(os.path.join(path, "model.keras"))
        meta = {
            "tsgate_version": __version__,
            "config": self._config(),
            "freq": self.freq_,
            "series": [None if s is None else (s.item() if hasattr(s, "item") else s) for s in self.series_],
            "scaler": self.scaler_.to_json(),
            "windows": self.windows_,
        }
        with open(os.path.join(path, "forecaster.json"), "w") as f:
            json.dump(meta, f, indent=2)

    @classmethod
    def load(cls, path):
        with open(os.path.join(path, "forecaster.json")) as f:
            meta = json.load(f)
        forecaster = cls(**meta["config"])
        forecaster.model = keras.saving.load_model(os.path.join(path, "model.keras"))
        forecaster.scaler_ = AffineScaler.from_json(meta["scaler"])
        forecaster.freq_, forecaster.series_, forecaster.windows_ = meta["freq"], meta["series"], meta["windows"]
        return forecaster
