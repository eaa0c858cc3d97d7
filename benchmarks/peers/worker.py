"""A peer's timing worker: runs in the peers' environment (torch, neuralforecast; never tsgate's),
started by `benchmarks.peers.compare` as a subprocess. It builds one peer model and then answers
commands on stdin, one per line, so that the parent can interleave it with tsgate's candidates:

    train N   ->  @@ {"ms": [...]}   N timed training steps (forward, MSE, backward, Adam)
    infer N   ->  @@ {"ms": [...]}   N timed inference passes (eval mode, no_grad)
    quit

Peers (`--peer`):
    segrnn   SegRNN's reference model, imported from `--segrnn-dir` (`models/SegRNN.py` there, as
             upstream wrote it), in its ETTh1 configuration: GRU, dec_way pmf, channel_id 1,
             revin 0, dropout 0.1; Adam at 3e-4 as its script; batch `--batch` windows of
             `--channels` channels.
    nf_gru   NeuralForecast's `GRU` (its defaults: 2 layers of 200 units, MLP decoder 2x128),
             input_size L, h H, MSE loss, Adam at its default 1e-3. NeuralForecast models are
             univariate: a batch of `--batch` windows of `--channels` series is `batch*channels`
             univariate windows, fed to the model's own `forward` (its module, not its Lightning
             loop: the loop's window sampling and scaling are left out, which favours the peer).
    nf_fit   one-off: the wall time of `NeuralForecast.fit` for two `max_steps` values on a
             synthetic frame of `--channels` series of `--rows` hourly rows, windows_batch_size
             `batch*channels`; the difference over the extra steps is its per-step time with
             its own data loading. Prints one `@@` line and exits.

The first line on stdout that starts with `@@` after start-up is `@@ {"ready": ...}`.
"""

import argparse
import json
import os
import statistics
import sys
import time
import types


def reply(value):
    print("@@ " + json.dumps(value), flush=True)


def segrnn(a, torch):
    sys.path.insert(0, os.path.abspath(a.segrnn_dir))
    from models.SegRNN import Model  # noqa: E402  (the peer's file, imported in place)

    cfg = types.SimpleNamespace(seq_len=a.seq_len, pred_len=a.pred_len, enc_in=a.channels, d_model=a.d_model,
                                dropout=0.1, rnn_type="gru", dec_way="pmf", seg_len=a.seg_len, channel_id=1, revin=0)
    model = Model(cfg)
    opt = torch.optim.Adam(model.parameters(), 3e-4)
    x = torch.randn(a.batch, a.seq_len, a.channels)
    y = torch.randn(a.batch, a.pred_len, a.channels)
    return model, opt, (lambda: model(x)), y, sum(p.numel() for p in model.parameters())


def nf_gru(a, torch):
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import GRU

    model = GRU(h=a.pred_len, input_size=a.seq_len, loss=MSE(), random_seed=0, enable_progress_bar=False,
                logger=False)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    n = a.batch * a.channels
    empty = torch.zeros(n, a.seq_len, 0)
    batch = {"insample_y": torch.randn(n, a.seq_len, 1), "insample_mask": torch.ones(n, a.seq_len, 1),
             "futr_exog": torch.zeros(n, a.seq_len + a.pred_len, 0), "hist_exog": empty,
             "stat_exog": torch.zeros(n, 0)}
    y = torch.randn(n, a.pred_len, 1)
    return model, opt, (lambda: model(batch)), y, sum(p.numel() for p in model.parameters())


def nf_fit(a):
    import logging

    import numpy as np
    import pandas as pd
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import GRU

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    rng = np.random.default_rng(0)
    stamps = pd.date_range("2016-07-01", periods=a.rows, freq="h")
    df = pd.concat([pd.DataFrame({"unique_id": f"s{c}", "ds": stamps,
                                  "y": np.cumsum(rng.standard_normal(a.rows)).astype("float32")})
                    for c in range(a.channels)])
    walls = {}
    for steps in a.fit_steps:
        model = GRU(h=a.pred_len, input_size=a.seq_len, loss=MSE(), max_steps=steps, batch_size=a.channels,
                    windows_batch_size=a.batch * a.channels, random_seed=0, enable_progress_bar=False, logger=False,
                    enable_model_summary=False, enable_checkpointing=False, accelerator="cpu")
        start = time.perf_counter()
        NeuralForecast(models=[model], freq="h").fit(df)
        walls[steps] = (time.perf_counter() - start) * 1e3
    lo, hi = min(walls), max(walls)
    reply({"fit_wall_ms": {str(k): round(v, 1) for k, v in walls.items()},
           "train_step_ms": round((walls[hi] - walls[lo]) / (hi - lo), 2)})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--peer", choices=("segrnn", "nf_gru", "nf_fit"), required=True)
    p.add_argument("--segrnn-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                                        "peers", "segrnn"))
    p.add_argument("--seq-len", type=int, default=720)
    p.add_argument("--pred-len", type=int, default=96)
    p.add_argument("--channels", type=int, default=7)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seg-len", type=int, default=24)
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rows", type=int, default=8640 + 96)
    p.add_argument("--fit-steps", type=int, nargs=2, default=(1, 3))
    a = p.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.peer == "nf_fit":
        nf_fit(a)
        return
    model, opt, forward, y, params = (segrnn if a.peer == "segrnn" else nf_gru)(a, torch)

    def train():
        model.train()
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(forward(), y)
        loss.backward()
        opt.step()

    def infer():
        model.eval()
        with torch.no_grad():
            forward()

    for fn in (train, infer):  # warm-up (the parent warms up further)
        fn()
    reply({"ready": a.peer, "torch": torch.__version__, "threads": torch.get_num_threads(), "parameters": params})
    for line in sys.stdin:
        command, *count = line.split()
        if command == "quit":
            break
        fn = train if command == "train" else infer
        times = []
        for _ in range(int(count[0]) if count else 1):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
        reply({"ms": times, "median_ms": statistics.median(times)})


if __name__ == "__main__":
    main()
