"""Calendar features of timestamps, known ahead and so usable as future
covariates: cyclic fields (hour, day of week, month, ...) as their sine and
cosine, and a holiday indicator from a pandas holiday calendar or a list of
dates. `tsgate.layout` places them after the future covariates, unscaled;
`calendar_metadata` tells an exported model's clients how to compute them.
"""

import numpy as np
import pandas as pd
from pandas.tseries.holiday import AbstractHolidayCalendar

from tsgate.validation import invalid

# Cyclic calendar fields: the field's value (pandas' DatetimeIndex attribute; ISO week for weekofyear) and period.
CALENDAR_PERIODS = {"hour": 24, "dayofweek": 7, "day": 31, "month": 12, "dayofyear": 366, "minute": 60,
                    "weekofyear": 53, "quarter": 4}
HOLIDAY = "holiday"  # the calendar field that is 1.0 on the dates of `holidays`, else 0.0
CALENDAR_FIELDS = (*CALENDAR_PERIODS, HOLIDAY)


def check_holidays(holidays):
    """None, a pandas holiday calendar instance (e.g.
    `pandas.tseries.holiday.USFederalHolidayCalendar()`), or a list or tuple
    of dates; the dates as a sorted tuple of naive midnight Timestamps. A
    calendar must have its class's own rules: `save` keeps only its class."""
    expected = "None, a pandas holiday calendar instance (e.g. USFederalHolidayCalendar()) or a list of dates"
    if holidays is None:
        return holidays
    if isinstance(holidays, AbstractHolidayCalendar):
        if list(holidays.rules) != list(type(holidays).rules):  # Holiday has no __eq__: the same rule objects
            raise invalid("holidays", f"a holiday calendar with the rules of its class {type(holidays).__name__} "
                          "(a saved forecaster keeps only the class); for other rules pass the dates as a list, "
                          "e.g. list(calendar.holidays('2000-01-01', '2050-12-31'))", holidays)
        return holidays
    if not isinstance(holidays, (list, tuple)) or not all(isinstance(d, (str, pd.Timestamp, np.datetime64))
                                                          or hasattr(d, "year") for d in holidays):
        raise invalid("holidays", expected, holidays)
    try:
        dates = pd.DatetimeIndex([pd.Timestamp(d) for d in holidays])
    except (ValueError, TypeError, OverflowError):
        raise invalid("holidays", expected, holidays) from None
    if dates.hasnans:
        raise invalid("holidays", expected, holidays)
    dates = dates if dates.tz is None else dates.tz_localize(None)
    return tuple(dates.normalize().unique().sort_values())


def holiday_dates(holidays, start, end):
    """The dates of `holidays` (as `check_holidays` returns them) from
    `start` to `end`, a DatetimeIndex of naive midnights."""
    if isinstance(holidays, AbstractHolidayCalendar):
        return pd.DatetimeIndex(holidays.holidays(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()))
    return pd.DatetimeIndex(list(holidays))


def calendar_features(index, features=("hour", "dayofweek"), holidays=None):
    """Calendar features of a DatetimeIndex (read in its zone), usable as
    known-future covariates: for a cyclic field with value v and period P
    (`CALENDAR_PERIODS`), `<field>_sin`, `<field>_cos` = sin, cos(2π v / P);
    for "holiday", one column that is 1.0 on the (local) dates of `holidays`
    (see `check_holidays`) and 0.0 elsewhere."""
    columns = {}
    for name in features:
        if name not in CALENDAR_FIELDS:
            raise invalid("calendar", f"fields among {sorted(CALENDAR_FIELDS)}", name)
        if name == HOLIDAY:
            days = (index if index.tz is None else index.tz_localize(None)).normalize()
            dates = [] if holidays is None or not len(index) else holiday_dates(holidays, days.min(), days.max())
            columns[HOLIDAY] = days.isin(dates).astype("float64")
            continue
        value = index.isocalendar().week if name == "weekofyear" else getattr(index, name)
        angle = 2 * np.pi * np.asarray(value, dtype="float64") / CALENDAR_PERIODS[name]
        columns[f"{name}_sin"], columns[f"{name}_cos"] = np.sin(angle), np.cos(angle)
    return pd.DataFrame(columns, index=index)


def calendar_metadata(calendar, holidays, start, end):
    """How a client computes the calendar columns, for export metadata:
    {field: {"columns", "period"}} (columns sin, cos(2π value / period)), and
    for "holiday" its column and the holiday dates from `start` to `end`."""
    fields = {}
    for name in calendar:
        if name == HOLIDAY:
            dates = holiday_dates(holidays, start, end)
            source = type(holidays).__name__ if isinstance(holidays, AbstractHolidayCalendar) else "dates"
            fields[name] = {"columns": [HOLIDAY], "calendar": source,
                            "dates": [str(d.date()) for d in dates]}
        else:
            fields[name] = {"columns": [f"{name}_sin", f"{name}_cos"], "period": CALENDAR_PERIODS[name]}
    return fields
