"""Long-horizon forecasting accuracy on the protocol of the literature
(Informer, Autoformer, DLinear, PatchTST, Time-Series-Library), for any tsgate
configuration run through the public `tsgate.Forecaster` API.

Protocol: ETT files (name starting ETTh / ETTm) split at rows 8640 / 11520 /
14400 (x4 for ETTm; later rows unused), other CSVs 70 / 10 / 20 % by rows as
Time-Series-Library's Dataset_Custom; validation and test inputs may reach
back `lookback` rows into the previous split, their targets may not. MSE and
MAE on the scale z-scored with the train rows' mean and std (ddof 0), averaged
over every test window (stride 1), horizon step and predicted channel.
Tasks: M (all columns in and out), S (target only), MS (all in, target out).
`--split validation` scores the validation windows instead (targets in the
validation rows, the same early-stopped fit): the split on which choices
between configurations are made, so that the test rows are never looked at.

    python -m benchmarks.accuracy --self-check
    python -m benchmarks.accuracy --data ../shared/datasets/ETTh1.csv --preset NAME \\
        --seeds 1 2 3 --out etth1.json --markdown etth1.md
    python -m benchmarks.accuracy --model repeat --drop-last 32
    python -m benchmarks.accuracy --model seasonal --data co2_weekly.csv --target co2 --task S --horizons 13 52
    python -m benchmarks.accuracy --preset NAME --set forecaster.units=512 --split validation
"""

import argparse
import copy
import json
import os
import platform
import time
import warnings
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.preprocessing import StandardScaler

BUNDLED_ETTH1 = Path(find_spec("tsgate").origin).parent / "datasets" / "ETTh1.csv"  # found without importing tsgate
ETT_BORDERS = (12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24)  # hourly rows ending train, validation, test
TASKS = ("M", "S", "MS")
BASELINES = ("repeat", "seasonal")  # --model: the last value, the same phase of the last season
HARNESS_ARGUMENTS = ("target", "horizon", "past_covariates", "seed")  # Forecaster arguments set per run
RUN_IDENTITY = ("dataset", "split", "task", "target", "horizon", "model", "label", "config", "seed", "drop_last",
                "select")
SPLITS = ("test", "validation")
# Repeat on ETTh1, task M: MSE at 96 / 192 / 336 / 720 with every test window and, as in the
# DLinear paper's table (its test loader drops the last incomplete batch of 32), with drop-last 32.
REPEAT_ETTH1_MSE = {
    None: {96: 1.294, 192: 1.325, 336: 1.330, 720: 1.335},
    32: {96: 1.295, 192: 1.325, 336: 1.323, 720: 1.339},
}


# ------------------------------------------------------------------- data
def split_borders(name, rows):
    """(train_end, val_end, test_end) row borders of the file `name` with
    `rows` rows: the fixed ETT borders, else Dataset_Custom's 70 / 10 / 20."""
    if name.startswith(("ETTh", "ETTm")):
        borders = tuple(b * (4 if name.startswith("ETTm") else 1) for b in ETT_BORDERS)
        if rows < borders[-1]:
            raise SystemExit(f"accuracy: {name} has {rows} rows; the ETT protocol needs {borders[-1]}.")
        return borders
    train, test = int(rows * 0.7), int(rows * 0.2)
    return train, rows - test, rows


def scored_rows(borders, split):
    """(start, end): the rows holding the targets of the scored windows of
    `split` ("test" or "validation")."""
    train_end, val_end, test_end = borders
    return (val_end, test_end) if split == "test" else (train_end, val_end)


def load_frame(path, target):
    """The CSV at `path` as a float64 DataFrame indexed by its first column's
    timestamps (the `date` column). SystemExit naming the file or column when
    the file, its timestamps or `target` are missing."""
    if not Path(path).is_file():
        raise SystemExit(f"accuracy: data file {path} does not exist.")
    frame = pd.read_csv(path)
    time_column = frame.columns[0]
    if pd.api.types.is_numeric_dtype(frame[time_column]):
        raise SystemExit(f"accuracy: the first column {time_column!r} of {path} is not timestamps.")
    try:
        frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop(time_column)), name=time_column)
    except (ValueError, TypeError):
        raise SystemExit(f"accuracy: the first column {time_column!r} of {path} is not timestamps.") from None
    if target not in frame.columns:
        raise SystemExit(f"accuracy: target column {target!r} is not in {path}; columns are {list(frame.columns)}.")
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise SystemExit(f"accuracy: column(s) {text} of {path} are not numeric.")
    return frame.astype("float64")


