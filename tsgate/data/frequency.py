"""Frequencies of series: checked (`check_freq`) or inferred from timestamps,
the regular grid a series is put on, the season of a frequency, and its JSON.

Trading calendars: a series on weekdays only, with a few weekdays missing
(prices on exchange holidays), is business daily with those days as
holidays (`pandas.offsets.CustomBusinessDay`), not daily with gaps; so is a
`freq` of business days with `infer_holidays`. A given `freq` of
`CustomBusinessDay(holidays=...)` or `(calendar=...)` is used as it is, and
forecast timestamps skip its holidays. `freq_to_json` and `freq_from_json`
write and read any of these offsets exactly (holidays and weekmask included).
"""

import warnings

import numpy as np
import pandas as pd

from tsgate.data.exchanges import exchange_offset, looks_like_exchange

from tsgate.validation import invalid

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
    """A pandas frequency (str, DateOffset or Timedelta), or an exchange's
    code ("XNYS", `tsgate.data.exchanges`), as a positive DateOffset."""
    if isinstance(freq, bool) or not isinstance(freq, (str, pd.offsets.BaseOffset, pd.Timedelta)):
        raise invalid(name, "a pandas frequency such as 'h', 'D' or 'B', or an exchange such as 'XNYS'", freq)
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
        origin = pd.Timestamp("2000-01-01")
        positive = origin + offset > origin
    except (ValueError, TypeError, OverflowError):
        if looks_like_exchange(freq):  # not a pandas alias ("10MS", "CBME" are): an exchange's code
            return exchange_offset(freq)
        raise invalid(name, "a pandas frequency such as 'h', 'D' or 'B', or an exchange such as 'XNYS'",
                      freq) from None
    if not positive:
        raise invalid(name, "a positive pandas frequency", freq)
    return offset


def is_business_day(offset):
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


def regular_grid(t, step, label):
    """The regular grid of `step` from the first to the last of `t`."""
    rows = steps_spanned(t[-1:].asi8 - t[:1].asi8, step, t.unit)
    if rows is not None and rows[0] > MAX_GRID_ROWS:
        raise ValueError(f"The timestamps{label} span {int(rows[0]) + 1} steps of {step.freqstr} for {len(t)} rows; "
                         "is `freq` right?")
    return pd.date_range(t[0], t[-1], freq=step)


def steps_spanned(spans, step, unit):
    """`spans` (integers of `unit`) in steps of `step` (floats), None for
    calendar steps (months, business days), which stay small over pandas'
    time range."""
    try:
        return spans * (pd.Timedelta(1, unit=unit).value / pd.Timedelta(step).value)
    except (ValueError, TypeError):
        return None


def fixed_step(step, unit, tz):
    """`step` as a whole number of `unit`s when every step of its grid lasts
    as long (a Tick; days on naive timestamps), else None (calendar steps,
    days across daylight saving)."""
    if isinstance(step, pd.offsets.Tick) or (isinstance(step, pd.offsets.Day) and tz is None):
        step, one = pd.Timedelta(step).value, pd.Timedelta(1, unit=unit).value
        return step // one if step % one == 0 else None
    return None


