"""Darts' conformal forecast intervals on the split of tsgate's interval
benchmark (benchmarks/intervals.py): coverage and width of the 80 % and 90 %
central intervals on the same chronological test part, a peer for the
"before" / "conformal" / "adaptive" rows of benchmarks/results/intervals.md.

Runs in the Darts environment (darts 0.48.1 without torch, and lightgbm
4.7.0), never tsgate's (it imports no tsgate):

    nice -n 10 /tmp/darts-env/bin/python -m benchmarks.peers.darts_intervals --data-dir ../shared/datasets \\
        --out benchmarks/results/darts_intervals.json --markdown benchmarks/results/darts_intervals.md
    # ETTm1 (10 min on 2 cores), its records added to the file's others:
    nice -n 10 /tmp/darts-env/bin/python -m benchmarks.peers.darts_intervals --data-dir ../shared/datasets \\
        --datasets ETTm1 --no-quantile-regression \\
        --out benchmarks/results/darts_intervals.json --markdown benchmarks/results/darts_intervals.md

ETTm1 runs without the quantile model: on ETTh1 (2 cores, shared) its fit
took 10 min and each ConformalQRModel pass 12 to 15 min (Darts draws 500
samples of every base forecast); ETTm1 has 4 × the rows and horizon steps
and 3.5 × the lags (and its samples would take 8.8 GB in float64).

The split (`DATASETS`, `load`, `borders`) is imported from
benchmarks/intervals.py, which imports no tsgate at module level (run this
as a module from the repository root): ETTh1 and ETTm1 (target OT, horizon 24 / 96) 12 / 4 / 4
months of 30 days, vix-daily (CLOSE, horizon 5) 60 / 20 / 20 % of the rows.
The series is indexed by row position (vix's trading days are irregular; the
ETT files are checked to have no gap), so windows are rows, as in tsgate.

Protocol, per dataset (the models are deterministic: one run each; the
LightGBM model and the conformal sampling below are seeded):

- Base models, fitted on the train rows only, univariate target, lags 4 × H
  capped at 336 for hourly / 15-min data and 60 for daily data (ETTh1 96,
  ETTm1 336, vix-daily 60), one regressor per horizon step (Darts' default
  `multi_models=True`): `LinearRegressionModel(lags, output_chunk_length=H)`
  (ordinary least squares) and, for conformalized quantile regression,
  `LightGBMModel(..., likelihood="quantile", quantiles=LEVELS)`. A linear
  quantile regressor (`LinearRegressionModel(likelihood="quantile")`,
  scikit-learn's `QuantileRegressor`) takes 8 to 18 s a fit on ETTh1's train
  rows and needs H × 5 fits (about 17 min or more on 2 cores), hence LightGBM.
- Calibration: the conformal models get the series from `lags` rows before
  the validation start to the end, so the base model's first historical
  forecast targets the validation start. For each forecast origin (first
  target), Darts calibrates each horizon step h on the scores of the base
  model's own historical forecasts (stride 1) at step h whose target precedes
  the origin, the most recent n of them, with the same n for every step: the
  number of complete windows before the origin. At the first test window, n
  is the number of validation windows, and step h uses the origins whose
  step-h target lies in the validation rows, less the first H - h of them;
  test scores join as their actuals arrive. "expanding": `cal_length=None`
  (n grows); "rolling": `cal_length` = the number of validation windows (n
  fixed, the most recent). Intervals: the ⌈(n + 1) q⌉-th smallest of the n
  scores (`darts.models.forecasting.conformal_models._conformal_quantile`),
  with symmetric scores (Darts' default): |error| around the point forecast
  (`ConformalNaiveModel`, q = 0.8 and 0.9), or the CQR score
  max(ŷ_lo - y, y - ŷ_hi) added to the base quantiles (`ConformalQRModel`,
  whose base quantiles Darts estimates from `cal_num_samples=500` samples of
  the quantile model's forecast).
- Forecasts: `historical_forecasts(series, forecast_horizon=H, start=test
  start, stride=1, retrain=False, last_points_only=False,
  predict_likelihood_parameters=True)`: every window whose targets lie in the
  test rows, the calibrated quantiles themselves (no sampling). The quantile
  model's own, uncalibrated quantiles are scored as well (its historical
  forecasts with `predict_likelihood_parameters=True`), like tsgate's "before".
- Scores per horizon step, then over steps: coverage (ŷ_lo ≤ y ≤ ŷ_hi) of the
  80 % (0.1-0.9) and 90 % (0.05-0.95) intervals and its worst step, mean width
  in raw units, CRPS (2 × mean pinball over the five quantiles), as
  `tsgate.evaluation.quantile_metrics`. Seconds: the conformal model's
  `historical_forecasts` call (the base model's historical forecasts over the
  validation and test rows plus the calibration), fit seconds apart.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from darts import TimeSeries
from darts.models import ConformalNaiveModel, ConformalQRModel, LightGBMModel, LinearRegressionModel

from benchmarks.intervals import DATASETS, borders, load  # the split itself, not a copy of it

LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)
INTERVALS = {"80": (0.1, 0.9), "90": (0.05, 0.95)}
CALIBRATIONS = ("expanding", "rolling")


def lags_for(horizon, freq):
    """4 × horizon capped at 336 for hourly and 15-min data; 60 for daily data."""
    return min(4 * horizon, 336) if freq else 60


def scores(forecasts, actual, test, horizon):
    """{"coverage 80", "worst step 80", "width 80", ..., "CRPS", "windows"} of
    the quantile forecasts (TimeSeries of H rows × LEVELS columns, one per
    window) against `actual` (the whole series' values by row position), the
    first window's targets starting at row `test`."""
    starts = np.array([f.time_index[0] for f in forecasts])
    if starts[0] != test or len(starts) != len(actual) - test - horizon + 1 or np.any(np.diff(starts) != 1):
        raise RuntimeError(f"unexpected forecast windows: {len(starts)} from row {starts[0]}")
    quantiles = np.stack([f.values(copy=False) for f in forecasts])  # (windows, H, levels)
    truth = actual[starts[:, None] + np.arange(horizon)]  # (windows, H)
    error = truth[..., None] - quantiles
    levels = np.array(LEVELS)
    record = {"CRPS": float(2 * np.mean(np.maximum(levels * error, (levels - 1) * error))), "windows": len(starts)}
    for nominal, (low, high) in INTERVALS.items():
        lo, hi = quantiles[..., LEVELS.index(low)], quantiles[..., LEVELS.index(high)]
        coverage = ((lo <= truth) & (truth <= hi)).mean(axis=0)  # per step
        record[f"coverage {nominal}"] = float(coverage.mean())
        record[f"worst step {nominal}"] = float(coverage.min())
        record[f"width {nominal}"] = float((hi - lo).mean())
    return record


def timed(fn, *args, **kwargs):
    """fn(*args, **kwargs)'s result and its wall seconds."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, round(time.perf_counter() - start, 2)


def run(name, path, quantile_regression=True, threads=2):
    """The records of one dataset: each base model and calibration."""
    target, horizon, freq, _ = DATASETS[name]
    df = load(path, target)
    validation_start, test_start, end = borders(name, df)
    df = df.iloc[:end]
    if freq and not (df.index[1:] - df.index[:-1] == pd.Timedelta(pd.tseries.frequencies.to_offset(freq))).all():
        raise SystemExit(f"darts_intervals: {path} has gaps at frequency {freq!r}.")
    values = df[target].to_numpy("float64")
    validation, test = df.index.get_loc(validation_start), df.index.get_loc(test_start)
    series = TimeSeries.from_values(values, columns=[target])  # a RangeIndex: row positions
    lags = lags_for(horizon, freq)
    train, calibrated = series[:validation], series[validation - lags:]
    common = {"dataset": name, "target": target, "horizon": horizon, "lags": lags,
              "rows": {"train": validation, "validation": test - validation, "test": end - test},
              "validation_windows": test - validation - horizon + 1,
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    forecast = {"forecast_horizon": horizon, "start": test, "stride": 1, "retrain": False, "last_points_only": False,
                "overlap_end": False, "predict_likelihood_parameters": True, "num_samples": 1}
    cal_lengths = {"expanding": None, "rolling": common["validation_windows"]}

    bases = {"LinearRegressionModel": (LinearRegressionModel(lags=lags, output_chunk_length=horizon),
                                       ConformalNaiveModel)}
    if quantile_regression:
        bases["LightGBMModel quantile"] = (
            LightGBMModel(lags=lags, output_chunk_length=horizon, likelihood="quantile", quantiles=list(LEVELS),
                          random_state=0, n_jobs=threads, verbose=-1), ConformalQRModel)
    records = []
    for base_name, (base, conformal) in bases.items():
        _, fit_seconds = timed(base.fit, train)
        if base.supports_probabilistic_prediction:
            own, seconds = timed(base.historical_forecasts, calibrated, show_warnings=False, **forecast)
            records.append({**common, "model": base_name, "intervals": "uncalibrated", "fit_seconds": round(
                fit_seconds, 1), "seconds": seconds, **scores(own, values, test, horizon)})
        for calibration in CALIBRATIONS:
            model = conformal(base, quantiles=list(LEVELS), cal_length=cal_lengths[calibration], random_state=0)
            out, seconds = timed(model.historical_forecasts, calibrated, **forecast)
            records.append({**common, "model": f"{conformal.__name__}({base_name})", "intervals": calibration,
                            "cal_length": cal_lengths[calibration], "fit_seconds": round(fit_seconds, 1),
                            "seconds": seconds, **scores(out, values, test, horizon)})
            print(f"{name} {records[-1]['model']} {calibration}: coverage 80 / 90 % "
                  f"{records[-1]['coverage 80']:.3f} / {records[-1]['coverage 90']:.3f}, {seconds} s", flush=True)
    return records


def markdown(records):
    """The table, one row per dataset, model and calibration."""
    lines = ["| data | H | lags | model | intervals | coverage 80 % (worst step) | width 80 % | "
             "coverage 90 % (worst step) | width 90 % | CRPS | fit s | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['dataset']} | {r['horizon']} | {r['lags']} | {r['model']} | {r['intervals']} | "
                     f"{r['coverage 80']:.3f} ({r['worst step 80']:.3f}) | {r['width 80']:.3f} | "
                     f"{r['coverage 90']:.3f} ({r['worst step 90']:.3f}) | {r['width 90']:.3f} | {r['CRPS']:.3f} | "
                     f"{r['fit_seconds']:.1f} | {r['seconds']:.1f} |")
    return "\n".join(lines + [
        "", "Darts' conformal models on benchmarks/intervals.py's split (benchmarks/peers/darts_intervals.py): base "
        "models fitted on the train rows; calibration on the base model's historical forecasts from the validation "
        "start, growing with the test windows as their actuals arrive (expanding: all of them; rolling: the last "
        "as many as there are validation windows). Coverage: the share of test actuals inside the interval, "
        "averaged over horizon steps (worst step in brackets); width and CRPS in the data's units; seconds: the "
        "conformal (or uncalibrated) `historical_forecasts` call, fit apart. One run each (deterministic)."]
        + [f"{name}: no LightGBM quantile model (--no-quantile-regression)." for name in dict.fromkeys(
            r["dataset"] for r in records) if not any(r["dataset"] == name and "LightGBM" in r["model"]
                                                       for r in records)]) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/datasets", help="directory of ETTh1.csv, ETTm1.csv, ...")
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=["ETTh1", "vix-daily"])
    parser.add_argument("--no-quantile-regression", dest="quantile_regression", action="store_false",
                        help="only ConformalNaiveModel (skip the LightGBM quantile model and ConformalQRModel)")
    parser.add_argument("--threads", type=int, default=2, help="LightGBM's threads")
    parser.add_argument("--out", default="darts_intervals.json", help="JSON of every record, rewritten per dataset; "
                        "the records of other datasets in it are kept")
    parser.add_argument("--markdown", help="also write the Markdown table here")
    args = parser.parse_args(argv)
    previous = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else []
    records = [r for r in previous if r["dataset"] not in args.datasets]  # rerun datasets are replaced
    for name in args.datasets:
        path = Path(args.data_dir) / f"{name}.csv"
        if not path.is_file():
            raise SystemExit(f"darts_intervals: {path} does not exist (--data-dir).")
        records += run(name, path, args.quantile_regression, args.threads)
        records.sort(key=lambda r: list(DATASETS).index(r["dataset"]))  # stable: each dataset's rows stay in order
        Path(args.out).write_text(json.dumps(records, indent=1))
    table = markdown(records)
    if args.markdown:
        Path(args.markdown).write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
