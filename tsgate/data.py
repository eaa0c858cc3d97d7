"""From a pandas DataFrame to validated, gap-aware forecasting windows.

`Panel.from_frame` checks a frame (one or many series), puts every series on
its regular time grid (missing timestamps become gaps) and keeps all series in
one contiguous array. Windows are start rows into that array; a window never
covers a gap. `window_dataset` gathers windows by index in `tf.data`, so
memory grows with rows, not with windows × lookback.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CALENDAR_PERIODS = {"hour": 24, "dayofweek": 7, "day": 31, "month": 12, "dayofyear": 366, "minute": 60}


def calendar_features(index, features=("hour", "dayofweek")):
    """Sin/cos encodings of calendar fields of a DatetimeIndex, e.g.
    `hour_sin`, `hour_cos`; usable as known-future covariates."""
    columns = {}
    for name in features:
        if name not in CALENDAR_PERIODS:
            raise ValueError(f"Unknown calendar feature {name!r}; choose from {sorted(CALENDAR_PERIODS)}.")
        angle = 2 * np.pi * np.asarray(getattr(index, name), dtype="float64") / CALENDAR_PERIODS[name]
        columns[f"{name}_sin"], columns[f"{name}_cos"] = np.sin(angle), np.cos(angle)
    return pd.DataFrame(columns, index=index)


@dataclass
class Panel:
    """Series on their regular grids, stacked row-wise.

    values: `(rows, n_columns)` float32, NaN in gap rows; `columns` names them.
    valid: `(rows,)` bool, False in gap rows. time: `(rows,)` datetime64.
    series: the series ids in order; offsets[k]:offsets[k+1] are the rows of
    series k. static: `(n_series, n_static)` float32.
    """

    values: np.ndarray
    columns: list
    valid: np.ndarray
    time: np.ndarray
    series: list
    offsets: np.ndarray
    freq: pd.DateOffset
    static: np.ndarray = None
    static_columns: list = field(default_factory=list)
    gap_rows: int = 0

    @classmethod
    def from_frame(
        cls,
        df,
        columns,
        freq=None,
        time_column=None,
        series_column=None,
        static_columns=(),
        fill=None,
    ):
        """Validates `df` and builds the panel of `columns`.

        df: DatetimeIndex, or a `time_column`; optionally a `series_column`
            holding several series, each of its own length.
        freq: pandas frequency ("h", "D", "B", ...); inferred when None.
        fill: None (NaN/inf is an error naming the column and rows; missing
            timestamps are gaps that no window covers), or "ffill",
            "interpolate" or "zero" to fill NaN, inf and missing timestamps.
        """
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"Expected a pandas DataFrame, got {type(df).__name__}.")
        frame = df.reset_index() if time_column is None else df.reset_index(drop=True)
        time_name = time_column or (df.index.name or "index")
        if time_name not in frame.columns:
            raise ValueError(f"Time column {time_name!r} is not in the DataFrame.")
        if time_column is None and not isinstance(df.index, pd.DatetimeIndex):
            raise ValueError(
                "The DataFrame needs a DatetimeIndex or a `time_column`; "
                f"its index is a {type(df.index).__name__}."
            )
        needed = list(columns) + list(static_columns) + ([series_column] if series_column else [])
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"Column(s) {missing} are not in the DataFrame; it has {list(df.columns)}.")
        for column in list(columns) + list(static_columns):
            if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
                raise ValueError(f"Column {column!r} must be numeric, got dtype {frame[column].dtype}.")
        times = pd.to_datetime(frame[time_name])
        groups = frame.groupby(series_column, sort=False) if series_column else [(None, frame)]

        blocks, valid, stamps, ids, offsets, statics, gap_rows = [], [], [], [], [0], [], 0
        for sid, part in groups:
            label = "" if sid is None else f" in series {sid!r}"
            t = pd.DatetimeIndex(times.loc[part.index])
            order = np.diff(t.asi8)
            if (order < 0).any():
                i = int(np.argmax(order < 0)) + 1
                raise ValueError(f"Timestamps must be sorted{label}: row {i} ({t[i]}) comes after {t[i - 1]}.")
            if (order == 0).any():
                i = int(np.argmax(order == 0)) + 1
                raise ValueError(f"Duplicate timestamp {t[i]}{label} at row {i}.")
            step = pd.tseries.frequencies.to_offset(freq) if freq else _infer_step(t, label)
            grid = pd.date_range(t[0], t[-1], freq=step)
            if len(grid.intersection(t)) != len(t):
                off = t.difference(grid)[0]
                raise ValueError(f"Timestamp {off}{label} is not on the {step.freqstr} grid starting at {t[0]}.")
            data = part[list(columns)].set_axis(t).astype("float64")
            _check_finite(data, label, fill)
            present = grid.isin(t)
            gap_rows += int((~present).sum())
            data = data.reindex(grid)
            if fill is not None:  # NaN, inf and missing timestamps alike
                data = _fill(data, fill)
                present = np.ones(len(grid), bool)
            blocks.append(data.to_numpy("float32"))
            valid.append(present)
            stamps.append(grid.to_numpy())
            ids.append(sid)
            offsets.append(offsets[-1] + len(grid))
            if static_columns:
                values = part[list(static_columns)].to_numpy("float64")
                if not (values == values[0]).all():
                    raise ValueError(f"Static covariates {list(static_columns)} vary over time{label}.")
                statics.append(values[0])
        return cls(
            values=np.concatenate(blocks),
            columns=list(columns),
            valid=np.concatenate(valid),
            time=np.concatenate(stamps),
            series=ids,
            offsets=np.asarray(offsets),
            freq=step,
            static=np.asarray(statics, "float32") if static_columns else None,
            static_columns=list(static_columns),
            gap_rows=gap_rows,
        )

    def series_slices(self):
        return [slice(a, b) for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def series_index(self):
        """`(rows,)` the position of each row's series."""
        return np.repeat(np.arange(len(self.series)), np.diff(self.offsets))

    def window_starts(self, span):
        """Start rows of every window of `span` consecutive valid rows within
        one series, and the number of positions dropped because of gaps."""
        starts, dropped = [], 0
        invalid = np.concatenate([[0], np.cumsum(~self.valid)])
        for rows in self.series_slices():
            candidates = np.arange(rows.start, rows.stop - span + 1)
            clean = invalid[candidates + span] - invalid[candidates] == 0
            starts.append(candidates[clean])
            dropped += int((~clean).sum())
        return np.concatenate(starts) if starts else np.zeros(0, int), dropped


