"""From a pandas DataFrame to validated, gap-aware series and their windows.

`Panel.from_frame` checks a frame (one or many series), puts every series on
its regular time grid (missing timestamps become gaps) and keeps all series in
one contiguous array. Windows are start rows into that array; a window never
covers a gap. `tsgate.windows` turns start rows into a `tf.data` pipeline.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tsgate.validation import check_choice, invalid

# Steps per season for calendar frequencies; sub-daily ones use one day.
SEASONS = {"D": 7, "B": 5, "W": 52, "MS": 12, "ME": 12, "M": 12}
FILLS = (None, "ffill", "interpolate", "zero")


def season_length(freq):
    """Steps per season of a pandas frequency, for the seasonal-naive
    baseline: a day for sub-daily data (24 at "h", 96 at "15min"), a week for
    daily, 5 for business days, a year for weekly and monthly; 1 if unknown."""
    offset = pd.tseries.frequencies.to_offset(freq)
    if offset.name in SEASONS and offset.n == 1:
        return SEASONS[offset.name]
    try:
        step = pd.Timedelta(offset)
    except ValueError:
        return 1
    day = pd.Timedelta("1D")
    return int(day // step) if step < day and day % step == pd.Timedelta(0) else 1


def frame_times(df, time_column=None):
    """The timestamps of `df`'s rows: its index, or its `time_column`."""
    return pd.DatetimeIndex(df.index if time_column is None else pd.to_datetime(df[time_column]))


def with_time_column(df, time_column=None):
    """`df` with a default index and its timestamps in a column, and that
    column's name (`time_column`, else the index's name or "index")."""
    if time_column is None:
        return df.reset_index(), df.index.name or "index"
    return df.reset_index(drop=True), time_column


def extend(df, horizon, freq, time_column=None, series_column=None, future=None, future_columns=(), copy_columns=()):
    """`df` with `horizon` rows appended to each series on its `freq` grid:
    `future_columns` taken from `future` (a frame laid out like `df`), the
    `copy_columns` repeating the series' last value, every other column 0.0
    (placeholders that no window reads as input)."""
    frame, time = with_time_column(df, time_column)
    given = None
    if future is not None:
        if not isinstance(future, pd.DataFrame):
            raise invalid("future", "a DataFrame laid out like `df`", type(future).__name__)
        given, _ = with_time_column(future, time_column)
        if time not in given.columns:
            raise ValueError(f"`future` has no time column {time!r}; lay it out like `df`.")
    parts = []
    groups = frame.groupby(series_column, sort=False) if series_column else [(None, frame)]
    for sid, part in groups:
        stamps = pd.date_range(pd.Timestamp(part[time].iloc[-1]), periods=horizon + 1, freq=freq)[1:]
        extra = pd.DataFrame({column: 0.0 for column in part.columns if column != time}, index=range(horizon))
        extra[time] = stamps
        for column in copy_columns + ((series_column,) if series_column else ()):
            extra[column] = part[column].iloc[-1]
        if given is not None:
            rows = given if not series_column else given[given[series_column] == sid]
            rows = rows.set_index(pd.DatetimeIndex(pd.to_datetime(rows[time])))
            missing = stamps.difference(rows.index)
            if len(missing):
                label = "" if sid is None else f" (series {sid!r})"
                raise ValueError(f"`future` lacks covariates for {[str(m) for m in missing[:3]]}{label}.")
            for column in future_columns:
                extra[column] = rows.loc[stamps, column].to_numpy()
        parts += [part, extra[part.columns]]
    merged = pd.concat(parts, ignore_index=True)
    return merged if time_column else merged.set_index(time)

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
        check_choice("fill", fill, FILLS)
        frame, time_name = with_time_column(df, time_column)
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
            raise ValueError(f"Column(s) {missing} are missing from the DataFrame; it has {list(df.columns)}.")
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
            ids.append(sid.item() if isinstance(sid, np.generic) else sid)  # JSON-ready ids
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
        """The rows of each series, as slices."""
        return [slice(a, b) for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def series_index(self):
        """`(rows,)` the position of each row's series."""
        return np.repeat(np.arange(len(self.series)), np.diff(self.offsets))

    def frame(self, series_column=None):
        """The values as a DataFrame indexed by time, or by (series, time)
        with a `series_column`; gap rows hold NaN."""
        index = pd.DatetimeIndex(self.time, name="time")
        if series_column:
            ids = np.asarray(self.series, dtype=object)[self.series_index()]
            index = pd.MultiIndex.from_arrays([ids, index], names=[series_column, "time"])
        return pd.DataFrame(self.values, index=index, columns=self.columns)

    def cutoff(self, fraction_or_time, name):
        """The first timestamp of a held-out part: a timestamp, or the
        fraction of the overall time span at the end."""
        if isinstance(fraction_or_time, (int, float, np.floating)) and not isinstance(fraction_or_time, bool):
            if not 0 < fraction_or_time < 1:
                raise invalid(name, "a fraction in (0, 1) or a timestamp", fraction_or_time)
            start, end = self.time.min(), self.time.max()
            return start + (end - start) * (1 - fraction_or_time)
        try:
            return np.datetime64(pd.Timestamp(fraction_or_time).tz_localize(None))
        except (TypeError, ValueError):
            raise invalid(name, "a fraction in (0, 1) or a timestamp", fraction_or_time) from None

    def windows(self, lookback, horizon, after=None, before=None):
        """Start rows of the gap-free windows of `lookback` inputs and
        `horizon` targets whose targets all lie in [after, before), and the
        number of window positions dropped because of gaps."""
        starts, dropped = self.window_starts(lookback + horizon)
        keep = np.ones(len(starts), bool)
        if after is not None:
            keep &= self.time[starts + lookback] >= after
        if before is not None:
            keep &= self.time[starts + lookback + horizon - 1] < before
        return starts[keep], dropped

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
    return data.fillna(0.0)
