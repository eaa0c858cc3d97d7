"""Scale benchmark: training throughput with 1 and 2 local workers
(MultiWorkerMirroredStrategy on 127.0.0.1), and batch forecasting of many
synthetic series in one process (`tsgate.batch.predict_chunked`) and on a
local Ray cluster of 2 workers (`tsgate.batch.ray_forecast`).

    python -m benchmarks.scale [--series 10000 30000 100000] [--epochs 4] [--output scale.json]

Throughput is measured over the epochs after the first (which traces the
step functions); memory is the peak resident set size of the process that
forecasts (for Ray: the driver's; each actor holds one chunk of series).
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

LOOKBACK, HORIZON = 24, 6
FORECASTER = dict(target="y", lookback=LOOKBACK, horizon=HORIZON, units=16, series_column="site", time_column="time",
                  learning_rate=1e-2)


def synthetic(n_series, rows, seed=0):
    """`n_series` noisy daily sines of different levels and phases, hourly, long format."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    level, phase = rng.uniform(0, 100, n_series), rng.uniform(0, 2 * np.pi, n_series)
    y = level[:, None] + np.sin(2 * np.pi * t / 24 + phase[:, None]) + 0.1 * rng.normal(size=(n_series, rows))
    return pd.DataFrame({"time": np.tile(pd.date_range("2024-01-01", periods=rows, freq="h"), n_series),
                         "site": np.repeat([f"s{k}" for k in range(n_series)], rows), "y": y.ravel()})


class EpochClock:
    """Wall time of each epoch."""

    def __new__(cls):
        import keras

        class Clock(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self.start)

        clock = Clock()
        clock.times = []
        return clock


def train_worker(out, epochs, n_series, rows):
    """One training process: with TF_CONFIG a worker on its share of the series, else all of them."""
    from tsgate import Forecaster, distributed

    strategy = distributed.strategy_from_tf_config() if os.environ.get("TF_CONFIG") else None
    index, count = distributed.worker(strategy) if strategy else (0, 1)
    df = synthetic(n_series, rows)
    df = df[df["site"].isin(np.array_split(df["site"].unique(), count)[index])]
    clock = EpochClock()
    forecaster = Forecaster(**FORECASTER).fit(df, epochs=epochs, batch_size=64, patience=epochs, verbose=0,
                                              strategy=strategy, callbacks=[clock])
    if index == 0:
        windows = forecaster.windows_["train"]
        with open(out, "w") as f:
            json.dump({"workers": count, "train_windows": windows, "epoch_s": clock.times,
                       "windows_per_s": windows / float(np.mean(clock.times[1:]))}, f)


def training(workers, epochs, n_series, rows):
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "result.json")
        sockets = [socket.socket() for _ in range(workers)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        cluster = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
        for s in sockets:
            s.close()
        processes = []
        for index in range(workers):
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
            if workers > 1:
                env["TF_CONFIG"] = json.dumps({"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}})
            processes.append(subprocess.Popen([sys.executable, "-m", "benchmarks.scale", "--train-worker", out,
                                               str(epochs), str(n_series), str(rows)], env=env))
        if any(p.wait() for p in processes):
            raise RuntimeError("a training worker failed")
        with open(out) as f:
            return json.load(f)


def forecasting(n_series, where, model_dir, export_dir, folder):
    """Forecasts of `n_series` synthetic series, in a fresh process; series/s and peak memory."""
    result = subprocess.run([sys.executable, "-m", "benchmarks.scale", "--forecast-worker", where, str(n_series),
                             model_dir, export_dir, folder], env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def forecast_worker(where, n_series, model_dir, export_dir, folder):
    from tsgate import Forecaster
    from tsgate.batch import predict_chunked, ray_forecast

    path = os.path.join(folder, f"panel-{n_series}.parquet")
    if not os.path.exists(path):
        synthetic(n_series, LOOKBACK, seed=1).to_parquet(path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if where == "process":
        forecast = predict_chunked(Forecaster.load(model_dir), path, series_per_chunk=10_000)
    else:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        forecast = ray_forecast(ray.data.read_parquet(path), model_dir, export_dir, "site", chunks=20).to_pandas()
    seconds = time.perf_counter() - start
    assert len(forecast) == n_series * HORIZON
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"where": where, "series": n_series, "seconds": seconds, "series_per_s": n_series / seconds,
                      "peak_rss_mib": peak / 1024, "rss_before_mib": before / 1024}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-series", type=int, default=64)
    parser.add_argument("--train-rows", type=int, default=500)
    parser.add_argument("--output", default=None)
    parser.add_argument("--train-worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--forecast-worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.train_worker:
        out, epochs, n_series, rows = args.train_worker
        return train_worker(out, int(epochs), int(n_series), int(rows))
    if args.forecast_worker:
        where, n_series, model_dir, export_dir, folder = args.forecast_worker
        return forecast_worker(where, int(n_series), model_dir, export_dir, folder)

    results = {"training": [training(w, args.epochs, args.train_series, args.train_rows) for w in (1, 2)]}
    for row in results["training"]:
        print(f"train  {row['workers']} worker(s): {row['windows_per_s']:,.0f} windows/s")
    from tsgate import Forecaster

    with tempfile.TemporaryDirectory() as folder:
        forecaster = Forecaster(**FORECASTER).fit(synthetic(16, 200), epochs=1, verbose=0)
        model_dir = forecaster.save(os.path.join(folder, "model"))
        export_dir = forecaster.export(os.path.join(folder, "export"), version=1)
        results["forecasting"] = []
        for n_series in args.series:
            for where in ("process", "ray"):
                row = forecasting(n_series, where, str(model_dir), str(export_dir), folder)
                results["forecasting"].append(row)
                print(f"forecast {where:7s} {n_series:>7,} series: {row['series_per_s']:,.0f} series/s, "
                      f"peak RSS {row['peak_rss_mib']:,.0f} MiB")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
