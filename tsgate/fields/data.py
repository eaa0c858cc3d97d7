"""`Field`: gridded time series (frames of `height × width × channels`),
one long sequence or many independent ones stacked frame-wise, checked once
when made, and the chronological splits and window starts the field
forecaster reads.

    Field.from_array(values, time=None, channels=None)    (time, height, width[, channels]),
                                                           NumPy or xarray-like (`.values`, `.coords["time"]`)
    Field.from_sequences(sequences, times=None, ...)      many independent sequences (Moving MNIST-style)
    Field.from_frame(df, row, column, values=..., ...)    a long frame pivoted onto the grid

Missing pixels are NaN: a cell of the long frame that has no row, or NaN
in the array. Whether a model may take them is the forecaster's choice
(`missing=`), not the data's.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tsgate.data.frames import check_frame, check_real, check_timestamps, fraction_cutoff, naive_utc, plain
from tsgate.validation import invalid


@dataclass(frozen=True)
class Field:
    """Frames `values` `(frames, height, width, channels)` float32 (NaN: a
    missing pixel) of `len(offsets) - 1` sequences stacked in order
    (`offsets[k]:offsets[k + 1]` are sequence k's frames), `time` `(frames,)`
    datetime64 or None (the frames are then counted, 0, 1, ...), and the
    `channels` names."""

    values: np.ndarray
    offsets: np.ndarray
    time: np.ndarray = None
    channels: tuple = ("value",)

    # ------------------------------------------------------------ makers
    @classmethod
    def from_array(cls, values, time=None, channels=None):
        """One sequence of frames: `values` `(time, height, width[, channels])`
        (a NumPy array, a list of frames, or an xarray-like DataArray whose
        first dimension is time, its datetime64 coordinate taken when `time`
        is None); `time` the timestamps of the frames (or None)."""
        if time is None and hasattr(values, "coords") and hasattr(values, "dims") and len(values.dims):
            axis = values.dims[0]
            coordinate = np.asarray(values.coords[axis].values) if axis in values.coords else None
            if coordinate is not None and not np.issubdtype(coordinate.dtype, np.datetime64):
                raise ValueError(f"The first dimension of `values`, {axis!r}, must be time: its coordinate holds "
                                 f"{coordinate.dtype} values, not datetime64. Transpose time first, or pass "
                                 "`time=` (e.g. converted cftime dates).")
            time = coordinate
        values = _frames(values.values if hasattr(values, "coords") else values, "values")
        return cls._checked(values, np.array([0, len(values)]), time, channels)

    @classmethod
    def from_sequences(cls, sequences, times=None, channels=None):
        """Independent sequences of frames, each `(time, height, width[,
        channels])` on one grid (an array `(n, time, height, width[,
        channels])` or a list; their lengths may differ), stacked in order:
        windows never span two. `times`: one timestamp array per sequence, or None."""
        sequences = [_frames(s, f"sequence {k}") for k, s in enumerate(sequences)]  # (n, t, ...) arrays iterate too
        if not sequences:
            raise ValueError("`sequences` is empty: a field needs at least one sequence of frames.")
        for k, sequence in enumerate(sequences[1:], 1):
            if sequence.shape[1:] != sequences[0].shape[1:]:
                raise ValueError(f"The grid is ragged: sequence {k} has frames of shape {sequence.shape[1:]}, "
                                 f"sequence 0 of {sequences[0].shape[1:]} (height, width, channels); every "
                                 "frame needs one grid.")
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in sequences])])
        time = None if times is None else np.concatenate([naive_utc(pd.DatetimeIndex(t)) for t in times])
        late = None if time is None or len(time) != offsets[-1] else time[offsets[1:-1]] <= time[offsets[1:-1] - 1]
        if late is not None and late.any():
            k = int(np.argmax(late)) + 1
            raise ValueError(f"Sequence {k} starts at or before the end of sequence {k - 1}: give the sequences in "
                             "time order (the splits cut the clock of the stacked frames).")
        return cls._checked(np.concatenate(sequences), offsets, time, channels)

    @classmethod
    def from_frame(cls, df, row, column, values=None, time_column=None):
        """A long frame (one row per time and grid cell: `time_column` or the
        DatetimeIndex, the cell's `row` and `column` positions, and the
        `values` columns, the channels; default every other numeric column)
        pivoted onto the grid of every row and column position seen. A cell
        with no row at a time is a missing pixel; a cell given twice at a
        time is an error naming it."""
        check_frame(df, "df")
        if row == column:
            raise ValueError(f"`row` and `column` are both {row!r}: the grid needs two position columns.")
        missing = [name for name in (row, column) if name not in df.columns]
        if missing:
            raise ValueError(f"`df` has no column {missing[0]!r} (its columns: {list(df.columns)}).")
        times = pd.DatetimeIndex(naive_utc(check_timestamps(df, time_column, "df")))
        used = {row, column, time_column}
        names = [c for c in df.columns if c not in used and pd.api.types.is_numeric_dtype(df[c])] \
            if values is None else [values] if isinstance(values, str) else list(values)
        absent = [name for name in names if name not in df.columns]
        if absent or not names:
            raise ValueError(f"`df` has no value column {absent[0]!r} (its columns: {list(df.columns)})." if absent
                             else "`df` has no numeric value column besides the time, row and column.")
        for name in names:
            check_real(df[name], name, "df")
        for name in (row, column):
            labels = df[name]
            if labels.isna().any():
                raise ValueError(f"Position column {name!r} of `df` has {int(labels.isna().sum())} missing value(s).")
            if labels.map(type).nunique() > 1:
                raise ValueError(f"Position column {name!r} of `df` mixes types ({sorted({type(v).__name__ for v in labels})}); "
                                 "one type of label per axis.")
        keys = pd.DataFrame({"time": times, "row": df[row].to_numpy(), "column": df[column].to_numpy()})
        twice = keys.duplicated(keep=False).to_numpy()
        if twice.any():
            first = keys[twice].iloc[0]
            raise ValueError(f"`df` gives the cell ({row}={plain(first['row'])!r}, {column}={plain(first['column'])!r}) "
                             f"{int((keys == first).all(axis=1).sum())} times at {first['time']}; one value per "
                             "cell and time.")
        t_axis, t_pos = np.unique(times.to_numpy(), return_inverse=True)
        r_axis, r_pos = np.unique(keys["row"].to_numpy(), return_inverse=True)
        c_axis, c_pos = np.unique(keys["column"].to_numpy(), return_inverse=True)
        grid = np.full((len(t_axis), len(r_axis), len(c_axis), len(names)), np.nan, "float32")
        grid[t_pos, r_pos, c_pos] = df[names].to_numpy("float32")
        return cls._checked(grid, np.array([0, len(grid)]), t_axis, names)

    @classmethod
    def _checked(cls, values, offsets, time, channels):
        if np.isinf(values).any():
            frame = int(np.argwhere(np.isinf(values))[0][0])
            raise ValueError(f"Frame {frame} holds inf: a field's values are finite, or NaN for a missing pixel.")
        if time is not None:
            time = np.asarray(naive_utc(pd.DatetimeIndex(time)), "datetime64[ns]")
            if len(time) != len(values):
                raise ValueError(f"`time` has {len(time)} timestamps for {len(values)} frames.")
            for start, stop in zip(offsets[:-1], offsets[1:]):
                if (np.diff(time[start:stop]) <= np.timedelta64(0)).any():
                    raise ValueError("The timestamps of a sequence are not increasing at frame "
                                     f"{start + int(np.argmax(np.diff(time[start:stop]) <= np.timedelta64(0))) + 1}.")
        if isinstance(channels, str):
            channels = (channels,)
        channels = tuple(f"channel {k}" for k in range(values.shape[-1])) if channels is None and \
            values.shape[-1] > 1 else ("value",) if channels is None else tuple(channels)
        if len(channels) != values.shape[-1]:
            raise ValueError(f"`channels` names {len(channels)} channels for frames of {values.shape[-1]}.")
        return cls(values, np.asarray(offsets, int), time, channels)

    # ------------------------------------------------------------ reading
    @property
    def grid(self):
        """`(height, width, channels)`."""
        return self.values.shape[1:]

    def clock(self):
        """`(frames,)` what the frames are ordered by: their times, or their positions."""
        return np.arange(len(self.values)) if self.time is None else self.time

    def cutoff(self, value, name):
        """A split point on the clock: `value` a fraction in (0, 1) of the
        span at its end (the first frame at or after it), a frame position
        (an int), or a timestamp (with `time`; text, datetime or Timestamp,
        a zoned one converted to UTC as the clock is)."""
        clock = self.clock()
        kinds = "a fraction in (0, 1), a frame position" + (" or a timestamp" if self.time is not None else "")
        if isinstance(value, bool):
            raise invalid(name, kinds, value)
        if isinstance(value, numbers.Integral):
            if not 0 <= value < len(clock):
                raise invalid(name, f"a frame position in [0, {len(clock)})", value)
            return clock[int(value)]
        if isinstance(value, numbers.Real):
            if not 0 < value < 1:
                raise invalid(name, kinds, value)
            return fraction_cutoff(clock[0], clock[-1], float(value), clock)
        if self.time is not None and (isinstance(value, (str, np.datetime64)) or hasattr(value, "isoformat")):
            try:
                return np.datetime64(naive_utc(pd.DatetimeIndex([pd.Timestamp(value)]))[0], "ns")
            except (TypeError, ValueError):
                pass
        raise invalid(name, kinds, value)

    def window_starts(self, lookback, horizon, after=None, before=None):
        """Start frames of the windows of `lookback` inputs and `horizon`
        targets inside one sequence whose targets all lie in [after, before)
        on the clock."""
        clock, starts = self.clock(), []
        for start, stop in zip(self.offsets[:-1], self.offsets[1:]):
            starts.append(np.arange(start, stop - lookback - horizon + 1))
        starts = np.concatenate(starts)
        keep = np.ones(len(starts), bool)
        if after is not None:
            keep &= clock[starts + lookback] >= after
        if before is not None:
            keep &= clock[starts + lookback + horizon - 1] < before
        return starts[keep]

    def check_span(self, lookback, horizon):
        """An error unless some sequence holds a window of `lookback + horizon` frames."""
        longest = int(np.diff(self.offsets).max())
        if longest < lookback + horizon:
            raise ValueError(f"lookback {lookback} + horizon {horizon} needs {lookback + horizon} frames in a "
                             f"sequence; the longest has {longest}.")

    def check_missing(self, allowed, fitted=False):
        """Without `allowed`, NaN pixels are an error naming the frames that
        hold them (`fitted`: said to a forecaster fitted with missing="error")."""
        missing = np.isnan(self.values).reshape(len(self.values), -1).any(axis=1)
        if missing.any() and not allowed:
            frames = np.flatnonzero(missing)
            where = [str(pd.Timestamp(self.time[f])) if self.time is not None else str(f) for f in frames[:3]]
            fix = "this forecaster was fitted with missing='error': fill them (e.g. with the channel's training " \
                  "mean, -offset_ / scale_), or fit with missing='mask'" if fitted else \
                "pass missing='mask' to the forecaster to leave them out of the loss (filled with the channel's " \
                "training mean as inputs), or fill them"
            raise ValueError(f"{len(frames)} frame(s) hold NaN pixels (frames {', '.join(where)}"
                             f"{', ...' if len(frames) > 3 else ''}); {fix}.")

    def __len__(self):
        return len(self.values)


def _frames(values, name):
    """`values` as float32 `(time, height, width, channels)`: a trailing
    channel axis added to `(time, height, width)`; frames of different
    shapes are a ragged grid, named."""
    if isinstance(values, (list, tuple)):
        shapes = [np.shape(frame) for frame in values]
        for k, shape in enumerate(shapes[1:], 1):
            if shape != shapes[0]:
                raise ValueError(f"The grid of {name} is ragged: frame {k} has shape {shape}, frame 0 "
                                 f"{shapes[0]}; every frame needs one grid.")
    try:
        array = np.asarray(values, dtype="float32")
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name[:1].upper()}{name[1:]} is not an array of numbers: {error}") from None
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or 0 in array.shape:
        raise ValueError(f"{name[:1].upper()}{name[1:]} has shape {array.shape}; expected (time, height, width) "
                         "or (time, height, width, channels) with none of them 0.")
    return array
