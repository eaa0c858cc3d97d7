"""Checks of a pandas DataFrame, each failure a ValueError naming the
argument, column, series and rows, raised before any array is built:

    not a DataFrame, no rows, MultiIndex or duplicated columns     `df`
    no DatetimeIndex / time column, NaT, unparseable times         `df`, column
    an index named like a column                                   `df`
    a missing series id (NaN/None), an id that is not str/number   column, rows
    a column that is not real-valued (object, str, bool, complex)  column
    NaN/inf (unless `fill`), beyond the float32 range, all-NaN     column, series, timestamps
    unsorted or duplicated timestamps                              series, timestamps
    a time zone other than the expected one's awareness            `df`, zone

(Timestamps off the frequency's grid, the one check that needs the
frequency, are found by `Panel.from_frame` with `tsgate.data.frequency`.)

Time zones: a frame's timestamps are naive or in one zone. A panel keeps them
as naive UTC (`time`) and its zone (`tz`); calendar features and forecast
indexes are read in that zone (`Panel.index`). `from_frame(tz=...)` converts
a frame in another zone to the expected one and refuses naive timestamps
where a zone is expected (and the reverse), so calendar features never depend
on the zone a frame happens to be in.

Missing values: `na_values` (sentinels such as -9999) become NaN before any
check (`check_na_values`, `sentinels_to_nan`).
"""

import numbers
import warnings

import numpy as np
import pandas as pd

from tsgate.validation import invalid

INFER = "infer"  # `from_frame(tz=INFER)`: keep the frame's own zone
FLOAT32_MAX = float(np.finfo("float32").max)


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


def frame_times(df, time_column=None):
    """The timestamps of `df`'s rows: its index, or its `time_column`."""
    return pd.DatetimeIndex(df.index if time_column is None else pd.to_datetime(df[time_column]))


def check_frame(df, name):
    if not isinstance(df, pd.DataFrame):
        raise invalid(name, "a pandas DataFrame", type(df).__name__)
    if isinstance(df.columns, pd.MultiIndex):
        raise ValueError(f"`{name}` has MultiIndex columns; give it one level of column names.")
    if len(df) == 0:
        raise ValueError(f"`{name}` is empty: it has no rows.")


def check_columns(df, needed, name):
    """Every `needed` column present exactly once."""
    missing = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if missing:
        raise ValueError(f"Column(s) {missing} are missing from `{name}`; it has {list(df.columns)}.")
    repeated = [c for c in dict.fromkeys(needed) if int((df.columns == c).sum()) > 1]
    if repeated:
        raise ValueError(f"Column(s) {repeated} appear more than once in `{name}`.")


def check_real(column, name, frame_name):
    """A column of real numbers (integers or floats, nullable ones included)."""
    dtype = column.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype)
    if not numeric or pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
        kind = "complex" if numeric and pd.api.types.is_complex_dtype(dtype) else f"dtype {dtype}"
        raise ValueError(f"Column {name!r} of `{frame_name}` must be numeric (real numbers), got {kind}.")


def check_timestamps(df, time_column, name):
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
        check_columns(df, [time_column], name)
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


def in_zone(times, tz, name):
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


def fraction_cutoff(start, end, fraction, times=None):
    """The time that leaves the last `fraction` of the span [start, end]
    after it: `start + (end - start) * (1 - fraction)`, the one rule of
    every fraction given as `validation`, `test` or a backtest's part; with
    `times` (the data's timestamps, sorted), the first of them at or after
    it (the same rows fall on each side; the cut-off reads as a row's time)."""
    cut = start + (end - start) * (1 - fraction)
    return cut if times is None else times[min(np.searchsorted(times, cut, side="left"), len(times) - 1)]


def utc_text(stamp):
    """A Timestamp as ISO text, in UTC when it has a zone (the ends of several
    series in a zone with daylight saving have different offsets)."""
    return (stamp if stamp.tz is None else stamp.tz_convert("UTC")).isoformat()


def from_utc_text(texts, tz):
    """Timestamps written by `utc_text`, in the zone `tz` (None: naive)."""
    if tz is None:
        return pd.DatetimeIndex(pd.to_datetime(texts))
    return pd.DatetimeIndex(pd.to_datetime(texts, utc=True)).tz_convert(tz)


