"""From a pandas DataFrame to validated, gap-aware series and their windows.

`Panel.from_frame` checks a frame (one or many series; `tsgate.data.frames`),
puts every series on its regular time grid (`tsgate.data.frequency`; missing
timestamps become gaps) and keeps all series in one contiguous array. Windows
are start rows into that array; a window never covers a gap.
`tsgate.windows` turns start rows into a `tf.data` pipeline.

Missing values: with `fill`, NaN and missing timestamps are filled for the
inputs, and `Panel.observed` remembers which values were real: targets that
were not are left out of the training loss, and `Panel.frame` shows them as
NaN.
"""

import dataclasses
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tsgate import choices
from tsgate.data.frames import (FLOAT32_MAX, INFER, check_columns, check_frame, check_na_values, check_order,
    check_real, check_series_ids, check_static_row, check_timestamps, check_values, fraction_cutoff, in_zone, plain,
    order_rows, sentinels_to_nan, series_words)
from tsgate.data.frequency import (MAX_GRID_ROWS, check_freq, describe_freq, infer_panel_step, is_business_day,
    regular_grid, series_grids, steps_after, steps_spanned, with_holidays)
from tsgate.data.future import future_values
from tsgate.validation import check_bool, check_choice, invalid

FILLS = (None, *choices.FILLS)  # None: NaN is an error
DUPLICATES = choices.DUPLICATES


