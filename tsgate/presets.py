"""Named, documented configurations: a preset is the Forecaster arguments and
the `fit` options of a recipe, measured with `benchmarks/accuracy.py`, for
data of a given pandas frequency.

    >>> from tsgate import presets
    >>> forecaster = presets.make("long_horizon", target=["HUFL", "OT"], horizon=96, freq="h")
    >>> forecaster.fit(df, validation=0.2, **presets.fit_options("long_horizon"))

"long_horizon": the segment-recurrent model (SegRNN-style: a GRU over
segments of one season each, 30 of them, so the lookback is 30 seasons;
channel independence with a channel embedding, the last value subtracted,
every future segment decoded in parallel, dropout 0.1), trained on MSE with
Adam at 3e-4 and a cosine learning-rate decay, for at most 12 epochs of 128
batches each (the training windows reshuffled and repeated), so early
stopping and the schedule count in batches, not in passes over the data.
The season is the calendar cycle of the data's frequency
(`tsgate.data.season_length`: a day of hourly data, 24 steps, so 720 steps
of lookback; a day of 15-minute data, 96 steps, so 2,880). One rule at
every horizon and on every dataset; its choices were made on validation
windows only (Adam at 3e-4 with dropout 0.1 against 1e-3
without, on ETTh1; segments of a season against 24-step segments of a
720-step lookback, on ETTm1: validation MSE 0.349 against 0.380 at H = 96;
epochs of 128 batches against one pass over ETTm1's ~490 batches: 0.347 against
0.349 at H = 96 and 0.597 against 0.607 at H = 336, level at 720 and on ETTh1).

The lookback also fits the data it is made for (`plan`): given the number of
rows of a series and the horizon, the 30 segments are cut so that the
lookback leaves at least half of the training rows' positions as window
starts (a weekly series of 966 rows and horizon 24: 7 segments of 52 weeks,
not 30; a monthly one of 300 rows and horizon 12: 9 of 12 months), and the
segment is shortened to that budget when even one season does not fit.
ETT's splits keep 30 segments at every horizon. `make(..., data=df)` reads
the frequency and the rows from `df`; `tsgate train --preset` does so.
"""

import copy
import logging

from tsgate.validation import check_choice, check_fraction, check_positive_int

LOG = logging.getLogger(__name__)

SEGMENTS = 30  # lookback segments read by the recurrent cell
FALLBACK_SEASON = 24  # segment length where the frequency has no usable season
MAX_SEASON = 288  # a day of 5-minute steps; longer seasons make lookbacks of tens of thousands of steps
WINDOW_SHARE = 0.5  # the lookback leaves at least this share of the training rows' positions as window starts

PRESETS = {
    "long_horizon": {
        "forecaster": {
            "builder": "segment",
            "cell": "gru",
            "units": 256,
            "builder_options": {"normalization": "last", "channel_embedding": True, "dropout": 0.1},
            "loss": "mse",
            "learning_rate": 3e-4,
            "schedule": "cosine",
        },
        "fit": {"epochs": 12, "steps_per_epoch": 128, "batch_size": 64, "patience": 3},
    },
}


def segment_length(freq):
    """Steps per segment for data of pandas frequency `freq`: its season
    (`tsgate.data.season_length`), or `FALLBACK_SEASON` when `freq` is None
    or its season is shorter than 2 or longer than `MAX_SEASON` steps."""
    from tsgate.data import check_freq, season_length

    season = 1 if freq is None else season_length(check_freq(freq))
    return season if 2 <= season <= MAX_SEASON else FALLBACK_SEASON


