"""Wall time of short `Forecaster.fit` runs (first epoch, tracing and
compiling included) with the recurrent layers' default (`unroll=None`, the
symbolic loop) against unrolled layers (the fused kernels on TensorFlow), on
the bundled Seattle weather data. Each fit runs in a fresh process (nothing
traced before), the two arms alternating; prints one JSON line per epoch
count with every fit's seconds and the ratio of medians (default / unrolled).

    python -m benchmarks.fit_speed --epochs 1 4 20 --lookback 128
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ARMS = ("default", "unrolled")


def fit_once(arm, lookback, epochs, cell):
    import tsgate
    import tsgate.cells.sequence
    from tsgate.datasets import load_weather

    if arm == "unrolled":
        tsgate.cells.sequence.SequenceLayer.unrolls = lambda self: True
    frame = load_weather()
    forecaster = tsgate.Forecaster(
        "temp_max", lookback=lookback, horizon=24, cell=cell, past_covariates=["precipitation", "temp_min", "wind"]
    )
    start = time.perf_counter()
    forecaster.fit(frame, epochs=epochs, patience=epochs, verbose=0)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", nargs="+", type=int, default=[1, 4, 20])
    parser.add_argument("--lookback", type=int, default=128)
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.arm:
        print(json.dumps({"seconds": fit_once(args.arm, args.lookback, args.epochs[0], args.cell)}))
        return
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for epochs in args.epochs:
        seconds = {arm: [] for arm in ARMS}
        for _ in range(args.repeats):
            for arm in ARMS:
                command = [sys.executable, "-m", "benchmarks.fit_speed", "--arm", arm, "--epochs", str(epochs),
                           "--lookback", str(args.lookback), "--cell", args.cell]
                out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
                seconds[arm].append(json.loads(out.strip().splitlines()[-1])["seconds"])
        medians = {arm: statistics.median(s) for arm, s in seconds.items()}
        print(json.dumps({
            "benchmark": "fit_speed", "cell": args.cell, "lookback": args.lookback, "epochs": epochs,
            "seconds": {arm: [round(s, 2) for s in v] for arm, v in seconds.items()},
            "ratio": round(medians["default"] / medians["unrolled"], 3),
        }), flush=True)


if __name__ == "__main__":
    main()
