"""Keeping a forecaster current (`Forecaster.update`) against refitting it
and against leaving it stale, walking forward month by month.

Protocol, per dataset and seed: the `long_horizon` preset (univariate) is
fitted on the rows before the walk (its validation the last fifth of them).
Then for each calendar month of the walk, every model is scored on the
windows whose targets lie in that month (`evaluate(df up to the month's end,
test=month start)`, MAE and MSE in raw units), and then brought up to the
month's end:
- "stale": never touched;
- "update" (and each variant of `--variants`): `update(rows up to the
  month's end)` from the previous month's weights, the scaler kept;
- "refit": a new forecaster of the same preset and seed fitted from scratch
  on every row up to the month's end.
Reported: the error of each over the walk (mean of the months), and the wall
time of each month's update and refit, in the same run.

| data | target | horizon | fitted before the walk | walk |
|---|---|---|---|---|
| ETTm1 | OT | 96 (a day) | 12 months of 30 days | the next `--months` calendar months |
| vix-daily | CLOSE | 5 (a week of trading days) | the first 80 % of the rows | the same |

    python -m benchmarks.updates --data-dir ../shared/datasets --seeds 1 \\
        --out benchmarks/results/updates.json --markdown benchmarks/results/updates.md
"""

import argparse
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from benchmarks.intervals import load
from benchmarks.records import run_missing

DATASETS = {  # file stem: (target, horizon, rows fitted before the walk: a number of rows, or a share)
    "ETTm1": ("OT", 96, 12 * 30 * 96),
    "vix-daily": ("CLOSE", 5, 0.8),
}
VARIANTS = {"update": {}, "update, replay 0.5": {"replay": 0.5}, "update, 3x rate": {"rate": 3}}


def month_starts(df, fitted_rows, months):
    """The `months + 1` month starts bounding the walk: the first after the fitted rows, then each month's."""
    first = (df.index[fitted_rows - 1] + pd.offsets.MonthBegin(1)).normalize()
    return list(pd.date_range(first, periods=months + 1, freq="MS"))


def scores(forecaster, df, start, end):
    """{"MAE", "MSE"} of the windows with targets in [start, end)."""
    row = forecaster.evaluate(df[df.index < end], test=start).loc["tsgate"]
    return {"MAE": float(row["MAE"]), "MSE": float(row["RMSE"]) ** 2}


def run(name, path, seed, months, epochs=None):
    """One seed on one dataset: per month, the scores of every model and the times of each step."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "tsgate: .*far outside", UserWarning)  # VIX's spikes
        return walk(name, path, seed, months, epochs)


def walk(name, path, seed, months, epochs):
    """`run` without its warnings filter."""
    from tsgate import Forecaster, presets

    target, horizon, fitted = DATASETS[name]
    df = load(path, target)
    fitted_rows = fitted if isinstance(fitted, int) else int(len(df) * fitted)
    bounds = month_starts(df, fitted_rows, months)
    df = df[df.index < bounds[-1]]
    options = {**presets.fit_options("long_horizon"), "validation": 0.2, "verbose": 0}
    if epochs is not None:
        options["epochs"] = epochs

    def fit(rows):
        forecaster = presets.make("long_horizon", target, horizon=horizon, seed=seed)
        start = time.perf_counter()
        forecaster.fit(rows, **options)
        return forecaster, time.perf_counter() - start

    stale, fit_seconds = fit(df[df.index < bounds[0]])
    with tempfile.TemporaryDirectory() as directory:
        saved = stale.save(os.path.join(directory, "initial"))
        chains = {variant: Forecaster.load(saved) for variant in VARIANTS}
    refit = stale
    record = {"dataset": name, "target": target, "horizon": horizon, "seed": seed, "lookback": stale.lookback_,
              "fit_seconds": round(fit_seconds, 1), "months": [],
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    for start, end in zip(bounds[:-1], bounds[1:]):
        month = {"month": start.strftime("%Y-%m"), "stale": scores(stale, df, start, end),
                 "refit": scores(refit, df, start, end)}
        for variant, forecaster in chains.items():
            month[variant] = scores(forecaster, df, start, end)
        if end < bounds[-1]:  # bring every model up to the month's end for the next
            rows = df[df.index < end]
            for variant, forecaster in chains.items():
                settings = dict(VARIANTS[variant])
                if "rate" in settings:
                    settings["learning_rate"] = settings.pop("rate") * forecaster.learning_rate * 0.1
                begun = time.perf_counter()
                forecaster.update(rows, **settings)
                month[variant]["next_seconds"] = round(time.perf_counter() - begun, 2)
                month[variant]["next_kept"] = forecaster.updates_[-1]["kept"]
            refit, seconds = fit(rows)
            month["refit"]["next_seconds"] = round(seconds, 2)
        record["months"].append(month)
        print(f"{name} {month['month']}: MAE " + ", ".join(
            f"{model} {month[model]['MAE']:.4f}" for model in ("stale", "refit", *VARIANTS)), flush=True)
    return record


def summary(record):
    """{model: {"MAE", "MSE", "seconds"}}: the mean over the walk's months (seconds: of the steps taken)."""
    models = ("stale", "refit", *VARIANTS)
    months = record["months"]
    out = {}
    for model in models:
        steps = [m[model]["next_seconds"] for m in months if "next_seconds" in m[model]]
        out[model] = {metric: sum(m[model][metric] for m in months) / len(months) for metric in ("MAE", "MSE")}
        out[model]["seconds"] = sum(steps) / len(steps) if steps else None
    return out


def markdown(records):
    """The table: per dataset and seed, each model's walk MAE and MSE, relative to the refit, and seconds a month."""
    lines = ["| data | H | seed | months | model | MAE | MSE | MSE / refit's | seconds a month | / refit's |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for record in records:
        table = summary(record)
        refit = table["refit"]
        for model, row in table.items():
            seconds = "" if row["seconds"] is None else f"{row['seconds']:.1f}"
            share = "" if row["seconds"] is None else f"{row['seconds'] / refit['seconds']:.3f}"
            lines.append(f"| {record['dataset']} | {record['horizon']} | {record['seed']} | {len(record['months'])} | "
                         f"{model} | {row['MAE']:.4f} | {row['MSE']:.4f} | {row['MSE'] / refit['MSE']:.3f} | "
                         f"{seconds} | {share} |")
    return "\n".join(lines + ["", "Errors: mean over the walk's months of each month's windows, raw units. Seconds: "
                              "the mean wall time of bringing the model up to a month's end (an update or a fit "
                              "from scratch), measured in the same run."]) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/datasets", help="directory of ETTm1.csv, vix-daily.csv")
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--months", type=int, default=4, help="months walked (default 4)")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs (quick checks)")
    parser.add_argument("--out", default="updates.json", help="JSON of every run, rewritten after each")
    parser.add_argument("--markdown", help="also write the Markdown table here")
    args = parser.parse_args(argv)
    records = run_missing(args.out, args.data_dir, args.datasets, args.seeds,
                          lambda name, path, seed: run(name, path, seed, args.months, args.epochs), "updates")
    table = markdown(records)
    if args.markdown:
        Path(args.markdown).write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
