"""Scale benchmark: training throughput with 1 and 2 local workers
(MultiWorkerMirroredStrategy on 127.0.0.1); batch forecasting of many
synthetic series from Parquet in one process (`tsgate.batch.predict_chunked`),
on a local Ray cluster of 2 workers (`tsgate.batch.ray_forecast`) and, side
by side, NeuralForecast's `predict` of the same file (`peers/nf_predict.py`,
in the peers' environment); `historical_forecasts` over the windows of one
long series. The model's share is the bare raw-unit model's time on the same
inputs (its `predict`, the same batch size, the median of 3) over the job's.

    python -m benchmarks.scale [--series 10000 100000 1000000] [--jobs process neuralforecast historical]
        [--peers-python /work/peers-venv/bin/python] [--epochs 4] [--output scale.json]

Throughput is measured over the epochs after the first (which traces the
step functions); memory is the peak resident set size of the process that
forecasts (for Ray: the driver's; each actor holds one chunk of series).
Each forecasting job runs in a fresh process.
"""

import argparse
import json
import os
import platform
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
                         "site": np.repeat([f"s{k:07d}" for k in range(n_series)], rows), "y": y.ravel()})


def peak_mib():
    """This process's peak resident set size in MiB (VmHWM: unlike
    `ru_maxrss`, not inherited from the process that started this one)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def median_seconds(call, repeats=3):
    """The median wall time of `repeats` calls of `call` (after one untimed)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


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


def forecasting(n_series, where, model_dir, export_dir, folder, peers_python=None):
    """Forecasts of `n_series` synthetic series, in a fresh process; series/s and peak memory."""
    path = os.path.join(folder, f"panel-{n_series}.parquet")
    if not os.path.exists(path):
        synthetic(n_series, LOOKBACK, seed=1).to_parquet(path)
    if where == "neuralforecast":
        command = [peers_python, os.path.join(os.path.dirname(__file__), "peers", "nf_predict.py"), path]
    else:
        command = [sys.executable, "-m", "benchmarks.scale", "--forecast-worker", where, path, model_dir, export_dir]
    result = subprocess.run(command, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def forecast_worker(where, path, model_dir, export_dir):
    from tsgate import Forecaster
    from tsgate.batch import predict_chunked, ray_forecast

    start = time.perf_counter()
    forecaster = Forecaster.load(model_dir) if where == "process" else None
    load = time.perf_counter() - start
    before = peak_mib()
    start = time.perf_counter()
    if where == "process":  # the first chunk traces the model's predict step: timed
        forecast = predict_chunked(forecaster, path, series_per_chunk=10_000)
    else:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        forecast = ray_forecast(ray.data.read_parquet(path), model_dir, export_dir, "site", chunks=20).to_pandas()
    seconds = time.perf_counter() - start
    peak = peak_mib()
    n_series = len(forecast) // HORIZON
    row = {"where": where, "series": n_series, "seconds": seconds, "series_per_s": n_series / seconds,
           "peak_rss_mib": peak, "rss_before_mib": before,
           "load_seconds": load}
    if where == "process":  # the bare model on the same inputs, after the peak was read
        inputs, _ = forecaster.serving_inputs(pd.read_parquet(path))
        row["model_seconds"] = median_seconds(lambda: forecaster.raw_model_.predict(inputs, batch_size=1024, verbose=0))
        row["model_share"] = row["model_seconds"] / seconds
    print(json.dumps(row))


def historical(forecaster, windows):
    """`historical_forecasts` over `windows` windows of one long series
    against the bare raw-unit model on the same windows' inputs."""
    df = synthetic(1, windows + LOOKBACK + HORIZON - 1, seed=2).assign(site="long")  # a series not fitted on
    seconds = median_seconds(lambda: forecaster.historical_forecasts(df))
    panel = forecaster.panel(df)
    starts, _ = panel.windows(forecaster.lookback_, HORIZON)
    dataset = forecaster.preprocessor_.inputs(panel, starts, len(starts))
    inputs = {name: value.numpy() for name, value in dataset.get_single_element().items()}
    model = median_seconds(lambda: forecaster.raw_model_.predict(inputs, batch_size=1024, verbose=0))
    return {"where": "historical_forecasts", "windows": len(starts), "seconds": seconds,
            "windows_per_s": len(starts) / seconds, "model_seconds": model, "ratio_to_model": seconds / model}


JOBS = ("training", "process", "ray", "neuralforecast", "historical")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS))
    parser.add_argument("--peers-python", default=os.environ.get("TSGATE_PEERS_PYTHON", "/work/peers-venv/bin/python"))
    parser.add_argument("--windows", type=int, default=10_000, help="historical_forecasts windows of one series")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-series", type=int, default=64)
    parser.add_argument("--train-rows", type=int, default=500)
    parser.add_argument("--output", default=None)
    parser.add_argument("--train-worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--forecast-worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.train_worker:
        out, epochs, n_series, rows = args.train_worker
        return train_worker(out, int(epochs), int(n_series), int(rows))
    if args.forecast_worker:
        return forecast_worker(*args.forecast_worker)

    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}}
    if "training" in args.jobs:
        results["training"] = [training(w, args.epochs, args.train_series, args.train_rows) for w in (1, 2)]
        for row in results["training"]:
            print(f"train  {row['workers']} worker(s): {row['windows_per_s']:,.0f} windows/s")
    if "neuralforecast" in args.jobs and not os.path.exists(args.peers_python):
        print(f"NeuralForecast skipped: no peers' environment at {args.peers_python} (see benchmarks/peers/README.md)")
        args.jobs.remove("neuralforecast")
    from tsgate import Forecaster

    with tempfile.TemporaryDirectory() as folder:
        forecaster = Forecaster(**FORECASTER).fit(synthetic(16, 200), epochs=1, verbose=0)
        model_dir = forecaster.save(os.path.join(folder, "model"))
        export_dir = forecaster.export(os.path.join(folder, "export"), version=1)
        results["forecasting"] = []
        for n_series in args.series:
            for where in ("process", "ray", "neuralforecast"):
                if where in args.jobs:
                    row = forecasting(n_series, where, str(model_dir), str(export_dir), folder, args.peers_python)
                    results["forecasting"].append(row)
                    share = f", the model {row['model_share']:.0%} of it" if "model_share" in row else ""
                    print(f"forecast {where:14s} {n_series:>9,} series: {row['series_per_s']:,.0f} series/s "
                          f"({row['seconds']:.1f} s{share}), peak RSS {row['peak_rss_mib']:,.0f} MiB", flush=True)
        if "historical" in args.jobs:
            results["historical"] = row = historical(forecaster, args.windows)
            print(f"historical_forecasts {row['windows']:,} windows: {row['windows_per_s']:,.0f} windows/s, "
                  f"{row['ratio_to_model']:.2f}x the bare model's time")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
