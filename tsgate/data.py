"""From a pandas DataFrame to validated, gap-aware series and their windows.

`Panel.from_frame` checks a frame (one or many series), puts every series on
its regular time grid (missing timestamps become gaps) and keeps all series in
one contiguous array. Windows are start rows into that array; a window never
covers a gap. `tsgate.windows` turns start rows into a `tf.data` pipeline.

Every check of a frame lives here, and each failure is a ValueError naming
the argument, column, series and rows, raised before any array is built:

    not a DataFrame, no rows, MultiIndex or duplicated columns     `df`
    no DatetimeIndex / time column, NaT, unparseable times         `df`, column
    an index named like a column                                   `df`
    a missing series id (NaN/None), an id that is not str/number   column, rows
    a column that is not real-valued (object, str, bool, complex)  column
    NaN/inf (unless `fill`), beyond the float32 range, all-NaN     column, series, timestamps
    unsorted or duplicated timestamps, off the frequency's grid    series, timestamps
    a time zone other than the expected one's awareness            `df`, zone

Time zones: a frame's timestamps are naive or in one zone. A panel keeps them
as naive UTC (`time`) and its zone (`tz`); calendar features and forecast
indexes are read in that zone (`Panel.index`). `from_frame(tz=...)` converts
a frame in another zone to the expected one and refuses naive timestamps
where a zone is expected (and the reverse), so calendar features never depend
on the zone a frame happens to be in.

Trading calendars: a series on weekdays only, with a few weekdays missing
(prices on exchange holidays), is business daily with those days as
holidays (`pandas.offsets.CustomBusinessDay`), not daily with gaps; so is a
`freq` of business days with `infer_holidays`. A given `freq` of
`CustomBusinessDay(holidays=...)` or `(calendar=...)` is used as it is, and
forecast timestamps skip its holidays. `freq_to_json` and `freq_from_json`
write and read any of these offsets exactly (holidays and weekmask included).

Categorical covariates (`CategoricalEncoder`): columns of strings, pandas
categories or integers become one-hot indicator columns before a frame is
made a panel, with the categories learned at fit; an unknown category later
is an error naming the column and the value.

Missing values: `na_values` (sentinels such as -9999) become NaN before any
check. With `fill`, NaN and missing timestamps are filled for the inputs,
and `Panel.observed` remembers which values were real: targets that were not
are left out of the training loss, and `Panel.frame` shows them as NaN.
"""

import dataclasses
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder

from tsgate.validation import check_choice, invalid

# Steps per season of calendar offsets (one step of each type): the cycle one level up.
SEASONS = (
    ((pd.offsets.Week,), 52),
    ((pd.offsets.SemiMonthBegin, pd.offsets.SemiMonthEnd), 24),
    ((pd.offsets.MonthBegin, pd.offsets.MonthEnd, pd.offsets.BusinessMonthBegin, pd.offsets.BusinessMonthEnd,
      pd.offsets.CustomBusinessMonthBegin, pd.offsets.CustomBusinessMonthEnd, pd.offsets.WeekOfMonth,
      pd.offsets.LastWeekOfMonth), 12),
    ((pd.offsets.QuarterBegin, pd.offsets.QuarterEnd, pd.offsets.BQuarterBegin, pd.offsets.BQuarterEnd,
      pd.offsets.FY5253Quarter), 4),
    ((pd.offsets.HalfYearBegin, pd.offsets.HalfYearEnd, pd.offsets.BHalfYearBegin, pd.offsets.BHalfYearEnd), 2),
    ((pd.offsets.Day,), 7),
)
FILLS = (None, "ffill", "interpolate", "zero")
INFER = "infer"  # `from_frame(tz=INFER)`: keep the frame's own zone
FLOAT32_MAX = float(np.finfo("float32").max)
MAX_GRID_ROWS = 50_000_000  # a series' grid beyond this is a wrong `freq`, not data
WEEKDAYS = "Mon Tue Wed Thu Fri"
MAX_HOLIDAY_SHARE = 0.1  # exchanges close on ~4 % of weekdays; more missing weekdays are not a calendar