def naive_utc(index):
    """A DatetimeIndex as naive datetime64 values (UTC if it has a zone)."""
    return (index if index.tz is None else index.tz_convert("UTC").tz_localize(None)).to_numpy()


def check_series_ids(column, times, name):
    """The series id of each row, checked: none missing, each a str or a number."""
    missing = np.flatnonzero(np.asarray(column.isna()))
    if len(missing):
        raise ValueError(f"Column {column.name!r} of `{name}` has no series id (NaN/None) at rows "
                         f"{missing[:3].tolist()} ({[str(t) for t in times[missing[:3]]]}); every row needs one.")
    dtype = column.dtype
    if (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            and not pd.api.types.is_complex_dtype(dtype)) or isinstance(dtype, pd.StringDtype):
        return column  # every id a number or a string: no id to look at
    for sid in pd.unique(column):
        if isinstance(sid, (bool, np.bool_)) or not isinstance(sid, (str, numbers.Real)):
            raise ValueError(f"Series ids in column {column.name!r} of `{name}` must be strings or numbers, "
                             f"got {sid!r} ({type(sid).__name__}).")
    return column


def plain(value):
    """A NumPy scalar as the Python value JSON writes."""
    return value.item() if isinstance(value, np.generic) else value


def series_words(sid):
    """A series in a message: "the series" for the one series of a frame
    without a series column (id None), else "series 'id'"."""
    return "the series" if sid is None else f"series {plain(sid)!r}"


def _stamps(times, mask, limit=3):
    return [str(t) for t in times[mask][:limit]]


def check_values(data, columns, times, label, fill, name="df", fillable=True):
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


def check_static_row(values, columns, times, label):
    """The one row of static covariates of a series, checked: finite, within
    float32, the same at every timestamp."""
    check_values(values, columns, times, label, None, fillable=False)
    varying = ~(values == values[0]).all(axis=0)
    if varying.any():
        raise ValueError(f"Static covariate {columns[int(np.flatnonzero(varying)[0])]!r} varies over time{label}.")
    return values[0]


def order_rows(frame, times, series_column, sort, duplicates, kept=()):
    """(`frame`, `times`) with the rows in time order within each series
    (`sort`: a stable sort, so a newest-first download reads oldest-first)
    and rows sharing a series and timestamp kept as `duplicates` says:
    "error" (all kept, for `check_order` to refuse), "first", "last" (in
    the frame's order) or "mean" (numeric columns averaged but the `kept`
    ones, one-hot categories, which keep their last value as the others
    do)."""
    if sort:
        order = np.argsort(times.asi8, kind="stable")
        frame, times = frame.iloc[order].reset_index(drop=True), times[order]
    if duplicates == "error":
        return frame, times
    keys = pd.DataFrame({"series": frame[series_column].to_numpy() if series_column else 0, "time": times.asi8})
    if duplicates in ("first", "last"):
        keep = ~keys.duplicated(keep=duplicates).to_numpy()
        return frame[keep].reset_index(drop=True), times[keep]
    groups = keys.groupby(["series", "time"], sort=False).ngroup().to_numpy()
    numeric = [c for c in frame.columns if c != series_column and c not in kept
               and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    merged = frame.groupby(groups, sort=False).last()  # the others' last value, NaN skipped as pandas does
    merged[numeric] = frame[numeric].groupby(groups, sort=False).mean()
    first = pd.Series(np.arange(len(groups))).groupby(groups, sort=False).first().to_numpy()
    return merged[frame.columns].reset_index(drop=True), times[first]


def check_order(t, label):
    """Timestamps sorted and unique."""
    order = np.diff(t.asi8)
    if (order < 0).any():
        i = int(np.argmax(order < 0)) + 1
        raise ValueError(f"Timestamps must be sorted{label}: row {i} ({t[i]}) comes after {t[i - 1]}; pass "
                         "`sort=True` to sort them.")
    if (order == 0).any():
        i = int(np.argmax(order == 0)) + 1
        raise ValueError(f"Duplicate timestamp {t[i]}{label} at row {i}; pass `duplicates` ('first', 'last' or "
                         "'mean') to keep one row of each timestamp.")


def sentinels_to_nan(values, sentinels):
    """`values` with the `na_values` sentinels as NaN."""
    return np.where(np.isin(values, sentinels), np.nan, values) if len(sentinels) else values
