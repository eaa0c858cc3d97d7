"""tsgate GRU/LSTM/SRU against keras.layers.GRU/LSTM: training step and
inference of `Input(T, F) -> recurrent layer -> Dense(horizon)`, in one
process, interleaved rounds. One JSON line per (layer, units, mode); `ratio`
is tsgate's median time over the Keras median (below 1: tsgate is faster).
SRU is compared with the Keras LSTM of the same units.

    python -m benchmarks.recurrent --units 64 128
"""

import argparse

import keras
import numpy as np

import tsgate
from benchmarks.timing import interleaved, report

PAIRS = {
    "gru": (keras.layers.GRU, tsgate.GRU),
    "lstm": (keras.layers.LSTM, tsgate.LSTM),
    "sru": (keras.layers.LSTM, tsgate.SRU),
}


def forecaster(layer, timesteps, features, horizon):
    inputs = keras.Input((timesteps, features))
    model = keras.Model(inputs, keras.layers.Dense(horizon)(layer(inputs)))
    model.compile(optimizer="adam", loss="mse")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--units", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=96)
    parser.add_argument("--features", type=int, default=7)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.timesteps, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, args.horizon)).astype("float32")
    for name in args.layers:
        for units in args.units:
            keras_class, tsgate_class = PAIRS[name]
            models = {
                "keras": forecaster(keras_class(units), args.timesteps, args.features, args.horizon),
                "tsgate": forecaster(tsgate_class(units), args.timesteps, args.features, args.horizon),
            }
            for mode in ("train", "inference"):
                if mode == "train":
                    calls = {label: (lambda m=m: m.train_on_batch(x, y)) for label, m in models.items()}
                else:
                    calls = {label: (lambda m=m: m.predict_on_batch(x)) for label, m in models.items()}
                for call in calls.values():  # trace and warm up
                    call()
                    call()
                times = interleaved(calls, args.rounds, args.repeats)
                report(
                    "recurrent", times, "tsgate", "keras", layer=name, keras_layer=keras_class.__name__,
                    units=units, mode=mode, batch=args.batch, timesteps=args.timesteps, features=args.features,
                )


if __name__ == "__main__":
    main()