def season_length(freq):
    """Steps per season of a pandas frequency (a string or a DateOffset), for
    the seasonal-naive baseline and MASE: the calendar cycle one level above
    a step, read from the offset's type (`SEASONS`):

        sub-daily ("h", "15min", "s")    a day: 24, 96, 86400 (when the step divides a day)
        business hours ("bh")            a business day: 8 (9:00 to 17:00)
        daily ("D")                      a week: 7
        business days ("B", "C")         a week: 5 (the weekmask's days; holidays ignored)
        weekly ("W-SUN")                 a year: 52
        semi-monthly, monthly            a year: 24, 12
        quarterly, half-yearly           a year: 4, 2

    A multiple of a step takes the season over n when n divides it ("2W":
    26, "3MS": 4, "2h": 12); anything else (yearly, "7min", "5D") is 1, no
    season (the seasonal-naive forecast is then the naive one)."""
    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, pd.offsets.BusinessHour):  # CustomBusinessHour too
        hours = sum((end.hour * 60 + end.minute - start.hour * 60 - start.minute) % 1440
                    for start, end in zip(offset.start, offset.end))
        steps = hours // 60 if hours % 60 == 0 else 1
    elif isinstance(offset, pd.offsets.CustomBusinessDay):
        steps = int(offset.calendar.weekmask.sum())
    elif isinstance(offset, pd.offsets.BusinessDay):
        steps = 5
    elif isinstance(offset, pd.offsets.Tick):
        day, step = pd.Timedelta("1D"), pd.Timedelta(offset)
        return int(day // step) if step < day and day % step == pd.Timedelta(0) else 1
    else:
        steps = next((season for types, season in SEASONS if isinstance(offset, types)), 1)
    return steps // offset.n if steps % offset.n == 0 else 1


def infer_freq(times):
    """pandas' frequency of the distinct `times`, as a DateOffset (None when
    they have gaps or are fewer than three): for choices that follow the
    data's frequency before a Forecaster has read it (presets)."""
    distinct = pd.DatetimeIndex(times).unique().sort_values()
    if len(distinct) < 3:
        return None
    with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset: taken as one
        warnings.filterwarnings("ignore", "A future version of pandas will return a BaseOffset")
        freq = pd.infer_freq(distinct)
    return None if freq is None else pd.tseries.frequencies.to_offset(freq)


def check_freq(freq, name="freq"):
    """A pandas frequency (str, DateOffset or Timedelta) as a positive DateOffset."""
    if isinstance(freq, bool) or not isinstance(freq, (str, pd.offsets.BaseOffset, pd.Timedelta)):
        raise invalid(name, "a pandas frequency such as 'h', 'D' or 'B'", freq)
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
        origin = pd.Timestamp("2000-01-01")
        positive = origin + offset > origin
    except (ValueError, TypeError, OverflowError):
        raise invalid(name, "a pandas frequency such as 'h', 'D' or 'B'", freq) from None
    if not positive:
        raise invalid(name, "a positive pandas frequency", freq)
    return offset


def check_na_values(na_values, name="na_values"):
    """None, a number or a list/tuple of numbers (sentinels meaning
    "missing"), as a float64 array (empty for None)."""
    values = [na_values] if isinstance(na_values, numbers.Real) else na_values
    if values is None:
        return np.zeros(0)
    if not isinstance(values, (list, tuple)) or not all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in values):
        raise invalid(name, "None, a number or a list of numbers (values that mean missing, e.g. -9999)", na_values)
    try:
        return np.asarray(values, "float64")
    except OverflowError:
        raise invalid(name, "numbers within the float64 range", na_values) from None


def _business(offset):
    """Whether `offset` is one business day (plain or custom)."""
    return isinstance(offset, (pd.offsets.BusinessDay, pd.offsets.CustomBusinessDay)) and offset.n == 1


def describe_freq(offset):
    """A frequency as messages name it: 'h', or custom business days with
    their weekmask and number of holidays."""
    if isinstance(offset, pd.offsets.CustomBusinessDay):
        holidays = offset.holidays
        span = f" from {holidays[0]} to {holidays[-1]}" if holidays else ""
        return f"custom business days ({offset.weekmask}, {len(holidays)} holidays{span})"
    return repr(offset.freqstr)