@dataclass
class Panel:
    """Series on their regular grids, stacked row-wise.

    values: `(rows, n_columns)` float32, NaN in gap rows; `columns` names them.
    valid: `(rows,)` bool, False in gap rows. time: `(rows,)` datetime64,
    naive UTC when `tz` (the series' time zone name) is set; `index()` gives
    the timestamps in their zone. series: the series ids in order;
    offsets[k]:offsets[k+1] are the rows of series k. static:
    `(n_series, n_static)` float32. observed: `(rows, n_columns)` bool,
    False where a value was missing (a gap, NaN, a sentinel), filled or not.
    freq_inferred: whether `freq` was inferred from data (this frame's, or
    with `infer_holidays` a fitted forecaster's).
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
    tz: str = None
    observed: np.ndarray = None
    freq_inferred: bool = False

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
        tz=INFER,
        na_values=None,
        infer_holidays=False,
        sort=False,
        duplicates="error",
        indicators=(),
    ):
        """Validates `df` and builds the panel of `columns`.

        df: DatetimeIndex, or a `time_column`; optionally a `series_column`
            holding several series, each of its own length.
        freq: pandas frequency ("h", "D", "B", `CustomBusinessDay(...)`);
            inferred when None (weekdays with a few missing: business days
            with those as holidays).
        fill: None (NaN/inf is an error naming the column and rows; missing
            timestamps are gaps that no window covers), or "ffill",
            "interpolate" or "zero" to fill NaN, inf and missing timestamps.
        tz: the time zone the timestamps are expected in (converted from
            another zone), None for naive timestamps, or "infer": their own.
        na_values: a number or list of numbers that mean missing (NaN).
        infer_holidays: `freq` was inferred (by a forecaster's fit): if it is
            business days, the weekdays missing from `df` are holidays added
            to its own, not gaps.
        sort: sort the rows of each series by time (else unsorted rows are
            an error); duplicates: rows of one series at one timestamp are
            an error ("error"), or one is kept: "first", "last" or "mean"
            (`tsgate.data.frames.order_rows`; the `indicators`, one-hot
            columns, keep their last value).
        """
        check_frame(df, "df")
        check_choice("fill", fill, FILLS)
        check_bool("sort", sort)
        check_choice("duplicates", duplicates, DUPLICATES)
        sentinels = check_na_values(na_values)
        step = None if freq is None else check_freq(freq)
        times, zone = in_zone(check_timestamps(df, time_column, "df"), tz, "df")
        frame = df.reset_index(drop=True)
        columns, static_columns = list(columns), list(static_columns)
        check_columns(frame, columns + static_columns + ([series_column] if series_column else []), "df")
        frame, times = order_rows(frame, times, series_column, sort, duplicates, indicators)
        for column in columns + static_columns:
            check_real(frame[column], column, "df")
        if series_column:
            check_series_ids(frame[series_column], times, "df")
        order, bounds, ids = _series_rows(frame, series_column)
        t = times[order]  # series after series, each in the frame's order

        def label(k):
            return _label(ids[k])

        def rows(k):
            return slice(bounds[k], bounds[k + 1])

        unordered = _first(_per_series(_not_increasing(t.asi8, bounds), bounds))
        if unordered is not None:
            check_order(t[rows(unordered)], label(unordered))
        if step is None:
            step = infer_panel_step(t, bounds, label)
        if (freq is None or infer_holidays) and is_business_day(step):
            step = with_holidays(step, t)

        raw = sentinels_to_nan(frame[columns].to_numpy("float64", na_value=np.nan)[order], sentinels)
        static = None if not static_columns else \
            sentinels_to_nan(frame[static_columns].to_numpy("float64", na_value=np.nan)[order], sentinels)
        spanned = steps_spanned(t.asi8[bounds[1:] - 1] - t.asi8[bounds[:-1]], step, t.unit)
        too_long = np.zeros(len(ids), bool) if spanned is None else spanned > MAX_GRID_ROWS
        flagged = _bad_values(raw, bounds, fill) | _bad_statics(static, bounds) | too_long
        if not too_long.any():  # no grid is built for a series refused as too long
            position, lengths, time = series_grids(t, bounds, step)
            flagged |= _per_series(position < 0, bounds)
        if flagged.any():
            k = _first(flagged)
            _refuse(t[rows(k)], raw[rows(k)], None if static is None else static[rows(k)], step, freq, columns,
                    static_columns, label(k), fill)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        at = offsets[:-1].repeat(np.diff(bounds)) + position  # each row's place on the grids
        values = np.full((offsets[-1], len(columns)), np.nan)
        values[at] = raw
        valid = np.zeros(offsets[-1], bool)
        valid[at] = True
        observed = np.isfinite(values)
        if fill is not None:  # NaN, inf and missing timestamps alike
            values, valid = _fill(values, offsets, fill), np.ones(offsets[-1], bool)
        return cls(
            values=values.astype("float32"),
            columns=columns,
            valid=valid,
            time=time,
            series=ids,
            offsets=offsets,
            freq=step,
            static=static[bounds[:-1]].astype("float32") if static_columns else None,
            static_columns=static_columns,
            gap_rows=int(offsets[-1] - len(t)),
            tz=zone,
            observed=observed,
            freq_inferred=freq is None or infer_holidays,
        )

    def series_slices(self):
        """The rows of each series, as slices."""
        return [slice(a, b) for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def series_index(self):
        """`(rows,)` the position of each row's series."""
        return np.repeat(np.arange(len(self.series)), np.diff(self.offsets))

    def follows(self):
        """`(rows,)` bool: the row before is the previous step of the same
        series on its grid (both rows valid): where a one-step change is defined."""
        follows = np.zeros(len(self.valid), bool)
        follows[1:] = self.valid[1:] & self.valid[:-1]
        follows[self.offsets[:-1][self.offsets[:-1] < len(follows)]] = False
        return follows

    def index(self):
        """The timestamps of the rows, in the panel's zone, named "time"."""
        index = pd.DatetimeIndex(self.time, name="time")
        return index if self.tz is None else index.tz_localize("UTC").tz_convert(self.tz)

    def timestamp(self, value):
        """A time of `self.time` (e.g. a `cutoff`) as a Timestamp in the panel's zone."""
        stamp = pd.Timestamp(value)
        return stamp if self.tz is None else stamp.tz_localize("UTC").tz_convert(self.tz)

    def frame(self, series_column=None):
        """The values as a DataFrame indexed by time, or by (series, time)
        with a `series_column`; missing values (gaps, NaN, sentinels) hold
        NaN, filled or not: these are the actual values."""
        index = self.index()
        if series_column:
            ids = np.asarray(self.series, dtype=object)[self.series_index()]
            index = pd.MultiIndex.from_arrays([ids, index], names=[series_column, "time"])
        return pd.DataFrame(np.where(self.observed, self.values, np.nan), index=index, columns=self.columns)

    def shortage(self, windows=None):
        """Why a panel may hold too few windows, for the errors that say so:
        its frequency (given or inferred), its gaps and the windows they
        dropped (`windows`: that count, when known), and the fix."""
        how = "inferred" if self.freq_inferred else "given"
        text = f"The frequency is {describe_freq(self.freq)} ({how})"
        if self.valid.all():  # no missing timestamps, or all filled
            return f"{text}; no window has a gap: give more rows, or a shorter lookback or horizon."
        gaps = self.index()[~self.valid]
        dropped = "" if windows is None else f", which dropped {windows} window positions"
        text += f"; {self.gap_rows} timestamps on that grid are missing (gaps, e.g. {[str(t) for t in gaps[:3]]}){dropped}"
        fill = "pass fill='ffill', 'interpolate' or 'zero' to fill them"
        if isinstance(self.freq, (pd.offsets.Day, pd.offsets.BusinessDay)) and self.freq.n == 1:
            closed = "holidays" if isinstance(self.freq, pd.offsets.BusinessDay) else "weekends and holidays"
            return (f"{text}. If these are {closed} (trading days), pass freq=pandas.offsets.CustomBusinessDay("
                    "holidays=[...]) or CustomBusinessDay(calendar=...), or leave `freq` out to infer the holidays "
                    f"from the missing weekdays; else {fill}.")
        return f"{text}: {fill}."

    def cutoff(self, fraction_or_time, name):
        """The first time (as in `self.time`) of a held-out part: a timestamp
        (a naive one read in the panel's zone), or the fraction of the
        overall time span at the end."""
        value = fraction_or_time
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            if not 0 < value < 1:
                raise invalid(name, "a fraction in (0, 1) or a timestamp", value)
            distinct = np.unique(self.time)
            return fraction_cutoff(distinct[0], distinct[-1], float(value), distinct)
        expected = "a fraction in (0, 1) or a timestamp"
        if not isinstance(value, (str, pd.Timestamp, np.datetime64)) and not hasattr(value, "year"):
            raise invalid(name, expected, value)
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            raise invalid(name, expected, value) from None
        if stamp is pd.NaT:
            raise invalid(name, expected, value)
        if self.tz is None:
            if stamp.tz is not None:
                raise invalid(name, "a timestamp without time zone, like the data's", value)
            return stamp.to_datetime64()
        if stamp.tz is None:
            try:
                stamp = stamp.tz_localize(self.tz)
            except (ValueError, TypeError, OverflowError):  # a wall time that DST skips or repeats
                raise invalid(name, f"a time that exists once in {self.tz}", value) from None
        return stamp.tz_convert("UTC").tz_localize(None).to_datetime64()

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
        row = np.arange(len(self.valid))
        candidates = row[row + span <= np.repeat(self.offsets[1:], np.diff(self.offsets))]
        gaps = np.concatenate([[0], np.cumsum(~self.valid)])
        clean = gaps[candidates + span] - gaps[candidates] == 0
        return candidates[clean], int((~clean).sum())

    def extend(self, horizon, future=None, columns=(), time_column=None, series_column=None, na_values=None):
        """This panel with `horizon` rows appended to each series on its grid
        (valid, not observed: placeholders that no window reads as input,
        0.0 but in `columns`, which take the values of the DataFrame `future`
        at their timestamps, see `future_values`), and `(n_series, horizon)`
        the positions of those rows. The new timestamps follow `freq`
        (skipping its holidays)."""
        offsets = self.offsets + horizon * np.arange(len(self.series) + 1)
        kept = np.arange(len(self.valid)) + horizon * self.series_index()  # the old rows' new places
        added = offsets[1:, None] - horizon + np.arange(horizon)
        ahead = steps_after(self.index()[self.offsets[1:] - 1], horizon, self.freq)

        def spread(old, new):
            out = np.zeros((offsets[-1], *old.shape[1:]), old.dtype)
            out[kept], out[added.ravel()] = old, new
            return out

        extended = dataclasses.replace(
            self, values=spread(self.values, 0.0), valid=spread(self.valid, True),
            observed=spread(self.observed, False), time=spread(self.time, ahead.ravel()), offsets=offsets)
        if columns:
            given = future_values(future, extended, added, columns, time_column, series_column, na_values)
            at = np.ix_(added.ravel(), [self.columns.index(name) for name in columns])
            extended.values[at], extended.observed[at] = given.reshape(-1, len(columns)), True
        return extended, added


def _label(sid):
    return "" if sid is None else f" in {series_words(sid)}"


def _series_rows(frame, series_column):
    """The frame's rows series after series (a stable order: each series'
    rows as the frame holds them), `(n_series + 1,)` the bounds of each
    series in that order, and the series ids in order of first appearance
    (JSON-ready)."""
    if not series_column:
        return np.arange(len(frame)), np.asarray([0, len(frame)]), [None]
    codes, ids = pd.factorize(frame[series_column], sort=False)
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(ids)))])
    return np.argsort(codes, kind="stable"), bounds, [plain(sid) for sid in ids.tolist()]


