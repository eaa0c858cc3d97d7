"""Serving latency of an exported forecaster (the demo's model: GRU 32 units,
lookback 96, horizon 24, quantile head): p50/p99 of the portable
`serving_default` and the XLA `serving_xla` signatures, loaded with
`tf.saved_model.load`, against `model.predict`, at batch 1 and 64, in one run
with interleaved calls. TF Serving itself runs the same graph from C++.

    python -m benchmarks.serving
"""

import argparse
import json
import os
import platform
import random
import tempfile
import time

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from tsgate import Forecaster, datasets

    df = datasets.load_sensor().iloc[: 16 * 30 * 24]
    forecaster = Forecaster("OT", lookback=96, horizon=24, units=32, calendar=["hour"], quantiles=(0.1, 0.5, 0.9))
    forecaster.fit(df, epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        loaded = tf.saved_model.load(forecaster.export(tmp, version=1, xla=True))
        inputs, _ = forecaster.serving_inputs(df)
        for batch in (1, 64):
            raw = {k: tf.constant(np.repeat(v, batch, axis=0)) for k, v in inputs.items()}
            batch_inputs = {k: np.repeat(v, batch, axis=0) for k, v in inputs.items()}
            calls = {
                "portable": lambda: loaded.signatures["serving_default"](**raw),
                "xla": lambda: loaded.signatures["serving_xla"](**raw),
                "model.predict": lambda: forecaster.raw_model_.predict(batch_inputs, verbose=0),
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