def task_columns(columns, task, target):
    """(inputs, outputs): the column names the model reads and predicts."""
    outputs = list(columns) if task == "M" else [target]
    return (outputs if task == "S" else list(columns)), outputs


def target_windows(values, test_start, test_end, horizon):
    """`(n, horizon, channels)` the targets of every test window of `values`
    `(rows, channels)`, n = test_end - test_start - horizon + 1."""
    return sliding_window_view(values[test_start:test_end], horizon, axis=0).transpose(0, 2, 1)


def scores(forecasts, actual, scaler, drop_last=None):
    """{"mse", "mae", "test_windows"} of raw-unit `forecasts` against
    `actual` (both `(n, horizon, channels)`), both z-scored by `scaler`, over
    the first floor(n / drop_last) * drop_last windows (all without drop_last)."""
    kept = len(actual) if drop_last is None else len(actual) // drop_last * drop_last
    forecasts_z, actual_z = (scaler.transform(a[:kept].reshape(-1, a.shape[-1])) for a in (forecasts, actual))
    error = forecasts_z - actual_z
    return {"mse": float(np.mean(error**2)), "mae": float(np.mean(np.abs(error))), "test_windows": kept}


# ----------------------------------------------------------------- models
def repeat_forecasts(values, test_start, test_end, horizon):
    """`(n, horizon, channels)` each test window's last input row repeated."""
    last = values[test_start - 1 : test_end - horizon]
    return np.repeat(last[:, None, :], horizon, axis=1)


