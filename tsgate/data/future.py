"""Future covariates at forecast time: the values of a `future` frame at the
timestamps a panel was extended by (`Panel.extend`), checked like a fitted
frame (`tsgate.data.frames`)."""

import numpy as np
import pandas as pd

from tsgate.data.frames import (
    FLOAT32_MAX,
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
    moments = naive_utc(times).astype("datetime64[ns]")
    n_series, horizon = np.shape(rows)
    series = np.zeros(len(frame), int) if ids is None else pd.Index(panel.series, dtype=object).get_indexer(ids)
    wanted = pd.MultiIndex.from_arrays([np.repeat(np.arange(n_series), horizon),
                                        panel.time[rows].astype("datetime64[ns]").ravel()])
    given = pd.MultiIndex.from_arrays([series, moments])
    inside = np.asarray(given.isin(wanted))
    repeated = given[inside].duplicated()
    kept = np.flatnonzero(inside)[~repeated]
    position = given[kept].get_indexer(wanted).reshape(n_series, horizon)
    chosen = values[kept][np.maximum(position, 0)] if len(kept) else np.full((*position.shape, len(columns)), np.nan)
    finite = np.isfinite(chosen)
    bad = (position < 0) | ~finite.all(axis=-1) | (np.abs(np.where(finite, chosen, 0.0)) > FLOAT32_MAX).any(axis=-1)
    flagged = bad.any(axis=1)
    flagged[series[inside][repeated]] = True
    if flagged.any():
        k = int(np.argmax(flagged))
        label = "" if not series_column else f" (series {panel.series[k]!r})"
        mine = series[inside] == k
        twice = given[inside][mine & repeated]
        if len(twice):
            raise ValueError(f"`future` has timestamp {panel.timestamp(twice[0][1])} more than once{label}.")
        if (position[k] < 0).any():
            missing = [str(panel.timestamp(t)) for t in panel.time[rows[k]][position[k] < 0][:3]]
            raise ValueError(f"`future` lacks covariates for {missing}{label}.")
        check_values(chosen[k], columns, panel.index()[rows[k]], label, None, name="future", fillable=False)
    return chosen.astype("float32")
