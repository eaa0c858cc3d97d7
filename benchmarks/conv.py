"""tsgate ConvGRU2D against keras.layers.ConvLSTM2D: training step of
`Input(T, H, W, C) -> conv recurrent layer -> Conv2D(1)`, interleaved rounds.

    python -m benchmarks.conv
"""

import argparse

import keras
import numpy as np

import tsgate
from benchmarks.timing import interleaved, report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.frames, args.size, args.size, 1)).astype("float32")
    y = rng.normal(size=(args.batch, args.size, args.size, 1)).astype("float32")
    models = {}
    for label, layer in (
        ("keras", keras.layers.ConvLSTM2D(args.filters, args.kernel, padding="same")),
        ("tsgate", tsgate.ConvGRU2D(args.filters, args.kernel, padding="same")),
    ):
        inputs = keras.Input(x.shape[1:])
        models[label] = keras.Model(inputs, keras.layers.Conv2D(1, 1)(layer(inputs)))
        models[label].compile(optimizer="adam", loss="mse")
    calls = {label: (lambda m=m: m.train_on_batch(x, y)) for label, m in models.items()}
    for call in calls.values():
        call()
        call()
    report("conv", interleaved(calls, args.rounds, args.repeats), "tsgate", "keras", tsgate_layer="ConvGRU2D",
           keras_layer="ConvLSTM2D", mode="train", batch=args.batch, frames=args.frames, size=args.size,
           filters=args.filters, kernel=args.kernel)


if __name__ == "__main__":
    main()
