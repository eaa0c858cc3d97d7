"""tsgate's segment-recurrent forecaster against its peers, SegRNN's reference
PyTorch model and NeuralForecast's GRU, at SegRNN's ETTh1 configuration
(lookback 720, horizon 96, 7 channels, batch 64 windows, segment 24, 512
units): one training step (forward, MSE, backward, Adam) and one inference
pass, interleaved rounds (every candidate once per round, shuffled order).

tsgate runs in this process (the "segment" builder, compiled as
`Forecaster.fit` compiles it), float32 and `mixed_bfloat16`, each with and
without `jit_compile=True`. The peers run in their own environment
(`--peers-python`, see benchmarks/peers/README.md) as `worker.py`
subprocesses that wait for a command while the others run, so that at most
one candidate computes at a time. Without that environment the peers are
skipped (tsgate alone is timed).

One JSON line per measurement, then a Markdown table (`--markdown FILE`
also writes it): median and min ms per call, ms per ETTh1 epoch
(`--train-windows` ≈ 7,825 windows of 720 + 96 in ETTh1's 12-month training
split: steps × train step; plus the validation pass: `--val-windows` ÷ batch
inference passes), and tsgate's ratio to each peer (below 1: tsgate faster).

    python -m benchmarks.peers.compare --peers-python /work/peers-venv/bin/python
"""

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SEGRNN = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "peers", "segrnn"))


class Worker:
    """A peer's worker.py subprocess; `run(mode, n)` → per-call ms."""

    def __init__(self, python, peer, args):
        command = [python, os.path.join(HERE, "worker.py"), "--peer", peer, "--segrnn-dir", args.segrnn_dir,
                   "--seq-len", str(args.lookback), "--pred-len", str(args.horizon), "--channels", str(args.channels),
                   "--batch", str(args.batch), "--seg-len", str(args.segment), "--d-model", str(args.units),
                   "--threads", str(args.threads)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.info = self._read()

    def _read(self):
        for line in self.process.stdout:
            if line.startswith("@@ "):
                return json.loads(line[3:])
        raise RuntimeError(f"peer worker exited with {self.process.wait()}")

    def run(self, mode, n):
        self.process.stdin.write(f"{mode} {n}\n")
        return self._read()["ms"]

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)


