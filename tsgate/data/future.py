"""Future covariates at forecast time: the values of a `future` frame at the
timestamps a panel was extended by (`Panel.extend`), checked like a fitted
frame (`tsgate.data.frames`)."""

import numpy as np
import pandas as pd

from tsgate.data.frames import (
    check_columns,
    check_frame,
    check_na_values,
    check_real,
    check_series_ids,
    check_timestamps,
    check_values,
    in_zone,
    naive_utc,
    sentinels_to_nan,
)


def future_values(future, panel, rows, columns, time_column=None, series_column=None, na_values=None):
    """`(n_series, horizon, n_columns)` float32: the `columns` of `future` (a
    DataFrame laid out like the fitted frames: a DatetimeIndex of any name or
    `time_column`, and `series_column`) at the timestamps of `panel`'s rows
    `rows` `(n_series, horizon)`. Missing, repeated or non-finite values
    (`na_values` among them) at those timestamps are errors naming the series
    and timestamps."""
    check_frame(future, "future")
    times, _ = in_zone(check_timestamps(future, time_column, "future"), panel.tz, "future")
    frame = future.reset_index(drop=True)
    columns = list(columns)
    check_columns(frame, columns + ([series_column] if series_column else []), "future")
    for column in columns:
        check_real(frame[column], column, "future")
    ids = check_series_ids(frame[series_column], times, "future").to_numpy(dtype=object) if series_column else None
    values = sentinels_to_nan(frame[columns].to_numpy("float64", na_value=np.nan), check_na_values(na_values))
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
        check_values(chosen, columns, stamps, label, None, name="future", fillable=False)
        out[k] = chosen
    return out
