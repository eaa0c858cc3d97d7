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
Adam at 3e-4 and a cosine learning-rate decay, for at most 12 epochs of one
pass over the training windows held within 32 to 128 batches
(`steps_per_epoch="auto"`: the windows reshuffled and repeated, so early
stopping and the schedule count in batches, not in passes over long data,
and a short series still trains for 12 × 32 steps).
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
segment is shortened to that budget when even one season does not fit
(`tsgate.lookback.plan`). ETT's splits keep 30 segments at every horizon.
`make(..., data=df)` reads the frequency and the rows from `df`; `tsgate
train --preset` does so; `make` with neither `freq` nor `data` leaves
`lookback="auto"`, which `fit` plans on the data it is fitted on.

`candidates(name)` are the configurations `tsgate.selection.select` (and
`tsgate train --preset NAME --select`) chooses among on the validation
windows: the preset itself, its residual linear path, its per-window cycle,
MAE loss, RevIN.
"""

import copy
import logging

from tsgate._moved import lender
from tsgate.lookback import AUTO, is_auto, plan
from tsgate.validation import check_choice

LOG = logging.getLogger(__name__)

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
        "fit": {"epochs": 12, "steps_per_epoch": "auto", "batch_size": 64, "patience": 3},
    },
}

CANDIDATES = {
    "long_horizon": [
        {},
        {"builder_options": {"linear": "residual"}},  # NLinear, the recurrent path fitting what it leaves
        {"builder_options": {"cycle": True}},  # the window's mean cycle removed first (CycleNet's idea)
        {"loss": "mae"},  # robust to the outliers of the training rows (DUET, xPatch)
        {"builder_options": {"normalization": "revin"}},  # per-window mean and spread, not the last value
    ],
}


def config(name, freq, horizon=None, rows=None, validation=0.2):
    """{"forecaster": {...}, "fit": {...}}: preset `name` for data of pandas
    frequency `freq` (None: unknown), its lookback `plan(freq, horizon,
    rows, validation)` (30 segments of a season unless `rows`, a series'
    length, is too short for them); for `freq="auto"`, `lookback="auto"`
    and `segment_length="auto"`, planned at fit on the data fitted on."""
    preset = copy.deepcopy(PRESETS[check_choice("preset", name, PRESETS)])
    forecaster = preset["forecaster"]
    if is_auto(freq):
        forecaster["lookback"] = forecaster["builder_options"]["segment_length"] = AUTO
        return preset
    segment, segments, _ = plan(freq, horizon, rows, validation)
    forecaster["lookback"] = segments * segment
    forecaster["builder_options"]["segment_length"] = segment
    return preset


def describe(name, freq, horizon=None, rows=None, validation=0.2):
    """The line that says what `config` chooses for preset `name` and why."""
    check_choice("preset", name, PRESETS)
    if is_auto(freq):
        return f"{name}: lookback 'auto', planned at fit on the data fitted on (tsgate.lookback)"
    return f"{name}: {plan(freq, horizon, rows, validation)[2]}"


def make(name, target, horizon, freq=None, data=None, validation=0.2, **overrides):
    """A `Forecaster` with the arguments of preset `name` for `target` and
    `horizon`. Its lookback: with neither `freq` nor `data` (nor a
    `lookback` among `overrides`), "auto" (planned by `fit` on the data it is
    fitted on, `tsgate.lookback`); else for data of frequency `freq` (e.g.
    "h", "15min") and, with `data` (the frame it will be fitted on, which
    gives the frequency when `freq` is None), the length of its series (the
    median, with a `series_column` among `overrides`) of which the last
    `validation` fraction validates (as in `fit`), see `plan`; the choice and
    its reason are logged (logger "tsgate.presets", INFO). `overrides`
    replace preset arguments, but `builder_options`, whose keys merge into
    the preset's (as `tsgate train --builder-option` does; None drops them
    all). A `lookback` among `overrides` with neither `freq` nor `data` is
    refused: the segment length follows the frequency."""
    from tsgate.forecaster import Forecaster

    rows = None
    if data is not None:
        freq, rows = frequency_and_length(data, freq, overrides.get("time_column"), overrides.get("series_column"))
    elif freq is None and "lookback" in overrides:
        raise ValueError(f"presets.make({name!r}, ..., lookback={overrides['lookback']!r}) needs the data's frequency "
                         "to choose the segment length: pass freq= (e.g. 'h') or data=, or leave lookback out "
                         "(planned by fit on the data).")
    elif freq is None:
        freq = AUTO
    arguments = config(name, freq, horizon, rows, validation)["forecaster"]
    if not is_auto(freq):
        LOG.info(describe(name, freq, horizon, rows, validation))
    if isinstance(overrides.get("builder_options"), dict):
        overrides = {**overrides, "builder_options": {**arguments.get("builder_options", {}),
                                                      **overrides["builder_options"]}}
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


def candidates(name):
    """The candidates `tsgate.selection.select` chooses among for preset
    `name`: its own configuration first, then each alternative that the best
    published models use, one change at a time (a list of dicts of Forecaster
    arguments over the preset's; `builder_options` merged)."""
    return copy.deepcopy(CANDIDATES[check_choice("preset", name, PRESETS)])


def fit_options(name):
    """The `fit` keyword arguments of preset `name` (epochs, steps_per_epoch,
    batch_size, patience)."""
    return dict(PRESETS[check_choice("preset", name, PRESETS)]["fit"])


__getattr__ = lender(__name__, dict.fromkeys(("SEGMENTS", "FALLBACK_SEASON", "MAX_SEASON", "segment_length"),
                                             "tsgate.lookback"))