def seasonal_forecasts(values, test_start, test_end, horizon, season):
    """`(n, horizon, channels)` the seasonal naive forecast: step h of the
    window whose first target is row t is row t + h − season·⌈(h+1)/season⌉,
    the same phase in the last season before the window's targets."""
    rows = np.arange(test_start, test_end - horizon + 1)[:, None] + np.arange(horizon)
    return values[rows - season * ((np.arange(horizon) + season) // season)]


def season_of(index):
    """Steps per season of the frequency of a DatetimeIndex (`tsgate.data.season_length`; 1 when it has none)."""
    from tsgate.data import season_length

    return season_length(pd.infer_freq(index))


def fit_forecaster(df, borders, inputs, outputs, horizon, config, seed, candidates=None):
    """A `tsgate.Forecaster` of `config` fitted on the train rows with early
    stopping on the validation windows (with `candidates`, the best of them
    by `tsgate.selection.select` on those windows), and its wall time in
    seconds, selection included."""
    from tsgate import Forecaster
    from tsgate.selection import select

    train_end, val_end, _ = borders
    past = [c for c in inputs if c not in outputs]
    forecaster = Forecaster(outputs, horizon=horizon, past_covariates=past, seed=seed, **config["forecaster"])
    start = time.perf_counter()
    if candidates:
        forecaster = select(forecaster, df.iloc[:val_end], candidates, validation=df.index[train_end], **config["fit"])
    else:
        forecaster.fit(df.iloc[:val_end], validation=df.index[train_end], verbose=0, **config["fit"])
    return forecaster, time.perf_counter() - start


def forecaster_forecasts(forecaster, df, test_start, test_end, outputs):
    """`(n, horizon, channels)` raw-unit forecasts of every window with its
    targets in rows `[test_start, test_end)`, from `historical_forecasts` of
    the rows up to `test_end` (the first window's inputs are the `lookback`
    rows before `test_start`)."""
    horizon = forecaster.horizon
    frame = forecaster.historical_forecasts(df.iloc[:test_end], start=df.index[test_start])
    expected = target_windows(df.index.to_numpy()[:, None], test_start, test_end, horizon).ravel()
    if len(frame) != len(expected) or (frame.index.get_level_values("time") != expected).any():
        raise RuntimeError(f"historical_forecasts gave {len(frame) // horizon} test windows where the protocol has "
                           f"{len(expected) // horizon} (test rows - horizon + 1): the Forecaster skips windows over "
                           "missing timestamps, which the protocol counts as consecutive rows.")
    return frame[outputs].to_numpy().reshape(-1, horizon, len(outputs))


# ------------------------------------------------------------------- runs
def run(df, borders, task, target, horizon, model, config, seed, drop_last, split="test", candidates=None):
    """One run scored on the windows of `split`: {"mse", "mae",
    "test_windows" (scored windows), "fit_seconds" (selection included),
    "epochs" (run, early stopping included), "best_epoch" (lowest
    validation loss), "lookback" (as planned), and with `candidates`
    "selected" (the winner's arguments) and "selection_seconds" (the fits
    before the winner's last)}."""
    inputs, outputs = task_columns(df.columns, task, target)
    train_end = borders[0]
    test_start, test_end = scored_rows(borders, split)
    values = df[outputs].to_numpy()
    scaler = StandardScaler().fit(values[:train_end])
    actual = target_windows(values, test_start, test_end, horizon)
    if model in BASELINES:
        forecasts = repeat_forecasts(values, test_start, test_end, horizon) if model == "repeat" else \
            seasonal_forecasts(values, test_start, test_end, horizon, season_of(df.index))
        result = scores(forecasts, actual, scaler, drop_last)
        return {**result, "fit_seconds": 0.0, "epochs": None, "best_epoch": None}
    forecaster, seconds = fit_forecaster(df, borders, inputs, outputs, horizon, config, seed, candidates)
    with warnings.catch_warnings():
        # Validation windows are the ones early stopping chose on: the harness knows, the warning says so.
        warnings.filterwarnings("ignore", "tsgate: .* windows that historical_forecasts scores", UserWarning)
        forecasts = forecaster_forecasts(forecaster, df, test_start, test_end, outputs)
    validation_loss = forecaster.history_.history["val_loss"]
    selection = {}
    if candidates:
        table = forecaster.selection_
        selection = {"selected": table["arguments"].iloc[-1],
                     "selection_seconds": round(float(table["fit_seconds"].iloc[:-1].sum()), 2)}
    return {**scores(forecasts, actual, scaler, drop_last), "fit_seconds": round(seconds, 2),
            "epochs": len(validation_loss), "best_epoch": int(np.argmin(validation_loss)) + 1,
            "lookback": forecaster.lookback_, **selection}


def run_key(record):
    """What identifies a run for --resume."""
    return json.dumps({name: record[name] for name in RUN_IDENTITY}, sort_keys=True)


def summary(records):
    """One row per (dataset, split, task, horizon, model label, lookback,
    scored windows): mean and sample std (ddof 1) over seeds of MSE and MAE, mean fit
    seconds (selection included), epochs and selection seconds, as a DataFrame."""
    frame = pd.DataFrame(records)
    if "selection_seconds" not in frame:
        frame["selection_seconds"] = np.nan
    keys = ["dataset", "split", "task", "horizon", "label", "lookback", "test_windows"]
    table = frame.astype({"epochs": float, "selection_seconds": float}).groupby(keys, sort=False).agg(
        runs=("mse", "size"), mse=("mse", "mean"), mse_std=("mse", "std"), mae=("mae", "mean"),
        mae_std=("mae", "std"), fit_seconds=("fit_seconds", "mean"), epochs=("epochs", "mean"),
        selection_seconds=("selection_seconds", "mean"))
    return table.reset_index().sort_values(["dataset", "task", "horizon"], kind="stable")


def markdown(table):
    """The summary as a Markdown table (text)."""
    def spread(mean, std):
        return f"{mean:.3f}" if pd.isna(std) else f"{mean:.3f} ± {std:.3f}"

    lines = ["| dataset | split | task | H | model | L | windows | runs | MSE | MAE | fit s | of which selection s "
             "| epochs |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        epochs = "" if pd.isna(row.epochs) else f"{row.epochs:.1f}"
        selection = "" if pd.isna(row.selection_seconds) else f"{row.selection_seconds:.1f}"
        lines.append(f"| {row.dataset} | {row.split} | {row.task} | {row.horizon} | {row.label} | {row.lookback} | "
                     f"{row.test_windows} | {row.runs} | {spread(row.mse, row.mse_std)} | "
                     f"{spread(row.mae, row.mae_std)} | {row.fit_seconds:.1f} | {selection} | {epochs} |")
    return "\n".join(lines + ["", "MSE, MAE: mean ± sample std (ddof 1) over runs (seeds), z-scored scale; fit s: "
                              "the whole fit, selection included."]) + "\n"


def write_json(path, records):
    """Writes {"runs": records, "summary": [...]} to `path` atomically."""
    document = {"runs": records, "summary": summary(records).to_dict("records") if records else []}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    partial = f"{path}.partial"
    with open(partial, "w") as f:
        json.dump(document, f, indent=1)
    os.replace(partial, path)


# ----------------------------------------------------------------- config
def config_layers(preset, config, freq=None):
    """The configuration dicts to merge, in order: preset `preset` for data
    of pandas frequency `freq` (`tsgate.presets.config`), then `config` (a
    JSON text or file); each copied."""
    layers = []
    if preset:
        from tsgate import presets

        if preset not in presets.PRESETS:
            raise SystemExit(f"accuracy: no preset {preset!r}; presets are {sorted(presets.PRESETS)}.")
        layers.append(presets.config(preset, freq))  # freq "auto": the lookback planned at fit (tsgate.lookback)
    if config and not config.lstrip().startswith("{"):
        if not Path(config).is_file():
            raise SystemExit(f"accuracy: --config {config} is neither JSON text nor a file.")
        config = Path(config).read_text()
    if config:
        layers.append(json.loads(config))
    return copy.deepcopy(layers)


def set_option(config, item):
    """Applies one `section.key[.subkey]=value` override to `config` in place
    (the value parsed as JSON when it parses, else kept as text)."""
    name, equals, text = item.partition("=")
    section, *keys = name.split(".")
    if section not in config or not keys or not all(keys) or not equals:
        raise SystemExit(f"accuracy: --set {item!r} is not forecaster.KEY=VALUE or fit.KEY=VALUE.")
    options = config[section]
    for key in keys[:-1]:
        options = options.setdefault(key, {})
    try:
        options[keys[-1]] = json.loads(text)
    except json.JSONDecodeError:
        options[keys[-1]] = text


def load_config(preset, config, overrides, freq=None):
    """{"forecaster": {...}, "fit": {...}}: the preset for data of frequency
    `freq`, `config` merged over it section by section, then the `--set`
    overrides; SystemExit when it lacks forecaster.lookback or sets what the
    harness sets per run."""
    merged = {"forecaster": {}, "fit": {}}
    for layer in config_layers(preset, config, freq):
        unknown = set(layer) - set(merged)
        if unknown:
            raise SystemExit(f"accuracy: config keys {sorted(unknown)} are not 'forecaster' or 'fit'.")
        for section, values in layer.items():
            merged[section].update(values)
    for item in overrides:
        set_option(merged, item)
    owned = sorted(set(merged["forecaster"]) & set(HARNESS_ARGUMENTS))
    if owned:
        raise SystemExit(f"accuracy: {owned} are set by the harness per run (--target, --horizons, --task, --seeds).")
    if "lookback" not in merged["forecaster"]:
        raise SystemExit("accuracy: the forecaster needs forecaster.lookback (--preset, --config or --set).")
    return merged


# ------------------------------------------------------------------- main
def self_check(horizons):
    """Repeat on the bundled ETTh1, task M, against `REPEAT_ETTH1_MSE`;
    prints a table and returns whether every number matches to 3 decimals."""
    df = load_frame(BUNDLED_ETTH1, "OT")
    borders = split_borders("ETTh1", len(df))
    print("Repeat, ETTh1, task M, MSE / MAE (z-scored): every test window | drop-last 32 (DLinear paper)")
    passed = True
    for horizon in horizons:
        cells = []
        for drop_last, expected in REPEAT_ETTH1_MSE.items():
            result = run(df, borders, "M", "OT", horizon, "repeat", None, None, drop_last)
            ok = round(result["mse"], 3) == expected[horizon]
            passed &= ok
            cells.append(f"{result['mse']:.3f} / {result['mae']:.3f} ({result['test_windows']} windows, "
                         f"expected MSE {expected[horizon]:.3f}: {'ok' if ok else 'MISMATCH'})")
        print(f"H={horizon:<4d} " + " | ".join(cells))
    print("self-check passed" if passed else "self-check FAILED")
    return passed


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(BUNDLED_ETTH1), help="CSV, timestamps in the first column "
                        "(default: tsgate's bundled ETTh1)")
    parser.add_argument("--task", choices=TASKS, default="M")
    parser.add_argument("--split", choices=SPLITS, default="test",
                        help="the windows scored: test, or validation (for choosing between configurations)")
    parser.add_argument("--target", default="OT")
    parser.add_argument("--horizons", type=int, nargs="+", default=[96, 192, 336, 720])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--model", choices=["forecaster", *BASELINES], default="forecaster",
                        help="a tsgate Forecaster, the last value repeated, or the seasonal naive forecast")
    parser.add_argument("--preset", help="a name in tsgate.presets.PRESETS, for the data's inferred frequency")
    parser.add_argument("--config", help='JSON text or file: {"forecaster": {...}, "fit": {...}}, over the preset')
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override, e.g. forecaster.units=64, fit.epochs=3 or "
                        "forecaster.builder_options.segment_length=12 (repeatable)")
    parser.add_argument("--select", action="store_true",
                        help="choose among the preset's candidates on the validation windows (tsgate.selection)")
    parser.add_argument("--label", help="model name in the table (default: the preset, 'forecaster' or 'repeat')")
    parser.add_argument("--drop-last", type=int, metavar="BATCH",
                        help="keep the first floor(N/BATCH)*BATCH test windows (32 reproduces the 2021-23 tables)")
    parser.add_argument("--out", default="accuracy.json", help="JSON of every run, rewritten after each run")
    parser.add_argument("--markdown", help="also write the Markdown table here")
    parser.add_argument("--resume", action="store_true", help="keep the runs in --out and skip those done")
    parser.add_argument("--self-check", action="store_true",
                        help="Repeat on the bundled ETTh1 against the published numbers (seconds, no training)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.self_check:
        if not self_check([h for h in args.horizons if h in REPEAT_ETTH1_MSE[None]]):
            raise SystemExit(1)
        return
    df = load_frame(args.data, args.target)
    dataset = Path(args.data).stem
    borders = split_borders(dataset, len(df))
    # The preset's lookback is planned by fit on the rows it fits (the season of the data's frequency, as many as
    # they leave room for: ETT's 30); a --config or --set lookback wins.
    config = None if args.model in BASELINES else load_config(args.preset, args.config, args.set, "auto")
    candidates = None
    if args.select:
        if not args.preset:
            raise SystemExit("accuracy: --select chooses among a preset's candidates: give --preset too.")
        from tsgate import presets

        candidates = presets.candidates(args.preset)
    label = args.label or (args.model if args.model in BASELINES else args.preset or "forecaster")
    seeds = [None] if args.model in BASELINES else args.seeds
    records = json.loads(Path(args.out).read_text())["runs"] if args.resume and Path(args.out).exists() else []
    for record in records:
        record.setdefault("split", "test")  # written before --split existed
        record.setdefault("select", False)  # and before --select
    done = {run_key(record) for record in records}
    plan = [(h, s) for h in args.horizons for s in seeds]
    for number, (horizon, seed) in enumerate(plan, 1):
        record = {"dataset": dataset, "data": str(args.data), "split": args.split, "task": args.task, "target": args.target,
                  "horizon": horizon, "model": args.model, "label": label, "config": config, "seed": seed,
                  "drop_last": args.drop_last, "select": args.select, "lookback": config["forecaster"]["lookback"] if config else 1,
                  "borders": dict(zip(("train_end", "val_end", "test_end"), borders))}
        progress = f"[{number}/{len(plan)}] {dataset} {args.split} {args.task} H={horizon} {label} seed={seed}"
        if run_key(record) in done:
            print(f"{progress}: done before, skipped", flush=True)
            continue
        record.update(run(df, borders, args.task, args.target, horizon, args.model, config, seed, args.drop_last,
                          args.split, candidates))
        record["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs"
        records.append(record)
        write_json(args.out, records)
        fitted = "" if record["epochs"] is None else f", fit {record['fit_seconds']:.1f} s, {record['epochs']} epochs"
        print(f"{progress}: MSE {record['mse']:.4f} MAE {record['mae']:.4f}, {record['test_windows']} "
              f"{args.split} windows{fitted}", flush=True)
    if not records:
        return
    table = markdown(summary(records))
    if args.markdown:
        Path(args.markdown).write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
