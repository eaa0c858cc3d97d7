"""Interleaved timing: every candidate runs once per round, in turn, so that
drift on a shared machine touches all of them alike. Reports medians."""

import statistics
import time


def interleaved(candidates, rounds, repeats):
    """`candidates` maps a name to a zero-argument callable (already warmed up).
    Returns {name: {"median_ms", "min_ms", "max_ms"}} of the per-call time."""
    samples = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
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