def series_grids(t, bounds, step):
    """The regular grid of `step` of each series of `t` (a DatetimeIndex,
    the rows of series k at `bounds[k]:bounds[k + 1]`, each in time order),
    from its first to its last timestamp, as `regular_grid` makes it:
    `(rows,)` each timestamp's position on its series' grid (-1: off the
    grid), `(n_series,)` the grids' lengths, and their timestamps (naive
    UTC, series after series).

    Written over whole arrays because a panel may hold a million series:
    grids of a fixed step are arithmetic; calendar grids are one
    `pandas.date_range` per distinct first timestamp (a series' grid is the
    start of the longest one's). The caller refuses series that span more
    than MAX_GRID_ROWS steps first."""
    t = _fine_enough(t, step)
    stamps, unit = t.asi8, t.unit
    series = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    first, last = stamps[bounds[:-1]], stamps[bounds[1:] - 1]
    fixed = fixed_step(step, unit, t.tz)
    if fixed is not None:
        offset = stamps - first[series]
        position = np.where(offset % fixed == 0, offset // fixed, -1)
        lengths = (last - first) // fixed + 1
        grid = np.repeat(first, lengths) + _ragged_arange(lengths) * fixed
        return position, lengths, grid.view(f"datetime64[{unit}]")
    starts, group = np.unique(first, return_inverse=True)
    members, rows_of = _split_by(group, len(starts)), _split_by(group[series], len(starts))
    position, lengths, grids = np.empty(len(stamps), np.int64), np.empty(len(first), np.int64), []
    for mine, rows in zip(members, rows_of):
        longest = mine[np.argmax(last[mine])]
        grid = pd.date_range(t[bounds[longest]], t[bounds[longest + 1] - 1], freq=step).as_unit(unit).asi8
        at = np.searchsorted(grid, stamps[rows])
        on = grid[np.minimum(at, len(grid) - 1)] == stamps[rows]
        position[rows] = np.where(on, at, -1)
        lengths[mine] = np.searchsorted(grid, last[mine], side="right")
        grids.append(grid)
    grid_starts = np.cumsum([0] + [len(grid) for grid in grids])[group]
    grid = np.concatenate(grids)[np.repeat(grid_starts, lengths) + _ragged_arange(lengths)]
    return position, lengths, grid.view(f"datetime64[{unit}]")


def steps_after(last, horizon, step):
    """`(n, horizon)` naive UTC: the `horizon` timestamps after each of
    `last` (a DatetimeIndex) on the grid of `step`, as `pandas.date_range`
    continues it (holidays skipped); arithmetic for a fixed step, one
    `date_range` per distinct timestamp otherwise."""
    last = _fine_enough(last, step)
    unit = last.unit
    fixed = fixed_step(step, unit, last.tz)
    if fixed is not None:
        ahead = last.asi8[:, None] + fixed * np.arange(1, horizon + 1)
    else:
        distinct, which = np.unique(last.asi8, return_index=True)
        table = np.stack([pd.date_range(last[k], periods=horizon + 1, freq=step)[1:].as_unit(unit).asi8
                          for k in which])
        ahead = table[np.searchsorted(distinct, last.asi8)]
    return ahead.view(f"datetime64[{unit}]")


def _fine_enough(t, step):
    """`t` in nanoseconds when a fixed `step` is no whole number of its unit
    (a 500 ms grid of timestamps in seconds), else as it is."""
    if fixed_step(step, t.unit, t.tz) is None and fixed_step(step, "ns", t.tz) is not None:
        return t.as_unit("ns")
    return t


def _split_by(labels, n):
    """The positions of each of the `n` labels in `labels`, one array each."""
    order = np.argsort(labels, kind="stable")
    return np.split(order, np.cumsum(np.bincount(labels, minlength=n))[:-1])


def _ragged_arange(lengths):
    """`concatenate([arange(n) for n in lengths])` without the loop."""
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def infer_panel_step(t, bounds, label):
    """The one frequency of every series of `t` (as `series_grids`'s;
    `label(k)` names series k in messages); series of different frequencies
    are an error. Series with the same timestamps are inferred once."""
    step, seen = None, set()
    for k in range(len(bounds) - 1):
        times = t[bounds[k]: bounds[k + 1]]
        key = times.asi8.tobytes()
        if key in seen:
            continue
        seen.add(key)
        inferred = _infer_step(times)
        if inferred is None:
            raise ValueError(f"Cannot infer the frequency{label(k)} from {len(times)} timestamp(s); pass `freq` "
                             "(for example 'h', 'D' or 'B').")
        if step is not None and inferred != step:
            raise ValueError(f"The frequency{label(k)} ({inferred.freqstr}) differs from the first series' "
                             f"({step.freqstr}); pass `freq`.")
        step = step or inferred
    return step


def _infer_step(t):
    """pandas' inferred frequency; business days for weekdays with a few
    missing (holidays, added by `with_holidays`); else the most common
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


def with_holidays(step, times):
    """`step` (one business day) with the weekdays of its weekmask that none
    of `times` (every series' timestamps, one DatetimeIndex) holds, between the first and the last
    timestamp, as holidays added to its own; plain business days if none.
    More than MAX_HOLIDAY_SHARE of them missing are no trading calendar
    (as `_trading_days` at fit): no new holidays, the missing days are gaps."""
    weekmask = getattr(step, "weekmask", None) or WEEKDAYS
    known = list(getattr(step, "holidays", None) or ())
    every = times.unique().sort_values()
    grid = pd.date_range(every[0], every[-1], freq=pd.offsets.CustomBusinessDay(weekmask=weekmask, holidays=known))
    missing = grid.difference(every)
    if len(missing) > MAX_HOLIDAY_SHARE * len(grid):
        missing = missing[:0]
    closed = sorted({*known, *(np.datetime64(day.date(), "D") for day in missing)})
    if not closed and weekmask == WEEKDAYS:
        return pd.offsets.BDay()
    return pd.offsets.CustomBusinessDay(weekmask=weekmask, holidays=closed)
