"""Named, documented configurations: a preset is the Forecaster arguments and
the `fit` options of a recipe, measured with `benchmarks/accuracy.py`.

    >>> from tsgate import presets
    >>> forecaster = presets.make("long_horizon", target=["HUFL", "OT"], horizon=96)
    >>> forecaster.fit(df, validation=0.2, **presets.fit_options("long_horizon"))

"long_horizon": the segment-recurrent model (SegRNN-style: a GRU over
24-step segments of a 720-step lookback, channel independence with a
channel embedding, the last value subtracted, every future segment decoded
in parallel, dropout 0.1), trained on MSE with Adam at 3e-4 and a cosine
learning-rate decay (SegRNN's learning rate and dropout; chosen over 1e-3 on the ETTh1
validation split, which it wins at horizon 720 and nearly ties at 96). The same
configuration at every horizon and on every dataset: nothing in it is tuned
per dataset.
"""

import copy

from tsgate.validation import check_choice

PRESETS = {
    "long_horizon": {
        "forecaster": {
            "lookback": 720,
            "builder": "segment",
            "cell": "gru",
            "units": 256,
            "builder_options": {"segment_length": 24, "normalization": "last", "channel_embedding": True, "dropout": 0.1},
            "loss": "mse",
            "learning_rate": 3e-4,
            "schedule": "cosine",
        },
        "fit": {"epochs": 12, "batch_size": 64, "patience": 3},
    },
}


def make(name, target, horizon, **overrides):
    """A `Forecaster` with the arguments of preset `name`, `target` and
    `horizon`; `overrides` replace preset arguments."""
    from tsgate.forecaster import Forecaster

    arguments = {**copy.deepcopy(PRESETS[check_choice("preset", name, PRESETS)]["forecaster"]), **overrides}
    return Forecaster(target, horizon=horizon, **arguments)


def fit_options(name):
    """The `fit` keyword arguments of preset `name` (epochs, batch_size, patience)."""
    return dict(PRESETS[check_choice("preset", name, PRESETS)]["fit"])
