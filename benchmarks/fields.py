"""Field forecasting: tsgate's `FieldForecaster` against persistence and
against the architecture of Keras' next-frame ConvLSTM example, same data,
same epochs, side by side in one run.

Data: moving digits (`tsgate.datasets.moving_digits`: two of scikit-learn's
8×8 digits upsampled to 24 pixels, bouncing on a `--size` canvas), 10 frames
in, 10 out. The models train on `--sequences` sequences of the generator's
seed 1 (the last fifth of them validating, for early stopping) and are
scored on `--test` sequences of seed 2: other digits, speeds and starting
positions. With `--real`, also the annual air-temperature field of
`tsgate.datasets.load_air_temperature` (240 frames of 37×49; 10 in, 5 out;
the last 20 % of the years tested), with and without `residual`.

Models:
- tsgate: `FieldForecaster(10, 10, filters=(16, 32))` (and the filters of
  `--tsgate-filters`), the ConvGRU
  encoder–forecaster, MSE, forecasting the 10 frames at once.
- keras ConvLSTM: the keras-io example (examples/vision/conv_lstm.py):
  ConvLSTM2D(F, 5×5) → BN → ConvLSTM2D(F, 3×3) → BN → ConvLSTM2D(F, 1×1) →
  Conv3D(1, 3×3×3, sigmoid), binary cross-entropy, Adam 1e-3, trained on
  frame t → t+1 over the 20-frame sequences, and forecasting 10 frames by
  feeding its own frames back (the example's rollout). Its last Conv3D is
  made causal in time as keras-io PR #2382 proposes (two frames of zeros
  before, "valid" padding), so that the output at t does not read frame
  t+1, the target (keras-io#1003). The example has F = 64 (`--keras-filters`).

Reported, per model: MSE and SSIM by lead time on the test sequences (MSE
per pixel, values in [0, 1]; × 4096 gives the per-frame sums of published
Moving MNIST tables), their mean over leads, the ratio to persistence,
training seconds per epoch and parameters.

    python -m benchmarks.fields --sequences 1000 --test 200 --epochs 10 --tsgate-filters 16,32 8,16 \\
        --out benchmarks/results/fields.json --markdown benchmarks/results/fields.md
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

LOOKBACK, HORIZON = 10, 10


def keras_convlstm(filters, size):
    """The keras-io next-frame example's model, its last convolution causal in time."""
    import keras
    from keras import layers

    frames = keras.Input((None, size, size, 1))
    x = layers.ConvLSTM2D(filters, 5, padding="same", return_sequences=True, activation="relu")(frames)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters, 3, padding="same", return_sequences=True, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters, 1, padding="same", return_sequences=True, activation="relu")(x)
    x = layers.ZeroPadding3D(((2, 0), (1, 1), (1, 1)))(x)  # time: two frames before, none after
    return keras.Model(frames, layers.Conv3D(1, 3, activation="sigmoid", padding="valid")(x))


def sequences_of(field):
    """`(n, frames, height, width, channels)` of a field of equal-length sequences."""
    lengths = np.diff(field.offsets)
    return field.values.reshape(len(lengths), lengths[0], *field.grid)


def timed_epochs(history_times):
    return float(np.mean(history_times)) if history_times else float("nan")


class EpochTimes:
    """A Keras callback keeping each epoch's wall time."""

    def __new__(cls):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.times = []

            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self.started)

        return Callback()


def lead_scores(actual, forecast):
    """{"MSE": by lead, "SSIM": by lead} of `(n, horizon, h, w, 1)` arrays in [0, 1]."""
    from tsgate.fields import metrics

    table = metrics.scores(actual, forecast, [1.0])
    return {"MSE": table["MSE"].tolist(), "SSIM": table["SSIM"].tolist()}


def run_tsgate(train, test, epochs, seed, filters):
    from tsgate.fields import FieldForecaster

    clock = EpochTimes()
    forecaster = FieldForecaster(LOOKBACK, HORIZON, filters=filters, seed=seed)
    forecaster.fit(train, validation=0.2, epochs=epochs, patience=epochs, verbose=0, callbacks=[clock])
    test_sequences = sequences_of(test)
    forecast = forecaster.raw_model_.predict({"frames": test_sequences[:, :LOOKBACK]}, verbose=0)["forecast"]
    return {**lead_scores(test_sequences[:, LOOKBACK:], forecast), "epoch_s": timed_epochs(clock.times),
            "parameters": forecaster.model_.count_params(), "epochs": len(clock.times)}


