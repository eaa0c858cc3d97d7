"""One worker of the two-worker fit in tests/test_distributed.py (run as a
subprocess with TF_CONFIG set): fits on its half of `panel()`'s series and
writes what the test compares to `OUT/worker-<i>/`.

    python -m tests.distributed_worker OUT EPOCHS [CHECKPOINT_DIR [SLEEP]]

SLEEP: seconds each epoch waits at its end (so that a test can kill it
mid-training); every finished epoch touches `OUT/worker-<i>/epoch-<n>`."""

import json
import os
import sys
import time

import keras
import numpy as np
import pandas as pd

FORECASTER = dict(target="y", lookback=12, horizon=4, units=8, series_column="site", time_column="time", past_covariates=["x"],
                  static_covariates=["height"], scale_per_series=False, learning_rate=1e-2, seed=3)


def panel(n_series=4, rows=120):
    """A small panel: `n_series` noisy sines of different levels, hourly."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    frames = [pd.DataFrame({"time": pd.date_range("2024-01-01", periods=rows, freq="h"), "site": f"s{k}",
                            "y": 10 * k + np.sin(2 * np.pi * t / 24 + k) + 0.1 * rng.normal(size=rows),
                            "x": np.cos(2 * np.pi * t / 24) + 0.1 * rng.normal(size=rows), "height": float(k * k)})
              for k in range(n_series)]
    return pd.concat(frames, ignore_index=True)


def share(df, index, count):
    """The rows of this worker's series: the `index`-th of `count` equal parts."""
    sites = df["site"].unique()
    mine = np.array_split(sites, count)[index]
    return df[df["site"].isin(mine)]


class Pace(keras.callbacks.Callback):
    def __init__(self, folder, sleep):
        super().__init__()
        self.folder, self.sleep = folder, sleep

    def on_epoch_end(self, epoch, logs=None):
        open(os.path.join(self.folder, f"epoch-{epoch + 1}"), "w").close()
        time.sleep(self.sleep)


def main(out, epochs, checkpoint_dir=None, sleep=0.0):
    from tsgate import Forecaster, distributed

    strategy = distributed.strategy_from_tf_config()
    index, count = distributed.worker(strategy)
    folder = os.path.join(out, f"worker-{index}")
    os.makedirs(folder, exist_ok=True)
    df = panel()
    forecaster = Forecaster(**FORECASTER).fit(
        share(df, index, count), validation=0.25, epochs=epochs, batch_size=16, patience=epochs, verbose=0,
        strategy=strategy, checkpoint_dir=checkpoint_dir, callbacks=[Pace(folder, sleep)])
    np.savez(os.path.join(folder, "weights.npz"), *forecaster.model_.get_weights())
    with open(os.path.join(folder, "fit.json"), "w") as f:
        json.dump({"scaler": forecaster.scaler_.to_json(), "history": forecaster.history_.history,
                   "series": forecaster.series_, "windows": forecaster.windows_}, f)
    if distributed.is_chief(strategy):
        forecaster.save(os.path.join(out, "model"))
        forecaster.predict(df).to_csv(os.path.join(out, "predict.csv"))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None,
         float(sys.argv[4]) if len(sys.argv) > 4 else 0.0)
