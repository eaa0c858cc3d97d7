"""Returns targets against price targets on daily prices: the same model
fitted on the prices (`target_transform=None`), on log returns and on
differences from the origin, scored in prices next to the naive last price.

Protocol, per dataset and seed: the rows split 60 / 20 / 20 % in time
(training, validation for early stopping, test; `benchmarks.intervals`'
split); a GRU forecaster (lookback 20 trading days, horizon 5, 32 units,
MSE, up to 50 epochs, patience 5) fitted on the rows before the test part;
`evaluate(df, test=test start)`: MAE, RMSE, MASE and direction (the share of
steps whose move from the origin the forecast gets right) over every test
window, in prices. Reported as mean ± std over seeds; nothing is chosen on
the test part.

| data | target | rows | source |
|---|---|---|---|
| goog | close | 1,043 business days, 2004-2008 | `tsgate.datasets.load_stock()` (matplotlib's sample data) |
| vix-daily | CLOSE | 9,235 trading days, 1990-2026 | `../shared/datasets/vix-daily.csv` |

    python -m benchmarks.returns --data-dir ../shared/datasets --seeds 1 2 3 \\
        --out benchmarks/results/returns.json --markdown benchmarks/results/returns.md
"""

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.intervals import load

DATASETS = {"goog": "close", "vix-daily": "CLOSE"}  # name: target
TRANSFORMS = (None, "log_return", "diff")
LOOKBACK, HORIZON = 20, 5


def frame(name, data_dir):
    """The dataset's target column, indexed by time."""
    if name == "goog":
        from tsgate import datasets

        return datasets.load_stock()[[DATASETS[name]]]
    path = Path(data_dir) / f"{name}.csv"
    if not path.is_file():
        raise SystemExit(f"benchmarks.returns: {path} does not exist (--data-dir).")
    return load(path, DATASETS[name])


def run(name, df, seed):
    """One record: every transform's and the naive baseline's test metrics on `df`."""
    from tsgate import Forecaster

    validation_start, test_start = df.index[int(len(df) * 0.6)], df.index[int(len(df) * 0.8)]
    record = {"dataset": name, "seed": seed, "rows": len(df), "test_start": str(test_start), "models": {}}
    for transform in TRANSFORMS:
        forecaster = Forecaster(DATASETS[name], lookback=LOOKBACK, horizon=HORIZON, units=32, seed=seed,
                                target_transform=transform)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "tsgate: .*far outside", UserWarning)  # VIX's spikes
            forecaster.fit(df[df.index < test_start], validation=validation_start, epochs=50, patience=5, verbose=0)
            table = forecaster.evaluate(df, test=test_start)
        seconds = time.perf_counter() - started
        columns = ["MAE", "RMSE", "MASE", "direction"]
        record["models"][str(transform)] = {**table.loc["tsgate", columns].to_dict(), "fit_and_score_s": seconds,
                                            "epochs": len(forecaster.history_.history["loss"])}
        record["models"]["naive"] = table.loc["naive", columns].to_dict()
    return record


def markdown(records):
    """The table: mean ± std over seeds of each metric, per dataset and model."""
    rows = ["| data | model | MAE | RMSE | MASE | direction % | seeds |", "|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["dataset"] for r in records):
        runs = [r for r in records if r["dataset"] == name]
        for model in ["naive", *map(str, TRANSFORMS)]:
            cells = []
            for metric in ("MAE", "RMSE", "MASE", "direction"):
                values = np.array([r["models"][model][metric] for r in runs], float)
                cells.append("–" if np.isnan(values).all() else f"{values.mean():.4g} ± {values.std():.2g}")
            label = {"None": "prices (no transform)", "naive": "naive (last price)"}.get(model, model)
            rows.append(f"| {name} | {label} | {' | '.join(cells)} | {len(runs)} |")
    return "\n".join(rows) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--out", default="returns.json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    records = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else []
    done = {(r["dataset"], r["seed"]) for r in records}
    for name in args.datasets:
        df = frame(name, args.data_dir)
        for seed in args.seeds:
            if (name, seed) not in done:
                records.append({**run(name, df, seed), "machine": f"{platform.machine()}, {os.cpu_count()} cores"})
                Path(args.out).write_text(json.dumps(records, indent=1))
    table = markdown(records)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)


if __name__ == "__main__":
    main()
