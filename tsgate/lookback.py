"""The lookback that fits the data: whole seasons of its frequency, as
many as its training rows leave room for.

`lookback="auto"` (a Forecaster argument; the `long_horizon` preset's when
no data is at hand) is resolved at `fit` by `plan_training`, from the
frequency of the panel and the valid rows before the validation cut-off of
its median series; the segment model's `segment_length="auto"` takes the
plan's segment. Both, and the reason, are fitted state
(`Forecaster.lookback_`, `recipe_`). A frame with gaps may be inferred at
another frequency than its calendar's (a weekly series missing a week:
every 7 days, no season): pass `freq` to keep the season.

    plan("W-SUN", horizon=24, rows=966)
    (52, 7, 'lookback 364: 7 segment(s) of 52 steps (a season of the data's frequency), not 30: ...')
"""

import logging

import numpy as np

from tsgate.validation import check_fraction, check_positive_int

LOG = logging.getLogger(__name__)

AUTO = "auto"  # `lookback` (and the segment model's `segment_length`) chosen at fit by `plan_training`
SEGMENTS = 30  # lookback segments read by the recurrent cell
FALLBACK_SEASON = 24  # segment length where the frequency has no usable season
MAX_SEASON = 288  # a day of 5-minute steps; longer seasons make lookbacks of tens of thousands of steps
WINDOW_SHARE = 0.5  # the lookback leaves at least this share of the training rows' positions as window starts


def segment_length(freq):
    """Steps per segment for data of pandas frequency `freq`: its season
    (`tsgate.data.season_length`), or `FALLBACK_SEASON` when `freq` is None
    or its season is shorter than 2 or longer than `MAX_SEASON` steps."""
    return _segment(freq)[0]


def _segment(freq):
    """(`segment_length(freq)`, where it comes from, for `plan`'s line)."""
    from tsgate.data import check_freq, season_length

    if freq is None:
        return FALLBACK_SEASON, f"the fallback {FALLBACK_SEASON}: the frequency is unknown"
    season = season_length(check_freq(freq))
    if 2 <= season <= MAX_SEASON:
        return season, "a season of the data's frequency"
    return FALLBACK_SEASON, f"the fallback {FALLBACK_SEASON}: the frequency's season of {season} step(s) is not in " \
                            f"[2, {MAX_SEASON}]"


def plan(freq, horizon=None, rows=None, validation=0.2):
    """(segment, segments, why) of `plan_training` for a series of `rows`
    rows of which the last `validation` fraction validates."""
    if rows is None:
        return plan_training(freq, horizon)
    train = int(check_positive_int("rows", rows) * (1 - check_fraction("validation", validation)))
    return plan_training(freq, horizon, train, f"a {rows}-row series")


def plan_panel(lookback, panel, cutoff, horizon):
    """(lookback, recipe) of a `fit`: `lookback` as given, and None; for
    "auto", `plan_training` on the panel's frequency and the median series'
    valid rows before the `cutoff` (logged), and the plan {"lookback",
    "segment_length", "why"}."""
    if not is_auto(lookback):
        return lookback, None
    training = panel.valid & (panel.time < cutoff)
    train_rows = int(np.median(np.bincount(panel.series_index(), training, minlength=len(panel.series))))
    segment, segments, why = plan_training(panel.freq, horizon, train_rows,
                                           "the median series" if len(panel.series) > 1 else "the series")
    LOG.info(f"lookback='auto': {why}")
    return segment * segments, {"lookback": segment * segments, "segment_length": segment, "why": why}


def is_auto(value):
    """Whether an argument is "auto" (arrays and other objects are not)."""
    return isinstance(value, str) and value == AUTO


def plan_training(freq, horizon=None, train_rows=None, series="a series"):
    """(segment, segments, why): the segment length and the number of
    segments of the lookback for data of pandas frequency `freq`, and a line
    that says why. `SEGMENTS` segments of `segment_length(freq)` steps; with
    `train_rows` (the training rows of `series`) and `horizon`, fewer, so
    that the lookback is at most `WINDOW_SHARE` of the window positions of
    the training rows, `WINDOW_SHARE * (train_rows - horizon)`: half of them
    at least stay windows; a shorter segment when one season is longer."""
    (segment, words), segments = _segment(freq), SEGMENTS
    why = f"{segments} segments of {segment} steps ({words})"
    if train_rows is not None and horizon is not None:
        if train_rows <= check_positive_int("horizon", horizon):
            raise ValueError(f"No lookback fits: {series} has {train_rows} training row(s), not more than horizon "
                             f"{horizon}, so none would leave a window; give more rows or a shorter horizon.")
        budget = max(1, int((train_rows - horizon) * WINDOW_SHARE))
        if budget < segments * segment:
            natural = segment
            segment = min(segment, budget)
            segments = budget // segment
            shorter = "" if segment == natural else f", shortened from {natural}"
            why = (f"{segments} segment(s) of {segment} steps ({words}{shorter}), not {SEGMENTS}: "
                   f"the {train_rows} training rows of {series} leave {budget} steps of lookback before "
                   f"horizon {horizon} with half of their positions as windows")
    return segment, segments, f"lookback {segment * segments}: {why}"


def planned_options(options, recipe):
    """Builder `options` with the segment model's `segment_length="auto"`
    replaced by the fitted `recipe`'s segment (None: unchanged)."""
    if recipe is None or not is_auto(options.get("segment_length")):
        return options
    return {**options, "segment_length": recipe["segment_length"]}