def freq_to_json(offset):
    """A pandas frequency as JSON that `freq_from_json` reads back equal: its
    string ("h", "B", "W-SUN"), or for custom business days
    {"offset": "CustomBusinessDay", "n", "weekmask", "holidays": [ISO dates]}."""
    offset = pd.tseries.frequencies.to_offset(offset)
    if isinstance(offset, pd.offsets.CustomBusinessDay):
        value = {"offset": "CustomBusinessDay", "n": offset.n, "weekmask": offset.weekmask,
                 "holidays": [str(day) for day in offset.holidays]}
    else:
        value = offset.freqstr
    if freq_from_json(value) != offset:
        raise ValueError(f"Cannot write the frequency {offset!r} so that it reads back equal; use a pandas frequency "
                         "string or CustomBusinessDay.")
    return value


def freq_from_json(value):
    """The pandas offset written by `freq_to_json`."""
    if isinstance(value, dict):
        return pd.offsets.CustomBusinessDay(n=value["n"], weekmask=value["weekmask"], holidays=value["holidays"])
    return pd.tseries.frequencies.to_offset(value)


def fraction_cutoff(start, end, fraction):
    """The time that leaves the last `fraction` of the span [start, end]
    after it: `start + (end - start) * (1 - fraction)`, the one rule of
    every fraction given as `validation`, `test` or a backtest's part."""
    return start + (end - start) * (1 - fraction)


def frame_times(df, time_column=None):
    """The timestamps of `df`'s rows: its index, or its `time_column`."""
    return pd.DatetimeIndex(df.index if time_column is None else pd.to_datetime(df[time_column]))


def _check_frame(df, name):
    if not isinstance(df, pd.DataFrame):
        raise invalid(name, "a pandas DataFrame", type(df).__name__)
    if isinstance(df.columns, pd.MultiIndex):
        raise ValueError(f"`{name}` has MultiIndex columns; give it one level of column names.")
    if len(df) == 0:
        raise ValueError(f"`{name}` is empty: it has no rows.")


def _check_columns(df, needed, name):
    """Every `needed` column present exactly once."""
    missing = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if missing:
        raise ValueError(f"Column(s) {missing} are missing from `{name}`; it has {list(df.columns)}.")
    repeated = [c for c in dict.fromkeys(needed) if int((df.columns == c).sum()) > 1]
    if repeated:
        raise ValueError(f"Column(s) {repeated} appear more than once in `{name}`.")


def _check_real(column, name, frame_name):
    """A column of real numbers (integers or floats, nullable ones included)."""
    dtype = column.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype)
    if not numeric or pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
        kind = "complex" if numeric and pd.api.types.is_complex_dtype(dtype) else f"dtype {dtype}"
        raise ValueError(f"Column {name!r} of `{frame_name}` must be numeric (real numbers), got {kind}.")


def _timestamps(df, time_column, name):
    """The timestamps of `df`'s rows (its index, or `time_column`) as a
    DatetimeIndex, checked: parseable, no NaT."""
    if time_column is None:
        if not isinstance(df.index, pd.DatetimeIndex):
            raise ValueError(
                f"`{name}` needs a DatetimeIndex or a `time_column`; its index is a {type(df.index).__name__}."
            )
        if df.index.name is not None and df.index.name in df.columns:
            raise ValueError(f"The index of `{name}` is named {df.index.name!r} like one of its columns; rename one.")
        times = df.index
    else:
        _check_columns(df, [time_column], name)
        column = df[time_column]
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            times = pd.DatetimeIndex(column)
        elif pd.api.types.is_string_dtype(column.dtype) or pd.api.types.is_object_dtype(column.dtype):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    times = pd.DatetimeIndex(pd.to_datetime(column))
            except (ValueError, TypeError, OverflowError) as error:
                raise ValueError(f"Time column {time_column!r} of `{name}` holds values that are not timestamps "
                                 f"({error}).") from None
        else:
            raise ValueError(f"Time column {time_column!r} of `{name}` must hold timestamps (datetime64 or date "
                             f"strings), got dtype {column.dtype}.")
    missing = np.flatnonzero(np.asarray(times.isna()))
    if len(missing):
        where = "" if time_column is None else f" in time column {time_column!r}"
        raise ValueError(f"`{name}` has missing timestamps (NaT){where} at rows {missing[:3].tolist()}.")
    return times