def _per_series(flags, bounds):
    """`(n_series,)` whether any of each series' rows of `flags` is set."""
    flags = np.asarray(flags).reshape(len(flags), -1).any(axis=1)
    return np.logical_or.reduceat(flags, bounds[:-1]) if len(flags) else np.zeros(len(bounds) - 1, bool)


def _first(flags):
    """The first series flagged, None if none is."""
    return int(np.argmax(flags)) if flags.any() else None


def _not_increasing(stamps, bounds):
    """`(rows,)` a timestamp at or before the one above it in its series."""
    flags = np.zeros(len(stamps), bool)
    flags[1:] = np.diff(stamps) <= 0
    flags[bounds[:-1]] = False
    return flags


def _bad_values(raw, bounds, fill):
    """`(n_series,)` the series `check_values` refuses: values beyond
    float32; NaN or inf without `fill`; a column with no finite value with it."""
    finite = np.isfinite(raw)
    bad = _per_series(finite & (np.abs(np.where(finite, raw, 0.0)) > FLOAT32_MAX), bounds)
    if fill is None:
        return bad | _per_series(~finite, bounds)
    return bad | (np.add.reduceat(finite, bounds[:-1], axis=0) == 0).any(axis=1)


def _bad_statics(static, bounds):
    """`(n_series,)` the series `check_static_row` refuses: static values
    not finite, beyond float32 or varying."""
    if static is None:
        return np.zeros(len(bounds) - 1, bool)
    first = static[bounds[:-1]].repeat(np.diff(bounds), axis=0)
    return _bad_values(static, bounds, None) | _per_series(static != first, bounds)