def run_keras(train, test, epochs, seed, filters):
    import keras

    keras.utils.set_random_seed(seed)
    sequences = sequences_of(train)
    split = int(len(sequences) * 0.8)
    model = keras_convlstm(filters, train.grid[0])
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    clock = EpochTimes()
    model.fit(sequences[:split, :-1], sequences[:split, 1:], validation_data=(sequences[split:, :-1],
              sequences[split:, 1:]), epochs=epochs, batch_size=16, verbose=0, callbacks=[clock])
    test_sequences = sequences_of(test)
    frames = test_sequences[:, :LOOKBACK]
    for _ in range(HORIZON):  # the example's rollout: its last output appended, the whole sequence read again
        frames = np.concatenate([frames, model.predict(frames, batch_size=16, verbose=0)[:, -1:]], axis=1)
    return {**lead_scores(test_sequences[:, LOOKBACK:], frames[:, LOOKBACK:]), "epoch_s": timed_epochs(clock.times),
            "parameters": model.count_params(), "epochs": len(clock.times)}


def run_persistence(test):
    test_sequences = sequences_of(test)
    forecast = np.repeat(test_sequences[:, LOOKBACK - 1:LOOKBACK], HORIZON, axis=1)
    return {**lead_scores(test_sequences[:, LOOKBACK:], forecast), "epoch_s": float("nan"), "parameters": 0}


def run_real(epochs, seed):
    """The air-temperature field: tsgate, persistence and climatology by lead (K²)."""
    from tsgate import datasets
    from tsgate.fields import FieldForecaster

    field = datasets.load_air_temperature()
    test_start = int(len(field) * 0.8)
    scores = {}
    for residual in (False, True):
        forecaster = FieldForecaster(LOOKBACK, 5, filters=(16, 32), residual=residual, seed=seed)
        forecaster.fit(field.values[:test_start], validation=0.2, epochs=epochs, patience=10, verbose=0)
        table = forecaster.evaluate(field, test=test_start)
        for model, rows in table.groupby(level="model", sort=False):
            name = f"tsgate, residual={residual}" if model == "tsgate" else model
            scores[name] = rows.droplevel("model")[["MSE", "SSIM"]].to_dict("list")
    return scores


def markdown(record):
    rows = ["| model | parameters | s / epoch | MSE (mean over leads) | vs persistence | SSIM | MSE by lead 1, 5, 10 |",
            "|---|---|---|---|---|---|---|"]
    base = np.mean(record["models"]["persistence"]["MSE"])
    for name, scores in record["models"].items():
        mse = np.asarray(scores["MSE"])
        rows.append(f"| {name} | {scores['parameters']:,} | {scores['epoch_s']:.0f} | {mse.mean():.5f} | "
                    f"{mse.mean() / base - 1:+.0%} | {np.mean(scores['SSIM']):.3f} | "
                    f"{mse[0]:.4f}, {mse[4]:.4f}, {mse[-1]:.4f} |")
    lines = [f"Moving digits {record['size']}×{record['size']}, {record['sequences']} training sequences (seed 1), "
             f"{record['test']} test sequences (seed 2), {record['epochs']} epochs, {record['machine']}.", "",
             *rows, ""]
    if "real" in record:
        lines += ["Air temperature (37×49, annual, last 20 % of the years; MSE in K², by lead 1 .. 5):", "",
                  "| model | MSE by lead | SSIM (mean) |", "|---|---|---|"]
        for name, scores in record["real"].items():
            lines.append(f"| {name} | {', '.join(f'{v:.3f}' for v in scores['MSE'])} | "
                         f"{np.mean(scores['SSIM']):.3f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--sequences", type=int, default=1000)
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keras-filters", type=int, default=64)
    parser.add_argument("--tsgate-filters", nargs="+", default=["16,32"],
                        help="the filters of each tsgate model, e.g. 16,32 8,16")
    parser.add_argument("--models", nargs="+", default=["tsgate", "keras"], choices=["tsgate", "keras"])
    parser.add_argument("--real", action="store_true", help="also the air-temperature field (tsgate[fields])")
    parser.add_argument("--out", default="fields.json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    from tsgate import datasets

    train = datasets.moving_digits(args.sequences, size=args.size, seed=1)
    test = datasets.moving_digits(args.test, size=args.size, seed=2)
    record = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {
        "size": args.size, "sequences": args.sequences, "test": args.test, "epochs": args.epochs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "models": {}}
    record["models"].setdefault("persistence", run_persistence(test))
    runs = {f"tsgate ({text.replace(',', ', ')} filters)": (lambda f=tuple(map(int, text.split(","))):
                                                          run_tsgate(train, test, args.epochs, args.seed, f))
            for text in args.tsgate_filters}
    runs[f"keras ConvLSTM ({args.keras_filters} filters)"] = \
        lambda: run_keras(train, test, args.epochs, args.seed, args.keras_filters)
    for name, run in runs.items():
        if name.split()[0] in args.models and name not in record["models"]:
            record["models"][name] = run()
            Path(args.out).write_text(json.dumps(record, indent=1))
    if args.real and "real" not in record:
        record["real"] = run_real(args.epochs * 5, args.seed)
    Path(args.out).write_text(json.dumps(record, indent=1))
    table = markdown(record)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)


if __name__ == "__main__":
    main()
