"""Forecast intervals before and after conformal calibration
(`tsgate.calibration`), through the public API: coverage and width of the
80 % and 90 % central intervals on a chronological test part.

Protocol, per dataset and seed: the `long_horizon` preset with a quantile
head (0.05, 0.1, 0.5, 0.9, 0.95) is fitted on the train and validation rows
(early stopping on the validation windows); "before" scores its head as
trained; then `forecaster.calibrate(rows before the test, start=validation
cut-off, method=...)` calibrates it on the validation windows (the windows
that `Forecaster(calibration=...)` uses at fit) and the same weights are
scored again: "conformal" (split conformal, fixed shifts) and "adaptive" (the
shifts tracked through the test windows as their actuals arrive, replayed by
`evaluate`). Scored: every window whose targets lie in the test rows
(`evaluate(by="horizon")`), coverage averaged over horizon steps and its worst
step, mean width in raw units, CRPS (from the quantiles).

| data | target | horizon | train / validation / test |
|---|---|---|---|
| ETTh1 | OT | 24 (a day) | 12 / 4 / 4 months of 30 days, as the literature |
| ETTm1 | OT | 96 (a day) | the same months |
| vix-daily | CLOSE | 5 (a week of trading days) | 60 / 20 / 20 % of the rows |

    python -m benchmarks.intervals --data-dir ../shared/datasets --seeds 1 2 3 \\
        --out benchmarks/results/intervals.json --markdown benchmarks/results/intervals.md
"""

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import pandas as pd

from benchmarks.records import run_missing

LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)
STATES = ("before", "conformal", "adaptive")
INTERVALS = {"80": "0.1-0.9", "90": "0.05-0.95"}
MONTH_ROWS = {"h": 30 * 24, "15min": 30 * 96}
DATASETS = {  # file stem: (target, horizon, frequency, split)
    "ETTh1": ("OT", 24, "h", "ett"),
    "ETTm1": ("OT", 96, "15min", "ett"),
    "vix-daily": ("CLOSE", 5, None, "rows"),
}


def load(path, target):
    """The target column of the CSV at `path`, indexed by its first column's timestamps."""
    frame = pd.read_csv(path)
    time_column = frame.columns[0]
    return frame[[target]].set_index(pd.DatetimeIndex(pd.to_datetime(frame[time_column]), name="time"))


def borders(name, df):
    """(validation start, test start, end) timestamps of `name`'s split."""
    target, horizon, freq, split = DATASETS[name]
    if split == "ett":
        month = MONTH_ROWS[freq]
        rows = (12 * month, 16 * month, 20 * month)
    else:
        rows = (int(len(df) * 0.6), int(len(df) * 0.8), len(df))
    return df.index[rows[0]], df.index[rows[1]], rows[2]


def interval_scores(forecaster, df, test_start):
    """{"coverage 80", "worst step 80", "width 80", ... "CRPS"} of the
    forecaster's quantiles on the windows with targets from `test_start`."""
    table = forecaster.evaluate(df, test=test_start, by="horizon").xs("tsgate", level="model")
    scores = {"CRPS": float(table["CRPS"].mean())}
    for nominal, name in INTERVALS.items():
        scores[f"coverage {nominal}"] = float(table[f"coverage {name}"].mean())
        scores[f"worst step {nominal}"] = float(table[f"coverage {name}"].min())
        scores[f"width {nominal}"] = float(table[f"width {name}"].mean())
    return scores