def _refuse(t, raw, static, step, freq, columns, static_columns, label, fill):
    """Raises the error of the first check one series fails (`t` its
    timestamps, `raw` and `static` its rows): its grid, its values, its
    static covariates, as each series is checked. The checks over the whole
    panel find the series; this says what is wrong with it."""
    grid = regular_grid(t, step, label)
    if len(grid.intersection(t)) != len(t):
        off = t.difference(grid)[0]
        grid_of = f"the grid of `freq`={freq!r}" if freq is not None else f"the inferred {describe_freq(step)} grid"
        raise ValueError(f"Timestamp {off}{label} is not on {grid_of} starting at {t[0]}"
                         f"{'' if freq is not None else '; pass `freq`'}.")
    check_values(raw, columns, t, label, fill)
    if static_columns:
        check_static_row(static, static_columns, t, label)


def _fill(values, offsets, fill):
    """`values` `(rows, n)` with NaN and inf filled within each series (rows
    `offsets[k]:offsets[k + 1]`) as pandas fills them: "ffill" (then
    backward for the first rows), "interpolate" (linear in the row, the
    ends held) or "zero". Written over the whole panel because pandas would
    take a call per series; each series has a finite value per column."""
    values = np.where(np.isfinite(values), values, np.nan)
    if fill == "zero":
        return np.nan_to_num(values, nan=0.0)
    known = ~np.isnan(values)
    row = np.arange(len(values))[:, None]
    start, stop = (np.repeat(edge, np.diff(offsets))[:, None] for edge in (offsets[:-1], offsets[1:]))
    before = np.maximum.accumulate(np.where(known, row, -1), axis=0)
    after = np.flip(np.minimum.accumulate(np.flip(np.where(known, row, len(values)), axis=0), axis=0), axis=0)
    has_before, has_after = before >= start, after < stop
    before_value = np.take_along_axis(values, np.clip(before, 0, None), axis=0)
    after_value = np.take_along_axis(values, np.clip(after, None, len(values) - 1), axis=0)
    if fill == "ffill":
        filled = np.where(has_before, before_value, after_value)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            between = before_value + (after_value - before_value) * (row - before) / (after - before)
        filled = np.where(has_before & has_after, between, np.where(has_before, before_value, after_value))
    return np.where(known, values, filled)
