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
"""

import copy

from tsgate.validation import check_choice

SEGMENTS = 30  # lookback segments read by the recurrent cell
FALLBACK_SEASON = 24  # segment length where the frequency has no usable season
MAX_SEASON = 288  # a day of 5-minute steps; longer seasons make lookbacks of tens of thousands of steps

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


def config(name, freq):
    """{"forecaster": {...}, "fit": {...}}: preset `name` for data of pandas
    frequency `freq` (None: unknown), its lookback `SEGMENTS` segments of
    `segment_length(freq)` steps."""
    preset = copy.deepcopy(PRESETS[check_choice("preset", name, PRESETS)])
    segment = segment_length(freq)
    forecaster = preset["forecaster"]
    forecaster["lookback"] = SEGMENTS * segment
    forecaster["builder_options"]["segment_length"] = segment
    return preset


def make(name, target, horizon, freq, **overrides):
    """A `Forecaster` with the arguments of preset `name` for data of
    frequency `freq` (e.g. "h", "15min", `pd.infer_freq(df.index)`), `target`
    and `horizon`; `overrides` replace preset arguments."""
    from tsgate.forecaster import Forecaster

    return Forecaster(target, horizon=horizon, **{**config(name, freq)["forecaster"], **overrides})


def fit_options(name):
    """The `fit` keyword arguments of preset `name` (epochs, steps_per_epoch,
    batch_size, patience)."""
    return dict(PRESETS[check_choice("preset", name, PRESETS)]["fit"])