def _zone_name(tz, name):
    """A name pandas reads back (and JSON writes) for the zone `tz`."""
    text = str(tz)
    try:
        pd.Timestamp("2000-01-01", tz=text)
    except (ValueError, TypeError, KeyError):
        raise ValueError(f"The time zone {tz!r} of `{name}` has no name pandas reads back; convert the timestamps "
                         "to a named zone (for example .tz_convert('UTC')).") from None
    return text


def _in_zone(times, tz, name):
    """`times` converted to the zone `tz` (a name, None for naive timestamps,
    or INFER for their own), and that zone."""
    own = None if times.tz is None else _zone_name(times.tz, name)
    tz = own if tz == INFER else tz
    if own is None and tz is not None:
        raise ValueError(f"`{name}` has timestamps without a time zone, but the forecaster was fitted on timestamps "
                         f"in {tz!r}; localize them (for example .tz_localize({tz!r})).")
    if own is not None and tz is None:
        raise ValueError(f"`{name}` has timestamps in time zone {own!r}, but the forecaster was fitted on timestamps "
                         "without a time zone; pass naive timestamps (for example .tz_localize(None)).")
    return (times if tz is None else times.tz_convert(tz)), tz


def naive_utc(index):
    """A DatetimeIndex as naive datetime64 values (UTC if it has a zone)."""
    return (index if index.tz is None else index.tz_convert("UTC").tz_localize(None)).to_numpy()


def _series_ids(column, times, name):
    """The series id of each row, checked: none missing, each a str or a number."""
    missing = np.flatnonzero(np.asarray(column.isna()))
    if len(missing):
        raise ValueError(f"Column {column.name!r} of `{name}` has no series id (NaN/None) at rows "
                         f"{missing[:3].tolist()} ({[str(t) for t in times[missing[:3]]]}); every row needs one.")
    for sid in pd.unique(column):
        if isinstance(sid, (bool, np.bool_)) or not isinstance(sid, (str, numbers.Real)):
            raise ValueError(f"Series ids in column {column.name!r} of `{name}` must be strings or numbers, "
                             f"got {sid!r} ({type(sid).__name__}).")
    return column


def _plain(value):
    """A NumPy scalar as the Python value JSON writes."""
    return value.item() if isinstance(value, np.generic) else value


def _stamps(times, mask, limit=3):
    return [str(t) for t in times[mask][:limit]]


def _check_values(data, columns, times, label, fill, name="df", fillable=True):
    """`data` `(rows, n)` float64 of `columns` at `times`: within float32, and
    finite unless `fill` (then each column needs a finite value to fill from);
    `fillable`: whether `fill` could repair NaN here (the message says so)."""
    finite = np.isfinite(data)
    huge = finite & (np.abs(np.where(finite, data, 0.0)) > FLOAT32_MAX)
    if huge.any():
        j = int(np.flatnonzero(huge.any(axis=0))[0])
        raise ValueError(f"Column {columns[j]!r}{label} of `{name}` has values beyond the float32 range "
                         f"(±{FLOAT32_MAX:.3g}) at {_stamps(times, huge[:, j])}; rescale it.")
    if fill is None and not finite.all():
        j = int(np.flatnonzero(~finite.all(axis=0))[0])
        more = " ..." if (~finite).sum() > 3 else ""
        hint = "clean it or pass fill='ffill', 'interpolate' or 'zero'" if fillable else "clean it"
        where = "" if name == "df" else f" of `{name}`"
        raise ValueError(f"Column {columns[j]!r}{label}{where} has NaN or inf at "
                         f"{_stamps(times, ~finite[:, j])}{more}; {hint}.")
    empty = ~finite.any(axis=0)
    if fill is not None and empty.any():
        column = columns[int(np.flatnonzero(empty)[0])]
        raise ValueError(f"Column {column!r}{label} of `{name}` has no finite value: fill={fill!r} has nothing to "
                         "fill it from.")