def plan(freq, horizon=None, rows=None, validation=0.2):
    """(segment, segments, why): the segment length and the number of
    segments of the lookback for data of pandas frequency `freq`, and a line
    that says why. `SEGMENTS` segments of `segment_length(freq)` steps; with
    `rows` (the length of a series) and `horizon`, fewer, so that the
    lookback is at most `WINDOW_SHARE` of the positions of the training rows
    (those before the `validation` fraction): `lookback + horizon <=
    training rows` leaves room for windows, half of them at least; shorter
    segments when one season is longer than that."""
    segment, segments = segment_length(freq), SEGMENTS
    why = f"{segments} segments of {segment} steps ({_segment_words(freq)})"
    if rows is not None and horizon is not None:
        train = int(check_positive_int("rows", rows) * (1 - check_fraction("validation", validation)))
        budget = max(1, int((train - check_positive_int("horizon", horizon)) * WINDOW_SHARE))
        if budget < segments * segment:
            natural = segment
            segment = min(segment, budget)
            segments = budget // segment
            shorter = "" if segment == natural else f", shortened from {natural}"
            why = (f"{segments} segment(s) of {segment} steps ({_segment_words(freq)}{shorter}), not {SEGMENTS}: "
                   f"the {train} training rows of a {rows}-row series leave {budget} steps of lookback before "
                   f"horizon {horizon} with half of their positions as windows")
    return segment, segments, f"lookback {segment * segments}: {why}"


def _segment_words(freq):
    """Where `segment_length(freq)` comes from, for `plan`'s line."""
    from tsgate.data import check_freq, season_length

    if freq is None:
        return f"the fallback {FALLBACK_SEASON}: the frequency is unknown"
    season = season_length(check_freq(freq))
    if 2 <= season <= MAX_SEASON:
        return "a season of the data's frequency"
    return f"the fallback {FALLBACK_SEASON}: the frequency's season of {season} step(s) is not in [2, {MAX_SEASON}]"


def config(name, freq, horizon=None, rows=None, validation=0.2):
    """{"forecaster": {...}, "fit": {...}}: preset `name` for data of pandas
    frequency `freq` (None: unknown), its lookback `plan(freq, horizon,
    rows, validation)` (30 segments of a season unless `rows`, a series'
    length, is too short for them)."""
    preset = copy.deepcopy(PRESETS[check_choice("preset", name, PRESETS)])
    segment, segments, _ = plan(freq, horizon, rows, validation)
    forecaster = preset["forecaster"]
    forecaster["lookback"] = segments * segment
    forecaster["builder_options"]["segment_length"] = segment
    return preset


def describe(name, freq, horizon=None, rows=None, validation=0.2):
    """The line that says what `config` chooses for preset `name` and why."""
    check_choice("preset", name, PRESETS)
    return f"{name}: {plan(freq, horizon, rows, validation)[2]}"


def make(name, target, horizon, freq=None, data=None, validation=0.2, **overrides):
    """A `Forecaster` with the arguments of preset `name` for `target` and
    `horizon`, on data of frequency `freq` (e.g. "h", "15min"); `data`: the
    frame it will be fitted on, which gives the frequency (when `freq` is
    None) and the length of its series (the median, with a
    `series_column` among `overrides`) that the lookback must fit
    (`plan`). `overrides` replace preset arguments. The choice and its
    reason are logged (logger "tsgate.presets", INFO)."""
    from tsgate.forecaster import Forecaster

    rows = None
    if data is not None:
        freq, rows = frequency_and_length(data, freq, overrides.get("time_column"), overrides.get("series_column"))
    arguments = config(name, freq, horizon, rows, validation)["forecaster"]
    LOG.info(describe(name, freq, horizon, rows, validation))
    return Forecaster(target, horizon=horizon, **{**arguments, **overrides})


def frequency_and_length(df, freq=None, time_column=None, series_column=None):
    """`freq` (else the frequency inferred from `df`'s timestamps, None when
    it has gaps) and the median number of rows of `df`'s series: what
    `plan` fits the lookback to."""
    from tsgate.data import frame_times, infer_freq

    times = frame_times(df, time_column)
    if freq is None:
        freq = infer_freq(times)
    rows = len(df) if series_column is None else int(df.groupby(series_column, sort=False).size().median())
    return freq, rows


def fit_options(name):
    """The `fit` keyword arguments of preset `name` (epochs, steps_per_epoch,
    batch_size, patience)."""
    return dict(PRESETS[check_choice("preset", name, PRESETS)]["fit"])
