"""Serving latency of an exported forecaster (the demo's model: GRU 32 units,
lookback 96, horizon 24, quantile head): p50/p99 of the portable
`serving_default` and the XLA `serving_xla` signatures, loaded with
`tf.saved_model.load`, and `serving_default` of an export with `unroll=True`,
against `model.predict`, at batch 1, 64 and 1024, in
one run with interleaved calls; and the first request after a load, in a
fresh process that does not import tsgate, with and without replaying the
export's warm-up records first (`assets.extra/tf_serving_warmup_requests`,
as TF Serving replays them before it serves a version). TF Serving itself
runs the same graph from C++.

    python -m benchmarks.serving [--calls 300] [--batches 1 64 1024] [--processes 5]
"""

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

import numpy as np


def first_requests(path, inputs_file, warmup, calls):
    """In this (fresh) process: load the SavedModel at `path`, replay its
    warm-up records if `warmup` (with TF Serving's own protos, as TF Serving
    does before serving a version), then the first request and `calls` more
    at batch 1 of each signature: milliseconds, one JSON line."""
    start = time.perf_counter()
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    loaded = tf.saved_model.load(path)
    replayed = 0
    if warmup:
        records = os.path.join(path, "assets.extra", "tf_serving_warmup_requests")
        for record in tf.data.TFRecordDataset(records).as_numpy_iterator():
            request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
            loaded.signatures[request.model_spec.signature_name](
                **{name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()})
            replayed += 1
    ready = (time.perf_counter() - start) * 1e3
    with np.load(inputs_file) as arrays:
        inputs = {name: tf.constant(arrays[name]) for name in arrays.files}
    row = {"warmup": warmup, "replayed_requests": replayed, "load_ms": round(ready, 1)}
    for name in sorted(set(loaded.signatures) - {"metadata"}):
        signature, times = loaded.signatures[name], []
        for _ in range(calls + 1):
            begin = time.perf_counter()
            signature(**inputs)
            times.append((time.perf_counter() - begin) * 1e3)
        row[name] = {"first_ms": round(times[0], 3), "p50_ms": round(float(np.percentile(times[1:], 50)), 3),
                     "p99_ms": round(float(np.percentile(times[1:], 99)), 3)}
    print(json.dumps(row))


def fresh_process(export, inputs_file, warmup, calls):
    """`first_requests` in a fresh process (no tsgate imported there)."""
    result = subprocess.run([sys.executable, "-m", "benchmarks.serving", "--first-requests", str(export), inputs_file,
                             warmup, str(calls)], capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--processes", type=int, default=5, help="fresh processes per first-request figure (median)")
    parser.add_argument("--first-requests", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_requests:
        path, inputs_file, warmup, calls = args.first_requests
        return first_requests(path, inputs_file, warmup == "warmup", int(calls))

    import tensorflow as tf

    from tsgate import Forecaster, datasets

    df = datasets.load_sensor().iloc[: 16 * 30 * 24]
    forecaster = Forecaster("OT", lookback=96, horizon=24, units=32, calendar=["hour"], quantiles=(0.1, 0.5, 0.9))
    forecaster.fit(df, epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = forecaster.export(os.path.join(tmp, "looped"), version=1, xla=True)
        start = time.perf_counter()
        unrolled_path = forecaster.export(os.path.join(tmp, "unrolled"), version=1, unroll=True)
        print(json.dumps({"benchmark": "unrolled_export_seconds", "seconds": round(time.perf_counter() - start, 1)}))
        inputs, _ = forecaster.serving_inputs(df)
        inputs_file = os.path.join(tmp, "inputs.npz")
        np.savez(inputs_file, **inputs)
        for export, warmup in ((path, "cold"), (path, "warmup"), (unrolled_path, "warmup")):
            runs = [fresh_process(export, inputs_file, warmup, args.calls) for _ in range(args.processes)]
            medians = {name: {key: round(float(np.median([run[name][key] for run in runs])), 3)
                              for key in runs[0][name]} for name in runs[0] if name.startswith("serving")}
            print(json.dumps({"benchmark": "serving_first_request", "export": os.path.basename(os.path.dirname(export)),
                              "warmup": warmup == "warmup", "processes": len(runs), "median": medians,
                              "load_ms": float(np.median([run["load_ms"] for run in runs]))}), flush=True)
        loaded, unrolled = tf.saved_model.load(str(path)), tf.saved_model.load(str(unrolled_path))
        for batch in args.batches:
            raw = {k: tf.constant(np.repeat(v, batch, axis=0)) for k, v in inputs.items()}
            batch_inputs = {k: np.repeat(v, batch, axis=0) for k, v in inputs.items()}
            calls = {
                "portable": lambda: loaded.signatures["serving_default"](**raw),
                "portable, unrolled": lambda: unrolled.signatures["serving_default"](**raw),
                "xla": lambda: loaded.signatures["serving_xla"](**raw),
                "model.predict": lambda: forecaster.raw_model_.predict(batch_inputs, batch_size=batch, verbose=0),
            }
            samples = {name: [] for name in calls}
            for call in calls.values():
                for _ in range(5):
                    call()
            order = list(calls)
            for _ in range(args.calls):
                random.shuffle(order)
                for name in order:
                    start = time.perf_counter()
                    calls[name]()
                    samples[name].append((time.perf_counter() - start) * 1e3)
            print(json.dumps({
                "benchmark": "serving", "batch": batch,
                **{name: {"p50_ms": round(float(np.percentile(s, 50)), 3), "p99_ms": round(float(np.percentile(s, 99)), 3)}
                   for name, s in samples.items()},
                "cpu_count": os.cpu_count(), "machine": platform.machine(),
            }), flush=True)


if __name__ == "__main__":
    main()