def _grid(t, step, label):
    """The regular grid of `step` from the first to the last of `t`."""
    try:
        rows = (t[-1] - t[0]) / pd.Timedelta(step)
    except (ValueError, TypeError):
        rows = 0  # calendar steps (months, business days) stay small over pandas' time range
    if rows > MAX_GRID_ROWS:
        raise ValueError(f"The timestamps{label} span {int(rows) + 1} steps of {step.freqstr} for {len(t)} rows; "
                         "is `freq` right?")
    return pd.date_range(t[0], t[-1], freq=step)


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
        """
        _check_frame(df, "df")
        check_choice("fill", fill, FILLS)
        sentinels = check_na_values(na_values)
        step = None if freq is None else check_freq(freq)
        times, zone = _in_zone(_timestamps(df, time_column, "df"), tz, "df")
        frame = df.reset_index(drop=True)
        columns, static_columns = list(columns), list(static_columns)
        _check_columns(frame, columns + static_columns + ([series_column] if series_column else []), "df")
        for column in columns + static_columns:
            _check_real(frame[column], column, "df")
        if series_column:
            _series_ids(frame[series_column], times, "df")
        groups = frame.groupby(series_column, sort=False, observed=True) if series_column else [(None, frame)]
        parts = [(sid, part, times[part.index.to_numpy()]) for sid, part in groups]
        for sid, _, t in parts:
            _check_order(t, _label(sid))
        if step is None:
            step = _infer_panel_step([(_label(sid), t) for sid, _, t in parts])
        if (freq is None or infer_holidays) and _business(step):
            step = _with_holidays(step, [t for _, _, t in parts])

        blocks, valid, observed, stamps, ids, offsets, statics, gap_rows = [], [], [], [], [], [0], [], 0
        for sid, part, t in parts:
            label = _label(sid)
            grid = _grid(t, step, label)
            if len(grid.intersection(t)) != len(t):
                off = t.difference(grid)[0]
                grid_of = f"the grid of `freq`={freq!r}" if freq is not None else f"the inferred {describe_freq(step)} grid"
                raise ValueError(f"Timestamp {off}{label} is not on {grid_of} starting at {t[0]}"
                                 f"{'' if freq is not None else '; pass `freq`'}.")
            raw = _missing(part[columns].to_numpy("float64", na_value=np.nan), sentinels)
            _check_values(raw, columns, t, label, fill)
            data = pd.DataFrame(raw, index=t, columns=columns).reindex(grid)
            present = grid.isin(t)
            gap_rows += int((~present).sum())
            observed.append(np.isfinite(data.to_numpy()))
            if fill is not None:  # NaN, inf and missing timestamps alike
                data = _fill(data, fill)
                present = np.ones(len(grid), bool)
            blocks.append(data.to_numpy("float32"))
            valid.append(present)
            stamps.append(naive_utc(grid))
            ids.append(_plain(sid))  # JSON-ready ids
            offsets.append(offsets[-1] + len(grid))
            if static_columns:
                statics.append(_static_row(_missing(part[static_columns].to_numpy("float64", na_value=np.nan), sentinels),
                                           static_columns, t, label))
        return cls(
            values=np.concatenate(blocks),
            columns=columns,
            valid=np.concatenate(valid),
            time=np.concatenate(stamps),
            series=ids,
            offsets=np.asarray(offsets),
            freq=step,
            static=np.asarray(statics, "float32") if static_columns else None,
            static_columns=static_columns,
            gap_rows=gap_rows,
            tz=zone,
            observed=np.concatenate(observed),
            freq_inferred=freq is None or infer_holidays,
        )

    def series_slices(self):
        """The rows of each series, as slices."""
        return [slice(a, b) for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def series_index(self):
        """`(rows,)` the position of each row's series."""
        return np.repeat(np.arange(len(self.series)), np.diff(self.offsets))

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
            return fraction_cutoff(self.time.min(), self.time.max(), float(value))
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
        starts, dropped = [], 0
        invalid = np.concatenate([[0], np.cumsum(~self.valid)])
        for rows in self.series_slices():
            candidates = np.arange(rows.start, rows.stop - span + 1)
            clean = invalid[candidates + span] - invalid[candidates] == 0
            starts.append(candidates[clean])
            dropped += int((~clean).sum())
        return np.concatenate(starts) if starts else np.zeros(0, int), dropped

    def extend(self, horizon, future=None, columns=(), time_column=None, series_column=None, na_values=None):
        """This panel with `horizon` rows appended to each series on its grid
        (valid, not observed: placeholders that no window reads as input,
        0.0 but in `columns`, which take the values of the DataFrame `future`
        at their timestamps, see `future_values`), and `(n_series, horizon)`
        the positions of those rows. The new timestamps follow `freq`
        (skipping its holidays)."""
        index, n = self.index(), len(self.columns)
        values, valid, observed, time, offsets, added = [], [], [], [], [0], []
        for rows in self.series_slices():
            stamps = pd.date_range(index[rows.stop - 1], periods=horizon + 1, freq=self.freq)[1:]
            length = rows.stop - rows.start
            values += [self.values[rows], np.zeros((horizon, n), self.values.dtype)]
            valid += [self.valid[rows], np.ones(horizon, bool)]
            observed += [self.observed[rows], np.zeros((horizon, n), bool)]
            time += [self.time[rows], naive_utc(stamps)]
            added.append(offsets[-1] + length + np.arange(horizon))
            offsets.append(offsets[-1] + length + horizon)
        extended = dataclasses.replace(self, values=np.concatenate(values), valid=np.concatenate(valid),
                                       observed=np.concatenate(observed), time=np.concatenate(time),
                                       offsets=np.asarray(offsets))
        added = np.asarray(added)
        if columns:
            given = future_values(future, extended, added, columns, time_column, series_column, na_values)
            at = np.ix_(added.ravel(), [self.columns.index(name) for name in columns])
            extended.values[at], extended.observed[at] = given.reshape(-1, len(columns)), True
        return extended, added


