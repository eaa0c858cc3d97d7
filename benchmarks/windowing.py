"""One full pass over the windows of a 1,000,000 × 7 float32 array (lookback
96, horizon 24, batch 256): tsgate's index-gathering `window_dataset` against
`keras.utils.timeseries_dataset_from_array`. Each method runs in its own
process (so that peak memory is its own), alternating over rounds; the
reported peak is the growth of the peak resident memory over the process
holding only the raw array (TensorFlow started), divided by the array's size:
the dataset's copies, index arrays and batches in flight.

    python -m benchmarks.windowing
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np


def one_pass(method, rows, features, lookback, horizon, batch, passes):
    import tensorflow as tf

    data = np.random.default_rng(0).normal(size=(rows, features)).astype("float32")
    tf.reduce_sum(tf.zeros((8, 8)))  # start the runtime before the baseline
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if method == "tsgate":
        from tsgate.windows import window_dataset

        starts = np.arange(rows - lookback - horizon + 1)
        dataset = window_dataset({"target": data}, starts, lookback, horizon, batch)
    else:
        import keras

        dataset = keras.utils.timeseries_dataset_from_array(data, None, lookback + horizon, batch_size=batch)
        dataset = dataset.map(lambda w: (w[:, :lookback], w[:, lookback:]), num_parallel_calls=tf.data.AUTOTUNE)
    for _ in dataset.take(3):  # warm up
        pass
    seconds, windows = [], 0
    for _ in range(passes):
        start = time.perf_counter()
        windows = sum(int(targets.shape[0]) for _, targets in dataset)
        seconds.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "windows": windows, "peak_over_array": (peak - baseline) / data.nbytes}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=7)
    parser.add_argument("--lookback", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--method", choices=["tsgate", "keras"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shape = (args.rows, args.features, args.lookback, args.horizon, args.batch, args.passes)
    if args.method:
        print(json.dumps(one_pass(args.method, *shape)))
        return

    results = {"tsgate": [], "keras": []}
    for _ in range(args.rounds):
        for method in results:
            command = [sys.executable, "-m", "benchmarks.windowing", "--method", method]
            command += [f"--{k}={v}" for k, v in vars(args).items() if k not in ("method", "rounds")]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            results[method].append(json.loads(out.strip().splitlines()[-1]))
    summary = {
        method: {
            "median_s": round(statistics.median(s for r in runs for s in r["seconds"]), 3),
            "windows": runs[0]["windows"],
            "peak_over_array": round(max(r["peak_over_array"] for r in runs), 2),
        }
        for method, runs in results.items()
    }
    print(json.dumps({
        "benchmark": "windowing", "rows": args.rows, "features": args.features, "lookback": args.lookback,
        "horizon": args.horizon, "batch": args.batch, **summary,
        "speedup_over_keras": round(summary["keras"]["median_s"] / summary["tsgate"]["median_s"], 2),
        "cpu_count": os.cpu_count(), "machine": platform.machine(),
    }), flush=True)


if __name__ == "__main__":
    main()