def run(name, path, seed, epochs=None):
    """One seed on one dataset: the record of both states of the intervals."""
    from tsgate import presets

    target, horizon, _, _ = DATASETS[name]
    df = load(path, target)
    validation_start, test_start, end = borders(name, df)
    df = df.iloc[:end]
    fitted_rows = df[df.index < test_start]
    forecaster = presets.make("long_horizon", target, horizon=horizon, quantiles=LEVELS, seed=seed)  # lookback "auto"
    options = presets.fit_options("long_horizon")
    if epochs is not None:
        options["epochs"] = epochs
    start = time.perf_counter()
    forecaster.fit(fitted_rows, validation=validation_start, verbose=0, **options)
    fit_seconds = time.perf_counter() - start
    record = {"dataset": name, "target": target, "horizon": horizon, "seed": seed, "lookback": forecaster.lookback_,
              "fit_seconds": round(fit_seconds, 1), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "tsgate: .*far outside", UserWarning)  # VIX's spikes
        warnings.filterwarnings("ignore", "tsgate: .*too narrow", UserWarning)  # the validation windows, on purpose
        start = time.perf_counter()
        record["before"] = interval_scores(forecaster, df, test_start)
        record["evaluate_seconds"] = round(time.perf_counter() - start, 2)
        for method in STATES[1:]:
            start = time.perf_counter()
            forecaster.calibrate(fitted_rows, start=validation_start, method=method)
            record[f"{method}_calibration_seconds"] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
            record[method] = interval_scores(forecaster, df, test_start)
            record[f"{method}_evaluate_seconds"] = round(time.perf_counter() - start, 2)
    record["calibration_windows"] = forecaster.calibration_.windows
    return record


def markdown(records):
    """The table: mean ± std over seeds of each score, in each state."""
    frame = pd.json_normalize(records)
    lines = ["| data | H | seeds | calibration windows | intervals | coverage 80 % (worst step) | width 80 % | "
             "coverage 90 % (worst step) | width 90 % | CRPS | fit s | calibration s | evaluate s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(rows, column, digits=3):
        values = rows[column].to_numpy(float)
        std = f" ± {values.std(ddof=1):.{digits}f}" if len(values) > 1 else ""
        return f"{values.mean():.{digits}f}{std}"

    for (name, horizon), rows in frame.groupby(["dataset", "horizon"], sort=False):
        for state in STATES:
            fitting = cell(rows, "fit_seconds", 0) if state == "before" else ""
            calibrating = "" if state == "before" else cell(rows, f"{state}_calibration_seconds", 2)
            evaluating = cell(rows, "evaluate_seconds" if state == "before" else f"{state}_evaluate_seconds", 2)
            lines.append(
                f"| {name} | {horizon} | {len(rows)} | {int(rows['calibration_windows'].mean())} | {state} | "
                f"{cell(rows, f'{state}.coverage 80')} ({cell(rows, f'{state}.worst step 80')}) | "
                f"{cell(rows, f'{state}.width 80')} | {cell(rows, f'{state}.coverage 90')} "
                f"({cell(rows, f'{state}.worst step 90')}) | {cell(rows, f'{state}.width 90')} | "
                f"{cell(rows, f'{state}.CRPS')} | {fitting} | {calibrating} | {evaluating} |")
    return "\n".join(lines + ["", "Coverage: the share of test actuals inside the interval, averaged over horizon "
                              "steps (worst step in brackets); width and CRPS in the data's units; mean ± sample "
                              "std over seeds."]) + "\n"


def report(record):
    """`record`, its coverage printed on one line."""
    print(f"{record['dataset']} seed {record['seed']}: coverage 80 / 90 % " + ", ".join(
        f"{state} {record[state]['coverage 80']:.3f} / {record[state]['coverage 90']:.3f}" for state in STATES),
        flush=True)
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/datasets", help="directory of ETTh1.csv, ETTm1.csv, ...")
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--epochs", type=int, help="override the preset's epochs (quick checks)")
    parser.add_argument("--out", default="intervals.json", help="JSON of every run, rewritten after each")
    parser.add_argument("--markdown", help="also write the Markdown table here")
    args = parser.parse_args(argv)
    records = run_missing(args.out, args.data_dir, args.datasets, args.seeds, lambda *run_args: report(run(
        *run_args, args.epochs)), "intervals")
    table = markdown(records)
    if args.markdown:
        Path(args.markdown).write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