def future_values(future, panel, rows, columns, time_column=None, series_column=None, na_values=None):
    """`(n_series, horizon, n_columns)` float32: the `columns` of `future` (a
    DataFrame laid out like the fitted frames: a DatetimeIndex of any name or
    `time_column`, and `series_column`) at the timestamps of `panel`'s rows
    `rows` `(n_series, horizon)`. Missing, repeated or non-finite values
    (`na_values` among them) at those timestamps are errors naming the series
    and timestamps."""
    _check_frame(future, "future")
    times, _ = _in_zone(_timestamps(future, time_column, "future"), panel.tz, "future")
    frame = future.reset_index(drop=True)
    columns = list(columns)
    _check_columns(frame, columns + ([series_column] if series_column else []), "future")
    for column in columns:
        _check_real(frame[column], column, "future")
    ids = _series_ids(frame[series_column], times, "future").to_numpy(dtype=object) if series_column else None
    values = _missing(frame[columns].to_numpy("float64", na_value=np.nan), check_na_values(na_values))
    moments = naive_utc(times)
    out = np.empty((*np.shape(rows), len(columns)), "float32")
    for k, sid in enumerate(panel.series):
        label = "" if not series_column else f" (series {sid!r})"
        mine = np.ones(len(frame), bool) if ids is None else np.asarray(ids == sid, bool)
        wanted = panel.time[rows[k]]
        given = pd.Index(moments[mine])
        inside = given.isin(wanted)
        repeated = given[inside][given[inside].duplicated()]
        if len(repeated):
            raise ValueError(f"`future` has timestamp {panel.timestamp(repeated[0])} more than once{label}.")
        position = pd.Index(given[inside]).get_indexer(wanted)
        if (position < 0).any():
            missing = [str(panel.timestamp(t)) for t in wanted[position < 0][:3]]
            raise ValueError(f"`future` lacks covariates for {missing}{label}.")
        chosen = values[mine][inside][position]
        stamps = panel.index()[rows[k]]
        _check_values(chosen, columns, stamps, label, None, name="future", fillable=False)
        out[k] = chosen
    return out


