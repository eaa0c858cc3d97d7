"""NeuralForecast's batch forecast of a panel, for `benchmarks.scale`: run
in the peers' environment (torch, neuralforecast; never tsgate's).

    /work/peers-venv/bin/python benchmarks/peers/nf_predict.py PANEL.parquet [--threads 2]

`neuralforecast.models.GRU` sized like the scale benchmark's tsgate model
(one layer of 16 units, a 16-unit MLP decoder, input_size 24, h 6, MSE),
fitted for a few steps on 16 hourly sines of 200 rows, as tsgate's model
is (only its speed is compared), then the Parquet file read (columns time, site, y) and
`NeuralForecast.predict(df=panel)` of every series timed together, as
tsgate's `predict_chunked` of the file is: one JSON line, series/s (and
the seconds of the read alone) and peak memory.
"""

import argparse
import json
import logging
import time
import warnings


def peak_mib():
    """This process's peak resident set size in MiB (VmHWM: unlike
    `ru_maxrss`, not inherited from the process that started this one)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("panel")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lookback", type=int, default=24)
    parser.add_argument("--horizon", type=int, default=6)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import numpy as np
    import pandas as pd
    import torch
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MSE
    from neuralforecast.models import GRU

    torch.set_num_threads(args.threads)
    t = np.arange(200)
    first = pd.DataFrame({"unique_id": np.repeat([f"t{k}" for k in range(16)], 200),
                          "ds": np.tile(pd.date_range("2024-01-01", periods=200, freq="h"), 16),
                          "y": np.sin(2 * np.pi * t / 24 + np.arange(16)[:, None]).ravel()})
    model = GRU(h=args.horizon, input_size=args.lookback, encoder_n_layers=1, encoder_hidden_size=16,
                decoder_hidden_size=16, decoder_layers=1, loss=MSE(), max_steps=5, scaler_type="standard",
                enable_progress_bar=False, enable_model_summary=False, logger=False, accelerator="cpu")
    forecaster = NeuralForecast(models=[model], freq="h")
    forecaster.fit(first)
    before = peak_mib()
    start = time.perf_counter()
    panel = pd.read_parquet(args.panel).rename(columns={"site": "unique_id", "time": "ds"})
    read = time.perf_counter() - start
    n_series = panel["unique_id"].nunique()
    forecast = forecaster.predict(df=panel)
    seconds = time.perf_counter() - start
    assert len(forecast) == n_series * args.horizon, len(forecast)
    print(json.dumps({"where": "neuralforecast", "series": n_series, "seconds": seconds,
                      "series_per_s": n_series / seconds, "read_seconds": read, "rss_before_mib": before,
                      "peak_rss_mib": peak_mib(),
                      "neuralforecast": __import__("neuralforecast").__version__, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
