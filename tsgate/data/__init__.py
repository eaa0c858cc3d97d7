"""From a pandas DataFrame to validated, gap-aware series and their windows.

    frames       checks of a frame: columns, timestamps, time zones, series
                 ids, values (NaN, float32 range), `na_values` sentinels
    frequency    frequencies: checked or inferred, trading calendars, the
                 regular grid, season length, JSON
    panel        `Panel`: series on their grids stacked row-wise, cut-offs,
                 window start rows, the horizon appended
    future       future covariates at forecast time (`future_values`)
    categorical  `CategoricalEncoder`: one-hot columns of categorical covariates

Data flows one way: `frames` and `frequency` are read by `panel`, `future`
and `categorical`; `panel` reads `future` (the covariates of the horizon it
appends), nothing else reads another. Every check raises a
ValueError naming the argument, column, series and rows.
"""

from tsgate.data.categorical import CategoricalEncoder
from tsgate.data.frames import (FLOAT32_MAX, INFER, check_na_values, fraction_cutoff, frame_times, from_utc_text,
                                 naive_utc, plain, series_words, utc_text)
from tsgate.data.frequency import (
    MAX_GRID_ROWS,
    MAX_HOLIDAY_SHARE,
    SEASONS,
    WEEKDAYS,
    check_freq,
    describe_freq,
    freq_from_json,
    freq_to_json,
    infer_freq,
    season_length,
)
from tsgate.data.future import future_values
from tsgate.data.panel import FILLS, Panel

__all__ = [
    "FILLS", "FLOAT32_MAX", "INFER", "MAX_GRID_ROWS", "MAX_HOLIDAY_SHARE", "SEASONS", "WEEKDAYS",
    "CategoricalEncoder", "Panel", "check_freq", "check_na_values", "describe_freq", "fraction_cutoff", "frame_times",
    "freq_from_json", "freq_to_json", "from_utc_text", "future_values", "infer_freq", "naive_utc", "plain",
    "season_length", "series_words", "utc_text",
]