class CategoricalEncoder:
    """One-hot indicator columns for categorical `columns`, after
    scikit-learn's `OneHotEncoder` (one per column, categories learned at
    fit, sorted): column `c` with categories `a, b` becomes float columns
    `c_a`, `c_b` (`OneHotEncoder.get_feature_names_out`), 1.0 in the column of
    a row's category. Values must be strings or integers (a pandas category
    column of them too), none missing; a category not seen at fit is an
    error naming the column and the value.

    Fitted state: `categories_` {column: [categories]} (JSON-ready),
    `feature_names_` {column: (indicator column names)}."""

    def __init__(self, columns):
        self.columns = tuple(columns)

    def fit(self, df, name="df"):
        _check_frame(df, name)
        _check_columns(df, self.columns, name)
        self.categories_ = {c: sorted(set(_categories(df[c], c, name))) for c in self.columns}
        return self._build()

    def _build(self):
        self.encoders_ = {c: OneHotEncoder(categories=[np.asarray(cats, dtype=object)], sparse_output=False,
                                           dtype="float32").fit(np.asarray(cats, dtype=object).reshape(-1, 1))
                          for c, cats in self.categories_.items()}
        self.feature_names_ = {c: tuple(str(n) for n in encoder.get_feature_names_out([c]))
                               for c, encoder in self.encoders_.items()}
        return self

    def transform(self, df, columns=None, name="df"):
        """`df` with the categorical `columns` (default: all) replaced by
        their indicator columns, in place of the original column."""
        _check_frame(df, name)
        columns = self.columns if columns is None else tuple(columns)
        _check_columns(df, columns, name)
        frame = df
        for column in columns:
            values = _categories(df[column], column, name)
            known = set(self.categories_[column])
            unknown = [v for v in dict.fromkeys(values) if v not in known]
            if unknown:
                rows = np.flatnonzero(np.asarray([v == unknown[0] for v in values]))
                raise ValueError(f"Categorical column {column!r} of `{name}` has the category {unknown[0]!r} (rows "
                                 f"{rows[:3].tolist()}), which the forecaster did not see at fit; it knows "
                                 f"{self.categories_[column][:10]}.")
            indicators = self.encoders_[column].transform(np.asarray(values, dtype=object).reshape(-1, 1))
            at = list(frame.columns).index(column)
            frame = frame.drop(columns=column)
            for j, indicator in enumerate(self.feature_names_[column]):
                frame.insert(at + j, indicator, indicators[:, j])
        return frame

    def to_json(self):
        return {"columns": list(self.columns), "categories": self.categories_}

    @classmethod
    def from_json(cls, state):
        encoder = cls(state["columns"])
        encoder.categories_ = {c: list(state["categories"][c]) for c in encoder.columns}
        return encoder._build()


def _categories(column, name, frame_name):
    """The values of a categorical column as a list of str or int, checked:
    none missing, all strings or all integers."""
    missing = np.flatnonzero(np.asarray(column.isna()))
    if len(missing):
        raise ValueError(f"Categorical column {name!r} of `{frame_name}` has missing values (NaN/None) at rows "
                         f"{missing[:3].tolist()}; give every row a category.")
    values = [_plain(v) for v in column.astype(object).tolist()]
    kinds = [str if isinstance(v, str) else int if isinstance(v, numbers.Integral) and not isinstance(v, bool)
             else None for v in values]
    odd = next((v for v, kind in zip(values, kinds) if kind is None or kind is not kinds[0]), None)
    if odd is not None:
        raise ValueError(f"Categorical column {name!r} of `{frame_name}` must hold strings or integers (all of one "
                         f"kind), got {odd!r} ({type(odd).__name__}).")
    return [int(v) for v in values] if kinds[0] is int else values