def _infer_step(t, label):
    """pandas' inferred frequency, else the most common spacing (so that a
    series with gaps still gets its grid)."""
    step = t.freq or (pd.infer_freq(t) if len(t) >= 3 else None)
    if step is None and len(t) >= 3:
        step = pd.Series(t).diff().mode()[0]
    if step is None:
        raise ValueError(f"Cannot infer the frequency{label}; pass `freq` (for example 'h', 'D' or 'B').")
    return pd.tseries.frequencies.to_offset(step)


def _check_finite(data, label, fill):
    bad = ~np.isfinite(data.to_numpy())
    if bad.any() and fill is None:
        column = data.columns[bad.any(axis=0)][0]
        rows = data.index[bad[:, list(data.columns).index(column)]][:3]
        raise ValueError(
            f"Column {column!r}{label} has NaN or inf at {[str(r) for r in rows]}"
            f"{' ...' if bad.sum() > 3 else ''}; clean it or pass fill='ffill', 'interpolate' or 'zero'."
        )


def _fill(data, fill):
    data = data.replace([np.inf, -np.inf], np.nan)
    if fill == "ffill":
        return data.ffill().bfill()
    if fill == "interpolate":
        return data.interpolate(limit_direction="both")
    if fill == "zero":
        return data.fillna(0.0)
    raise ValueError(
        "Received an invalid value for argument `fill`, expected None, 'ffill', 'interpolate' "
        f"or 'zero', got {fill!r}."
    )


def window_dataset(arrays, starts, lookback, horizon, batch_size, shuffle=False, seed=None, static=None, series_of_row=None):
    """A `tf.data.Dataset` of `(inputs, targets)` batches gathered by index.

    arrays: dict with "target" `(rows, n_t)` and optionally "past_covariates"
        `(rows, n_p)`, "future_covariates" `(rows, n_f)` (contiguous, scaled).
    starts: window start rows. inputs: "past_target" `(b, lookback, n_t)`,
        "past_covariates" `(b, lookback, n_p)`, "future_covariates"
        `(b, horizon, n_f)`, "static" `(b, n_s)`; targets `(b, horizon, n_t)`.
    """
    import tensorflow as tf

    tensors = {name: tf.constant(value) for name, value in arrays.items()}
    static_t = tf.constant(static) if static is not None else None
    series_t = tf.constant(series_of_row, "int32") if series_of_row is not None else None
    index_dtype = "int32" if len(arrays["target"]) < 2**31 else "int64"  # half the index memory
    past = tf.range(lookback, dtype=index_dtype)
    future = tf.range(lookback, lookback + horizon, dtype=index_dtype)

    def gather(start):
        inputs = {"past_target": tf.gather(tensors["target"], start[:, None] + past)}
        if "past_covariates" in tensors:
            inputs["past_covariates"] = tf.gather(tensors["past_covariates"], start[:, None] + past)
        if "future_covariates" in tensors:
            inputs["future_covariates"] = tf.gather(tensors["future_covariates"], start[:, None] + future)
        if static_t is not None:
            inputs["static"] = tf.gather(static_t, tf.gather(series_t, start))
        return inputs, tf.gather(tensors["target"], start[:, None] + future)

    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(starts, index_dtype))
    if shuffle:
        dataset = dataset.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    # Two batches in flight: as fast as AUTOTUNE here, and memory stays bounded.
    return dataset.batch(batch_size).map(gather, num_parallel_calls=2).prefetch(2)