def tsgate_model(args, policy, jit):
    """The "segment" builder's model, compiled as `Forecaster.fit` compiles it
    (`compile_masked`, Adam, MSE), built under dtype policy `policy`."""
    from tsgate.layout import ModelSpec
    from tsgate.models import BUILDERS, training_loss
    from tsgate.training import MaskedLoss, ObservedLoss

    spec = ModelSpec(args.lookback, args.horizon, args.channels, 0, 0, 0, None)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = BUILDERS["segment"](spec, cell="gru", units=args.units, layers=1, segment_length=args.segment,
                                    normalization="last", channel_embedding=True, dropout=0.1)
    finally:
        keras.config.set_dtype_policy(previous)
    masked = MaskedLoss(training_loss("mse", None))
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=masked, metrics=[ObservedLoss(masked)],
                  jit_compile=jit)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers-python", default=os.environ.get("TSGATE_PEERS_PYTHON", "/work/peers-venv/bin/python"),
                        help="python of the peers' environment (torch, neuralforecast)")
    parser.add_argument("--segrnn-dir", default=DEFAULT_SEGRNN)
    parser.add_argument("--peers", nargs="*", default=["segrnn", "nf_gru"], choices=["segrnn", "nf_gru"])
    parser.add_argument("--policies", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--jit", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument("--lookback", type=int, default=720)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--channels", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--segment", type=int, default=24)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2, help="the peers' torch threads")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sample-ms", type=float, default=600.0,
                        help="each sample repeats a call until about this long (measured at warm-up)")
    parser.add_argument("--train-windows", type=int, default=8640 - 720 - 96 + 1)
    parser.add_argument("--val-windows", type=int, default=2880 - 96 + 1)
    parser.add_argument("--nf-fit", action="store_true",
                        help="also time NeuralForecast.fit (its Lightning loop and data loading) per step, once")
    parser.add_argument("--markdown", help="also write the table here")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.lookback, args.channels)).astype("float32")
    y = rng.normal(size=(args.batch, args.horizon, args.channels)).astype("float32")
    keras.utils.set_random_seed(0)

    calls, info = {}, {}
    for policy in args.policies:
        for jit in args.jit:
            name = f"tsgate {policy}" + (" jit" if jit == "on" else "")
            model = tsgate_model(args, policy, jit == "on")
            info[name] = {"parameters": model.count_params(), "policy": policy, "jit_compile": jit == "on"}
            calls[name] = {"train": lambda n, m=model: _timed(lambda: m.train_on_batch({"past_target": x}, y), n),
                           "inference": lambda n, m=model: _timed(lambda: m.predict_on_batch({"past_target": x}), n)}
    workers = []
    have_peers = args.peers and os.path.exists(args.peers_python)
    if args.peers and not have_peers:
        print(f"# no peers' python at {args.peers_python}: peers skipped (see benchmarks/peers/README.md)",
              file=sys.stderr)
    if have_peers:
        labels = {"segrnn": "SegRNN PyTorch", "nf_gru": "NeuralForecast GRU"}
        for peer in args.peers:
            worker = Worker(args.peers_python, peer, args)
            workers.append(worker)
            info[labels[peer]] = worker.info
            calls[labels[peer]] = {"train": lambda n, w=worker: w.run("train", n),
                                   "inference": lambda n, w=worker: w.run("infer", n)}
    try:
        repeats = {}
        for name, modes in calls.items():  # trace, warm up, and size the samples
            for mode, fn in modes.items():
                once = fn(1)[0]  # the first call traces (tsgate) or is a warm-up
                if once < 2 * args.sample_ms:  # a slow candidate (NeuralForecast's GRU) needs no more warm-up
                    once = statistics.median(fn(3))
                repeats[(name, mode)] = max(1, round(args.sample_ms / once))
        samples = {key: [] for key in repeats}
        order = list(repeats)
        shuffle = random.Random(0).shuffle
        started = time.perf_counter()
        for round_ in range(args.rounds):
            shuffle(order)
            for name, mode in order:
                samples[(name, mode)].append(statistics.mean(calls[name][mode](repeats[(name, mode)])))
            print(f"# round {round_ + 1}/{args.rounds}: " + ", ".join(
                f"{name} {mode} {samples[(name, mode)][-1]:.0f} ms" for name, mode in sorted(samples)),
                file=sys.stderr, flush=True)
        wall = time.perf_counter() - started
        nf_fit = _nf_fit(args) if have_peers and args.nf_fit else None
    finally:
        for worker in workers:
            worker.close()

    medians = {key: statistics.median(s) for key, s in samples.items()}
    steps = math.ceil(args.train_windows / args.batch)
    val_steps = math.ceil(args.val_windows / args.batch)
    common = {"lookback": args.lookback, "horizon": args.horizon, "channels": args.channels, "batch": args.batch,
              "segment": args.segment, "units": args.units, "rounds": args.rounds, "cpu_count": os.cpu_count(),
              "machine": platform.machine(), "keras": keras.__version__, "backend": keras.backend.backend()}
    peers = [name for name in calls if not name.startswith("tsgate")]
    rows = []
    for name in calls:
        train, inference = medians[(name, "train")], medians[(name, "inference")]
        line = {"benchmark": "segment_vs_peers", "candidate": name, **info[name],
                "train_step_ms": round(train, 1), "train_step_min_ms": round(min(samples[(name, "train")]), 1),
                "inference_ms": round(inference, 1),
                "inference_min_ms": round(min(samples[(name, "inference")]), 1),
                "repeats": [repeats[(name, "train")], repeats[(name, "inference")]],
                "epoch_train_s": round(steps * train / 1e3, 1),
                "epoch_with_validation_s": round((steps * train + val_steps * inference) / 1e3, 1),
                **common}
        for peer in peers:
            if name.startswith("tsgate"):
                line[f"train_ratio_vs_{peer}"] = round(train / medians[(peer, "train")], 3)
                line[f"inference_ratio_vs_{peer}"] = round(inference / medians[(peer, "inference")], 3)
        print(json.dumps(line), flush=True)
        rows.append(line)
    if nf_fit is not None:
        nf_line = {"benchmark": "segment_vs_peers", "candidate": "NeuralForecast GRU (NeuralForecast.fit)", **nf_fit,
                   "epoch_train_s": round(steps * nf_fit["train_step_ms"] / 1e3, 1), **common}
        print(json.dumps(nf_line), flush=True)
    table = _markdown(rows, peers, steps, val_steps, args, wall, nf_fit)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    return rows


def _timed(fn, n):
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def _nf_fit(args):
    command = [args.peers_python, os.path.join(HERE, "worker.py"), "--peer", "nf_fit", "--seq-len",
               str(args.lookback), "--pred-len", str(args.horizon), "--channels", str(args.channels), "--batch",
               str(args.batch), "--threads", str(args.threads)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("@@ ")][-1][3:])


def _markdown(rows, peers, steps, val_steps, args, wall, nf_fit):
    head = ["candidate", "train step ms (min)", "inference ms (min)", "epoch s (train / + validation)"]
    head += [f"train / epoch ratio vs {p}" for p in peers] + [f"inference ratio vs {p}" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["candidate"], f"{r['train_step_ms']:.0f} ({r['train_step_min_ms']:.0f})",
                 f"{r['inference_ms']:.0f} ({r['inference_min_ms']:.0f})",
                 f"{r['epoch_train_s']:.1f} / {r['epoch_with_validation_s']:.1f}"]
        cells += [f"**{r[f'train_ratio_vs_{p}']:.2f}** / {_epoch_ratio(r, rows, p):.2f}" if f"train_ratio_vs_{p}" in r
                  else "" for p in peers]
        cells += [f"{r[f'inference_ratio_vs_{p}']:.2f}" if f"inference_ratio_vs_{p}" in r else "" for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"\nL={args.lookback}, H={args.horizon}, {args.channels} channels, batch {args.batch}, segment "
             f"{args.segment}, {args.units} units; {args.rounds} interleaved rounds ({wall:.0f} s); an ETTh1 epoch = "
             f"{steps} training steps + {val_steps} validation passes; ratios of medians (below 1: tsgate faster)."]
    if nf_fit is not None:
        notes.append(f"NeuralForecast.fit (its own loop and window sampling): {nf_fit['train_step_ms']:.0f} ms a "
                     f"step of {args.batch * args.channels} univariate windows.")
    return "\n".join(lines) + "\n" + "\n".join(notes) + "\n"


def _epoch_ratio(row, rows, peer):
    other = next(r for r in rows if r["candidate"] == peer)
    return row["epoch_with_validation_s"] / other["epoch_with_validation_s"]


if __name__ == "__main__":
    main()
