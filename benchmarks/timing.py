"""Interleaved timing: every candidate runs once per round, in a shuffled
order, so that drift on a shared machine touches all of them alike. Reports
medians and the spread."""

import json
import os
import platform
import random
import statistics
import time


def interleaved(candidates, rounds, repeats):
    """`candidates` maps a name to a zero-argument callable (already warmed up).
    Returns {name: {"median_ms", "min_ms", "max_ms"}} of the per-call time."""
    samples = {name: [] for name in candidates}
    order = list(candidates)
    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            fn = candidates[name]
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            samples[name].append((time.perf_counter() - start) / repeats * 1e3)
    return {
        name: {
            "median_ms": round(statistics.median(s), 3),
            "min_ms": round(min(s), 3),
            "max_ms": round(max(s), 3),
        }
        for name, s in samples.items()
    }


def report(benchmark, times, ours, reference, **fields):
    """Prints one JSON line with both timings and their ratio of medians."""
    import keras

    line = {
        "benchmark": benchmark,
        **fields,
        ours: times[ours],
        reference: times[reference],
        "ratio": round(times[ours]["median_ms"] / times[reference]["median_ms"], 3),
        "backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    print(json.dumps(line), flush=True)
    return line
