"""Trading days of an exchange as a pandas offset: `freq="XNYS"` (any ISO
MIC that the maintained `exchange_calendars` library knows, e.g. "XLON",
"XTKS", "CMES") becomes the `CustomBusinessDay` of that exchange's weekmask
and of every weekday on which it holds no session (regular and ad hoc
holidays), so that windows, forecasts and exports skip them as they skip
weekends. `exchange_calendars` is an optional dependency (`pip install
tsgate[markets]`): it keeps the calendars current; tsgate only turns one
into the offset every other frequency path already takes, so it is saved,
loaded and exported as any custom business day is.

The holidays span the calendar's range: from `EARLIEST` (or the first date
the library can evaluate for the exchange) to its last session, about a
year after today; a forecast past it sees no holidays.
"""

import functools

import pandas as pd

EARLIEST = "1970-01-01"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # exchange_calendars' weekmask "1111100", read


def looks_like_exchange(name):
    """Whether `name` is spelled like an exchange code ("XNYS", "CMES"), not a pandas alias."""
    return isinstance(name, str) and len(name) == 4 and name.isalnum() and name.isupper()


@functools.lru_cache(maxsize=None)
def exchange_offset(name):
    """The `CustomBusinessDay` of exchange `name`'s sessions; an unknown name
    or a missing library is an error saying which."""
    try:
        import exchange_calendars
    except ImportError:
        raise ValueError(f"`freq={name}` names an exchange calendar, which needs the exchange_calendars package: "
                         "pip install 'tsgate[markets]'.") from None
    if name not in exchange_calendars.get_calendar_names():
        raise ValueError(f"`freq={name}` is neither a pandas frequency nor an exchange that exchange_calendars knows "
                         "(e.g. XNYS, XLON, XTKS).")
    calendar = exchange_calendars.get_calendar(name)
    start = max(pd.Timestamp(EARLIEST), pd.Timestamp(calendar.bound_min()))
    calendar = exchange_calendars.get_calendar(name, start=start)
    weekmask = " ".join(day for day, open_ in zip(WEEKDAYS, calendar.weekmask) if open_ == "1")
    weekdays = pd.bdate_range(calendar.first_session, calendar.last_session, freq="C", weekmask=weekmask)
    holidays = weekdays.difference(pd.DatetimeIndex(calendar.sessions).tz_localize(None))
    return pd.offsets.CustomBusinessDay(weekmask=weekmask, holidays=list(holidays))