def _static_row(values, columns, times, label):
    """The one row of static covariates of a series, checked: finite, within
    float32, the same at every timestamp."""
    _check_values(values, columns, times, label, None, fillable=False)
    varying = ~(values == values[0]).all(axis=0)
    if varying.any():
        raise ValueError(f"Static covariate {columns[int(np.flatnonzero(varying)[0])]!r} varies over time{label}.")
    return values[0]


def _label(sid):
    return "" if sid is None else f" in series {_plain(sid)!r}"


def _check_order(t, label):
    """Timestamps sorted and unique."""
    order = np.diff(t.asi8)
    if (order < 0).any():
        i = int(np.argmax(order < 0)) + 1
        raise ValueError(f"Timestamps must be sorted{label}: row {i} ({t[i]}) comes after {t[i - 1]}.")
    if (order == 0).any():
        i = int(np.argmax(order == 0)) + 1
        raise ValueError(f"Duplicate timestamp {t[i]}{label} at row {i}.")


def _missing(values, sentinels):
    """`values` with the `na_values` sentinels as NaN."""
    return np.where(np.isin(values, sentinels), np.nan, values) if len(sentinels) else values


def _infer_panel_step(labelled_times):
    """The one frequency of every series [(label, timestamps)]; series of
    different frequencies are an error."""
    step = None
    for label, t in labelled_times:
        inferred = _infer_step(t)
        if inferred is None:
            raise ValueError(f"Cannot infer the frequency{label} from {len(t)} timestamp(s); pass `freq` "
                             "(for example 'h', 'D' or 'B').")
        if step is not None and inferred != step:
            raise ValueError(f"The frequency{label} ({inferred.freqstr}) differs from the first series' "
                             f"({step.freqstr}); pass `freq`.")
        step = step or inferred
    return step


def _infer_step(t):
    """pandas' inferred frequency; business days for weekdays with a few
    missing (holidays, added by `_with_holidays`); else the most common
    spacing (so that a series with gaps still gets its grid). None from
    fewer than 3 timestamps."""
    if t.freq is not None:
        return t.freq
    if len(t) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 announces an offset instead of a str
        step = pd.infer_freq(t)
    if step is None and _trading_days(t):
        return pd.offsets.BDay()
    return pd.tseries.frequencies.to_offset(step or pd.Series(t).diff().mode()[0])


def _trading_days(t):
    """Whether `t` are weekdays at one time of day spanning weekends, with at
    most MAX_HOLIDAY_SHARE of the weekdays in their span missing."""
    times_of_day = t - t.normalize()
    if (t.day_of_week >= 5).any() or (times_of_day != times_of_day[0]).any() or t[-1] - t[0] < pd.Timedelta("7D"):
        return False
    weekdays = len(pd.date_range(t[0], t[-1], freq=pd.offsets.BDay()))
    return weekdays - len(t) <= MAX_HOLIDAY_SHARE * weekdays


def _with_holidays(step, times):
    """`step` (one business day) with the weekdays of its weekmask that none
    of `times` (a list of DatetimeIndex) holds, between the first and the last
    timestamp, as holidays added to its own; plain business days if none.
    More than MAX_HOLIDAY_SHARE of them missing are no trading calendar
    (as `_trading_days` at fit): no new holidays, the missing days are gaps."""
    weekmask = getattr(step, "weekmask", None) or WEEKDAYS
    known = list(getattr(step, "holidays", None) or ())
    every = times[0].append(list(times[1:])).unique().sort_values()
    grid = pd.date_range(every[0], every[-1], freq=pd.offsets.CustomBusinessDay(weekmask=weekmask, holidays=known))
    missing = grid.difference(every)
    if len(missing) > MAX_HOLIDAY_SHARE * len(grid):
        missing = missing[:0]
    closed = sorted({*known, *(np.datetime64(day.date(), "D") for day in missing)})
    if not closed and weekmask == WEEKDAYS:
        return pd.offsets.BDay()
    return pd.offsets.CustomBusinessDay(weekmask=weekmask, holidays=closed)


def _fill(data, fill):
    data = data.replace([np.inf, -np.inf], np.nan)
    if fill == "ffill":
        return data.ffill().bfill()
    if fill == "interpolate":
        return data.interpolate(limit_direction="both")
    return data.fillna(0.0)
