"""tsgate GRU/LSTM/SRU against keras.layers.GRU/LSTM on every backend: training
step and inference of `Input(T, F) -> recurrent layer -> Dense(horizon)`.

One worker process per backend (TensorFlow, TensorFlow with
`jit_compile=True`, JAX), each holding every model, built and warmed up; the
parent interleaves rounds across them (per round the backends in a shuffled
order, each running all its candidates once in a shuffled order), so drift on
a shared machine touches all alike. Prints one JSON line per (layer, units,
mode, backend) and a combined Markdown table; `ratio` is the median time over
the fastest Keras built-in of the same kind (GRU for GRU, LSTM for LSTM and
SRU) on any backend, in the same run. `first_s` is the first training step
and prediction (tracing and compiling) of each model.

    python -m benchmarks.recurrent --units 64 128
    python -m benchmarks.recurrent --backends jax --layers gru --units 64
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

BACKENDS = {"tf": ("tensorflow", False), "tf-xla": ("tensorflow", True), "jax": ("jax", "auto")}
PAIRS = {"gru": ("GRU", "GRU"), "lstm": ("LSTM", "LSTM"), "sru": ("LSTM", "SRU")}
# the SRU without cell connections, by its loop and by two associative scans (benchmarks/sru_scan.py)
VARIANTS = {"sru_linear": ("LSTM", "SRU-linear"), "sru_scan": ("LSTM", "SRU-scan"), "sru_doubling": ("LSTM", "SRU-doubling")}


def tsgate_layer(name, units):
    """The tsgate candidate `name` of PAIRS or VARIANTS with `units` units."""
    import tsgate

    if name in PAIRS:
        return getattr(tsgate, PAIRS[name][1])(units)
    if name == "sru_linear":
        return tsgate.SRU(units, cell_connections=False)
    from benchmarks.sru_scan import ScanSRU

    return ScanSRU(units, scan="keras" if name == "sru_scan" else "doubling")
MODES = ("train", "inference")


def worker(args):
    """Builds the models of one backend, then answers `round` lines on stdin
    with one JSON object {candidate: ms per call} on stdout."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.timesteps, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, args.horizon)).astype("float32")
    jit_compile = BACKENDS[args.worker][1]
    layers = {}
    for name in args.layers:
        keras_name, tsgate_name = {**PAIRS, **VARIANTS}[name]
        for units in args.units:
            layers[f"keras.{keras_name}/{units}"] = lambda c=getattr(keras.layers, keras_name), u=units: c(u)
            layers[f"tsgate.{tsgate_name}/{units}"] = lambda n=name, u=units: tsgate_layer(n, u)
    calls, first = {}, {}
    for label, make in layers.items():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((args.timesteps, args.features))
        layer = make()
        model = keras.Model(inputs, keras.layers.Dense(args.horizon)(layer(inputs)))
        model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile)
        if hasattr(layer, "check"):
            layer.check(x)
        start = time.perf_counter()
        try:
            model.train_on_batch(x, y)
            model.predict_on_batch(x)
        except Exception as error:  # a candidate this backend cannot run is reported, not timed
            first[label] = f"fails: {type(error).__name__}"
            continue
        first[label] = round(time.perf_counter() - start, 2)
        calls[f"{label}/train"] = lambda m=model: m.train_on_batch(x, y)
        calls[f"{label}/inference"] = lambda m=model: m.predict_on_batch(x)
    for call in calls.values():  # warm up
        call()
        call()
    print(json.dumps({"first_s": first}), flush=True)
    order, shuffle = list(calls), random.Random(args.worker).shuffle
    for line in sys.stdin:
        if line.strip() != "round":
            break
        shuffle(order)
        times = {}
        for label in order:
            start = time.perf_counter()
            for _ in range(args.repeats):
                calls[label]()
            times[label] = (time.perf_counter() - start) / args.repeats * 1e3
        print(json.dumps(times), flush=True)


def start_worker(backend, argv):
    env = {**os.environ, "KERAS_BACKEND": BACKENDS[backend][0], "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "benchmarks.recurrent", "--worker", backend, *argv]
    return subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def table(results, args):
    """Markdown rows: per (layer, units, mode) the median ms of each backend
    and its ratio to the fastest Keras built-in of the same kind."""
    lines = [
        "| layer | units | mode | " + " | ".join(f"{b} ms (ratio)" for b in args.backends) + " |",
        "|---|---|---|" + "---|" * len(args.backends),
    ]
    printed = set()
    for name in args.layers:
        keras_name, tsgate_name = {**PAIRS, **VARIANTS}[name]
        for units in args.units:
            for mode in MODES:
                fastest = min(results[b][f"keras.{keras_name}/{units}/{mode}"] for b in args.backends)
                for label in (f"keras.{keras_name}", f"tsgate.{tsgate_name}"):
                    if (label, units, mode) in printed:
                        continue  # a Keras layer's rows come once, with the first candidate of its kind
                    printed.add((label, units, mode))
                    cells = []
                    for b in args.backends:
                        ms = results[b].get(f"{label}/{units}/{mode}")
                        cells.append("fails" if ms is None else f"{ms:.1f} ({ms / fastest:.2f})")
                    lines.append(f"| {label} | {units} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    parser.add_argument("--layers", nargs="+", default=list(PAIRS), choices=[*PAIRS, *VARIANTS])
    parser.add_argument("--units", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=96)
    parser.add_argument("--features", type=int, default=7)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=list(BACKENDS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    shared = ["--layers", *args.layers, "--units", *map(str, args.units), "--repeats", str(args.repeats)]
    shared += ["--batch", str(args.batch), "--timesteps", str(args.timesteps)]
    shared += ["--features", str(args.features), "--horizon", str(args.horizon)]
    workers, firsts = {}, {}
    for backend in args.backends:  # one at a time, so that their compiles do not overlap
        workers[backend] = start_worker(backend, shared)
        firsts[backend] = json.loads(workers[backend].stdout.readline())["first_s"]
    samples = {backend: {} for backend in args.backends}
    order, shuffle = list(args.backends), random.Random(0).shuffle
    for _ in range(args.rounds):
        shuffle(order)
        for backend in order:
            workers[backend].stdin.write("round\n")
            workers[backend].stdin.flush()
            for label, ms in json.loads(workers[backend].stdout.readline()).items():
                samples[backend].setdefault(label, []).append(ms)
    for proc in workers.values():
        proc.stdin.close()
        proc.wait()
    results = {b: {label: statistics.median(s) for label, s in samples[b].items()} for b in args.backends}
    for name in args.layers:
        keras_name, tsgate_name = {**PAIRS, **VARIANTS}[name]
        for units in args.units:
            for mode in MODES:
                fastest = min(results[b][f"keras.{keras_name}/{units}/{mode}"] for b in args.backends)
                for backend in args.backends:
                    label = f"tsgate.{tsgate_name}/{units}"
                    ms = results[backend].get(f"{label}/{mode}")
                    if ms is None:
                        continue
                    line = {
                        "benchmark": "recurrent", "layer": name, "units": units, "mode": mode, "backend": backend,
                        "tsgate_ms": round(ms, 2), "fastest_keras_ms": round(fastest, 2),
                        "ratio": round(ms / fastest, 3), "first_s": firsts.get(backend, {}).get(label),
                        "keras_first_s": firsts.get(backend, {}).get(f"keras.{keras_name}/{units}"),
                        "batch": args.batch, "timesteps": args.timesteps, "features": args.features,
                        "cpu_count": os.cpu_count(),
                    }
                    print(json.dumps(line), flush=True)
    print(table(results, args), flush=True)


if __name__ == "__main__":
    main()
