"""The `tsgate` command line."""

import contextlib
import inspect
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly, two_series
from tsgate import Forecaster, cli, presets
from tsgate.cli import errors, files, fitting
from tsgate.data import infer_freq

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the CLI trains with TensorFlow")

# What TensorFlow's C++ logging writes to stderr whatever TF_CPP_MIN_LOG_LEVEL says (tsgate drops it).
TENSORFLOW_LOG = re.compile(r"^([IWE]\d{4} |WARNING: All log messages|To enable the following)")
HEAVY = ("tensorflow", "keras", "jax", "pandas", "sklearn", "matplotlib")


def command(*args):
    """`tsgate args` in a fresh process, with TensorFlow's log level left to tsgate."""
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "tsgate.cli", *map(str, args)], capture_output=True, text=True,
                          env=env)


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["backtest", "--help"]])
def test_help_loads_no_framework(argv):
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "tsgate.cli", *argv],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "usage: tsgate" in result.stdout, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert "tsgate" in imported and not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_train_and_forecast_print_no_tensorflow_start_up_lines(tmp_path):
    csv = tmp_path / "series.csv"
    hourly(200).reset_index().to_csv(csv, index=False)
    trained = command("train", csv, "--model", tmp_path / "m", "--target", "y", "--lookback", "12", "--horizon", "3",
                      "--units", "4", "--epochs", "1", "--verbose", "0", "--test", "0.2")
    assert trained.returncode == 0 and trained.stderr == "", trained.stderr[-2000:]
    forecast = command("forecast", csv, "--model", tmp_path / "m", "--output", tmp_path / "f.parquet")
    assert forecast.returncode == 0 and forecast.stderr == "", forecast.stderr[-2000:]
    assert len(pd.read_parquet(tmp_path / "f.parquet")) == 3


def test_every_forecaster_argument_is_a_train_option():
    train = cli.build_parser()._subparsers._group_actions[0].choices["train"]
    options = {action.dest for action in train._actions}
    spelled = {"builder_options": "builder_option"}
    missing = [name for name in inspect.signature(Forecaster).parameters if spelled.get(name, name) not in options]
    assert not missing, f"tsgate train has no option for Forecaster arguments {missing}"
    fit = [name for name in inspect.signature(Forecaster.fit).parameters
           if name not in ("self", "df", "callbacks", "strategy")]  # strategy: --distributed (from TF_CONFIG)
    assert not [name for name in fit if name not in options]


def test_choices_are_the_librarys_and_the_options_offer_them():
    from tsgate import choices, models, scaling

    # the registries keyed by name (the tuples themselves are imported from tsgate.choices)
    assert set(models.CELLS) == set(choices.CELLS) and set(models.BUILDERS) == set(choices.BUILDERS)
    assert set(scaling.SCALERS) == set(choices.SCALERS)
    expected = {"cell": choices.CELLS, "builder": choices.BUILDERS, "loss": choices.POINT_LOSSES,
                "schedule": choices.SCHEDULES, "dtype_policy": choices.DTYPE_POLICIES, "scaler": choices.SCALERS,
                "target_transform": choices.TRANSFORMS, "fill": choices.FILLS, "by": choices.GROUPS,
                "calibration": choices.CALIBRATIONS, "duplicates": choices.DUPLICATES,
                "units": choices.UNITS}
    parsers = cli.build_parser()._subparsers._group_actions[0].choices.values()
    offered = {action.dest: tuple(action.choices) for parser in parsers for action in parser._actions
               if action.choices and action.dest not in ("verbose", "preset")}
    assert offered == expected


def run_in_process(*argv):
    """(exit status, stderr lines) of `tsgate argv` run by `cli.main`."""
    status, _, err = run_captured(*argv)
    return status, err.strip().split("\n")


def run_captured(*argv):
    """(exit status, stdout, stderr) of `tsgate argv` run by `cli.main`."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            cli.main([str(a) for a in argv])
            status = 0
        except SystemExit as exit:
            status = exit.code
    return status, out.getvalue(), err.getvalue()


def sites():
    """Two series with a known-future column `f`, a categorical `shift`, the time column "when" and a -9999
    sentinel."""
    df = two_series()
    df["f"] = np.cos(2 * np.pi * df.index.hour / 24)
    df["shift"] = np.where(df.index.hour < 12, "early", "late")
    df.iloc[100, df.columns.get_loc("x")] = -9999.0
    return df.rename_axis("when").reset_index()


def future_of(df, horizon):
    """The `f` values of the `horizon` hours after each site's last row."""
    rows = []
    for site, group in df.groupby("site"):
        times = pd.date_range(group["when"].max(), periods=horizon + 1, freq="h")[1:]
        rows.append(pd.DataFrame({"when": times, "site": site, "f": np.cos(2 * np.pi * times.hour / 24)}))
    return pd.concat(rows)


@pytest.fixture(scope="module")
def sites_model(tmp_path_factory):
    """A model trained by `tsgate train` with every kind of option, its data file and directory."""
    root = tmp_path_factory.mktemp("sites")
    sites().to_csv(root / "sites.csv", index=False)
    future_of(sites(), 6).to_csv(root / "future.csv", index=False)
    status, out, err = run_captured(
        "train", root / "sites.csv", "--model", root / "m", "--time-column", "when", "--target", "y",
        "--lookback", "24", "--horizon", "6", "--series-column", "site",
        "--future-covariates", "f", "--static-covariates", "elevation", "--calendar", "hour", "holiday",
        "--holidays", "2024-01-08", "2024-01-16", "--categorical", "shift", "--past-covariates", "x", "shift",
        "--target-transform", "log1p", "--non-negative",
        "--quantiles", "0.1", "0.5", "0.9", "--na-values", "-9999", "--fill", "ffill", "--scaler", "robust",
        "--stride", "2", "--units", "4", "--layers", "2", "--cell", "lstm", "--loss", "mae", "--learning-rate", "0.01",
        "--schedule", "cosine", "--seed", "5", "--builder-option", "dropout=0.1", "--freq", "h",
        "--test", "2024-01-15", "--validation", "0.25", "--epochs", "1", "--batch-size", "32", "--patience", "1",
        "--steps-per-epoch", "3", "--verbose", "0")
    assert status == 0, err
    assert "test part from 2024-01-15 00:00:00" in out
    return root


def test_train_stores_every_option_with_the_model(sites_model):
    params = Forecaster.load(sites_model / "m").get_params()
    expected = {
        "target": ["y"], "lookback": 24, "horizon": 6, "time_column": "when", "series_column": "site",
        "future_covariates": ["f"], "static_covariates": ["elevation"], "quantiles": [0.1, 0.5, 0.9],
        "na_values": [-9999.0], "fill": "ffill", "scaler": "robust", "stride": 2, "units": 4, "layers": 2, "cell": "lstm", "loss": "mae",
        "learning_rate": 0.01, "schedule": "cosine", "seed": 5, "builder_options": {"dropout": 0.1}, "freq": "h",
        "calendar": ["hour", "holiday"], "holidays": ["2024-01-08", "2024-01-16"], "categorical": ["shift"],
        "past_covariates": ["x", "shift"], "target_transform": "log1p", "non_negative": True,
    }
    assert {name: params[name] for name in expected} == expected
    assert Forecaster.load(sites_model / "m").fit_options_ == {
        "validation": 0.25, "epochs": 1, "batch_size": 32, "patience": 1, "steps_per_epoch": 3}
    with open(sites_model / "m" / files.STATE_FILE) as f:
        assert json.load(f) == {"test": "2024-01-15 00:00:00"}


def test_evaluate_scores_after_the_stored_test_cut_off(sites_model):
    status, _, err = run_captured("evaluate", sites_model / "sites.csv", "--model", sites_model / "m",
                                  "--output", sites_model / "metrics.parquet")
    assert status == 0, err
    table = pd.read_parquet(sites_model / "metrics.parquet")
    expected = Forecaster.load(sites_model / "m").evaluate(sites(), test="2024-01-15")
    pd.testing.assert_frame_equal(table, expected)
    status, _, err = run_captured("evaluate", sites_model / "sites.csv", "--model", sites_model / "m",
                                  "--by", "series", "horizon", "--season", "12", "--output", sites_model / "by.csv")
    assert status == 0, err
    by = pd.read_csv(sites_model / "by.csv")
    assert len(by) == 2 * 6 * 3 and list(by.columns[:3]) == ["site", "horizon", "model"]
    assert set(by["model"]) == {"tsgate", "naive", "seasonal naive (12)"}
    status, lines = run_in_process("evaluate", sites_model / "sites.csv", "--model", sites_model / "m", "--test", "0.5")
    assert status == 2 and "is before 2024-01-15 00:00:00, where the model's training data ended" in lines[0]


def test_forecast_reads_future_covariates_and_writes_csv_or_parquet(sites_model):
    expected = Forecaster.load(sites_model / "m").predict(sites(), future=future_of(sites(), 6))
    for name in ("f.csv", "f.parquet"):
        status, _, err = run_captured("forecast", sites_model / "sites.csv", "--model", sites_model / "m",
                                      "--future", sites_model / "future.csv", "--output", sites_model / name)
        assert status == 0, err
    parquet = pd.read_parquet(sites_model / "f.parquet")
    pd.testing.assert_frame_equal(parquet, expected.rename_axis(index={"time": "when"}))
    assert parquet.index.names == ["site", "when"] and len(parquet) == 12  # the user's time column, by name
    with open(sites_model / "f.csv") as f:
        assert f.readline().startswith("site,when,")
    status, lines = run_in_process("forecast", sites_model / "sites.csv", "--model", sites_model / "m")
    assert status == 2 and "needs future covariates ['f']" in lines[0]


def test_plot_draws_rolling_forecasts_of_a_series(sites_model):
    status, out, err = run_captured("plot", sites_model / "sites.csv", "--model", sites_model / "m",
                                    "--output", sites_model / "b.png", "--start", "2024-01-15", "--series", "b",
                                    "--target", "y")
    assert status == 0, err
    assert os.path.getsize(sites_model / "b.png") > 10_000
    status, lines = run_in_process("plot", sites_model / "sites.csv", "--model", sites_model / "m",
                                   "--output", sites_model / "c.png", "--start", "0.1", "--series", "c")
    assert status == 2 and "--series 'c' is not a series of the model; it has ['a', 'b']" in lines[0]


def test_plot_draws_the_forecast_with_future_covariates(sites_model):
    status, out, err = run_captured("plot", sites_model / "sites.csv", "--model", sites_model / "m",
                                    "--output", sites_model / "next.png", "--future", sites_model / "future.csv")
    assert status == 0, err
    assert os.path.getsize(sites_model / "next.png") > 10_000
    status, lines = run_in_process("plot", sites_model / "sites.csv", "--model", sites_model / "m",
                                   "--output", sites_model / "none.png")
    assert status == 2 and "needs future covariates ['f']" in lines[0]


def test_backtest_fits_copies_and_writes_folds_metrics_and_forecasts(sites_model):
    before = (sites_model / "m" / "model.keras").read_bytes()
    status, out, err = run_captured("backtest", sites_model / "sites.csv", "--model", sites_model / "m",
                                    "--folds", "2", "--test", "0.3", "--epochs", "1",
                                    "--output", sites_model / "bt.csv", "--forecasts", sites_model / "bt.parquet")
    assert status == 0, err
    assert "train_end" in out and "test_start" in out
    metrics = pd.read_csv(sites_model / "bt.csv")
    assert sorted(set(metrics["fold"])) == [0, 1] and "tsgate" in set(metrics["model"])
    forecasts = pd.read_parquet(sites_model / "bt.parquet")
    assert forecasts.index.names == ["fold", "site", "origin", "when"] and len(forecasts) > 0
    assert (sites_model / "m" / "model.keras").read_bytes() == before


def train_on_old_rows(root, *options):
    """`tsgate train` on the first 400 of 500 hourly rows (old.csv) into root/m, with `options`;
    all.csv holds all 500."""
    df = hourly(500)
    df.iloc[:400].reset_index().to_csv(root / "old.csv", index=False)
    df.reset_index().to_csv(root / "all.csv", index=False)
    status, _, err = run_captured("train", root / "old.csv", "--model", root / "m", "--target", "y", "--lookback", "24",
                                  "--horizon", "6", "--units", "4", "--epochs", "1", "--verbose", "0", *options)
    assert status == 0, err


def test_train_calibrates_and_calibrate_recalibrates_on_later_rows(tmp_path):
    train_on_old_rows(tmp_path, "--calibration", "conformal")
    trained = Forecaster.load(tmp_path / "m")
    assert trained.calibration == "conformal" and trained.calibration_.source == "the validation windows of fit"
    status, out, err = run_captured("calibrate", tmp_path / "all.csv", "--model", tmp_path / "m", "--start",
                                    "2024-01-17 16:00", "--levels", "0.1", "0.5", "0.9")
    assert status == 0, err
    assert "calibrated quantiles [0.1, 0.5, 0.9] on 95 windows" in out  # targets in the last 100 rows
    recalibrated = Forecaster.load(tmp_path / "m")
    assert recalibrated.calibration_.windows == 95 and recalibrated.layout_.quantiles == (0.1, 0.5, 0.9)
    status, out, _ = run_captured("forecast", tmp_path / "all.csv", "--model", tmp_path / "m")
    assert status == 0 and "y_q0.1" in out and "y_q0.9" in out


def test_adapt_moves_an_adaptive_calibration_and_saves_it(tmp_path):
    train_on_old_rows(tmp_path, "--quantiles", "0.1", "0.5", "0.9", "--calibration", "adaptive")
    before = Forecaster.load(tmp_path / "m").calibration_.shifts
    status, out, err = run_captured("adapt", tmp_path / "all.csv", "--model", tmp_path / "m", "--start",
                                    "2024-01-17 16:00")
    assert status == 0, err
    assert out.startswith("the validation windows of fit, adapted to the actuals up to 2024-01-21 19:00:00")
    assert not np.allclose(Forecaster.load(tmp_path / "m").calibration_.shifts, before)


def test_cli_trains_a_preset_with_overrides(tmp_path):
    csv = tmp_path / "series.csv"
    hourly(300).reset_index().to_csv(csv, index=False)
    status, _, err = run_captured("train", csv, "--model", tmp_path / "m", "--preset", "long_horizon", "--target", "y",
                                  "--lookback", "48", "--horizon", "12", "--units", "4", "--epochs", "1",
                                  "--verbose", "0")
    assert status == 0, err
    with open(tmp_path / "m" / "forecaster.json") as f:
        arguments = json.load(f)["config"]
    assert arguments["builder"] == "segment" and arguments["schedule"] == "cosine" and arguments["units"] == 4
    assert arguments["time_column"] == "time"
    status, lines = run_in_process("train", csv, "--model", tmp_path / "n", "--preset", "short", "--target", "y")
    assert status == 2 and "invalid choice: 'short'" in lines[-1]


def test_cli_select_chooses_among_the_presets_candidates_and_saves_the_table(tmp_path):
    csv = tmp_path / "series.csv"
    hourly(200).reset_index().to_csv(csv, index=False)
    status, out, err = run_captured("train", csv, "--model", tmp_path / "m", "--preset", "long_horizon", "--target",
                                    "y", "--lookback", "24", "--horizon", "6", "--units", "4", "--epochs", "2",
                                    "--steps-per-epoch", "2", "--select", "--verbose", "0")
    assert status == 0, err
    assert "validation_mse" in out and "selected: " in out
    loaded = Forecaster.load(tmp_path / "m")
    candidates = len(presets.candidates("long_horizon"))
    assert list(loaded.selection_["rung"][:candidates]) == [0] * candidates
    assert list(loaded.selection_["rung"]).count(max(loaded.selection_["rung"])) == 1  # one fits to the end
    assert f"selected: {loaded.selection_['arguments'].iloc[-1]}" in out


@pytest.mark.parametrize(("option", "message"), [
    (["--steps-per-epoch", "many"], "expected a positive integer or 'auto', got 'many'"),
    (["--members", "0"], "expected a positive integer, got '0'"),
])
def test_bad_fit_and_ensemble_options_are_argparse_errors(option, message):
    status, lines = run_in_process("train", "data.csv", "--model", "m", *TRAIN, *option)
    assert status == 2 and message in lines[-1], lines


def test_cli_preset_fits_the_lookback_to_a_short_weekly_series_and_says_so(tmp_path):
    csv = tmp_path / "weekly.csv"
    weeks = pd.date_range("2000-01-02", periods=966, freq="W-SUN", name="time")
    pd.DataFrame({"time": weeks, "y": np.sin(np.arange(966) / 8.3)}).to_csv(csv, index=False)
    status, out, err = run_captured("train", csv, "--model", tmp_path / "m", "--preset", "long_horizon", "--target",
                                    "y", "--horizon", "24", "--units", "4", "--epochs", "1", "--steps-per-epoch", "2",
                                    "--verbose", "0")
    assert status == 0, err
    assert "long_horizon: lookback 364: 7 segment(s) of 52 steps" in out and "966-row series" in out
    with open(tmp_path / "m" / "forecaster.json") as f:
        arguments = json.load(f)["config"]
    assert arguments["lookback"] == 364 and arguments["builder_options"]["segment_length"] == 52


def test_cli_preset_lookback_follows_the_data_frequency():
    names = inspect.signature(Forecaster).parameters
    base = ["train", "data.csv", "--model", "m", "--preset", "long_horizon", "--target", "y", "--horizon", "12"]
    quarter_hourly = pd.date_range("2024-01-01", periods=10, freq="15min")
    assert infer_freq(quarter_hourly.append(quarter_hourly)) == pd.offsets.Minute(15)  # several series' times
    assert infer_freq(quarter_hourly.delete(4)) is None and infer_freq(quarter_hourly[:2]) is None  # a gap, 2 rows
    args = cli.build_parser().parse_args(base)
    config = fitting.forecaster_arguments(args, names, infer_freq(quarter_hourly))
    assert (config["lookback"], config["builder_options"]["segment_length"]) == (2880, 96)
    assert fitting.forecaster_arguments(args, names)["lookback"] == 720  # frequency unknown: 30 x 24
    args = cli.build_parser().parse_args(base + ["--freq", "D", "--builder-option", "dropout=0.2"])
    config = fitting.forecaster_arguments(args, names, "15min")  # --freq wins over the data's
    assert config["lookback"] == 210 and config["builder_options"] == {
        "segment_length": 7, "normalization": "last", "channel_embedding": True, "dropout": 0.2}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Files for the user-mistake cases: a valid CSV, a saved forecaster and an export of it as version 1."""
    root = tmp_path_factory.mktemp("cli")
    hourly(120).reset_index().to_csv(root / "data.csv", index=False)
    hourly(140).reset_index().to_csv(root / "later.csv", index=False)  # 20 rows after the model's
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4)
    forecaster.fit(hourly(120), epochs=1, verbose=0).save(str(root / "model"))
    forecaster.export(str(root / "serving"), version=1)
    hourly(120).iloc[::-1].reset_index().to_csv(root / "newest_first.csv", index=False)
    hourly(120).tz_localize("UTC").reset_index().to_csv(root / "utc.csv", index=False)
    pd.concat([hourly(120), hourly(120).iloc[[5]]]).reset_index().to_csv(root / "twice.csv", index=False)
    (root / "empty.csv").write_text("")
    (root / "header.csv").write_text("time,y\n")
    (root / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (root / "times.csv").write_text("time,y\nmonday,1\ntuesday,2\n")
    (root / "config.json").write_text("{not json")
    (root / "list.json").write_text("[1, 2]")
    (root / "unknown.json").write_text(json.dumps({"lookback": 12, "windows": 3}))
    (root / "corrupted").mkdir()
    (root / "corrupted" / "forecaster.json").write_text((root / "model" / "forecaster.json").read_text()[:100])
    (root / "corrupted" / "model.keras").write_bytes((root / "model" / "model.keras").read_bytes())
    return root


TRAIN = ["--target", "y", "--lookback", "12", "--horizon", "3", "--units", "4", "--epochs", "1", "--verbose", "0"]


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "{root}/missing.csv", "--model", "{root}/m", *TRAIN], "missing.csv does not exist"),
    (["train", "{root}/empty.csv", "--model", "{root}/m", *TRAIN], "cannot read .*empty.csv as CSV: EmptyDataError"),
    (["train", "{root}/header.csv", "--model", "{root}/m", *TRAIN], "header.csv has no rows"),
    (["train", "{root}/binary.csv", "--model", "{root}/m", *TRAIN], "cannot read .*binary.csv as CSV"),
    (["train", "{root}", "--model", "{root}/m", *TRAIN], "is a directory"),
    (["train", "{root}/times.csv", "--model", "{root}/m", *TRAIN], "column 'time' of .* not timestamps"),
    (["train", "{root}/data.csv", "--model", "{root}/m", "--time-column", "when", *TRAIN],
     r"column 'when' is not in .*data.csv; its columns are \['time', 'y', 'x'\]"),
    (["train", "{root}/data.csv", "--model", "{root}/m", "--config", "{root}/config.json", *TRAIN], "is not valid JSON"),
    (["train", "{root}/data.csv", "--model", "{root}/m", "--config", "{root}/list.json", *TRAIN], "JSON object"),
    (["train", "{root}/data.csv", "--model", "{root}/m", "--config", "{root}/unknown.json", *TRAIN],
     r"arguments Forecaster does not take: \['windows'\]"),
    (["train", "{root}/data.csv", "--model", "{root}/m", "--config", "{root}/none.json", *TRAIN], "cannot read --config"),
    (["train", "{root}/data.csv", "--model", "{root}/m", "--target", "y"], r"train needs \['lookback', 'horizon'\]"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--target", "z"], "'z'"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--quantiles", "0.1"], "option --quantiles"),
    (["train", "{root}/newest_first.csv", "--model", "{root}/m", *TRAIN], "must be sorted: .* pass --sort to sort"),
    (["train", "{root}/twice.csv", "--model", "{root}/m", *TRAIN, "--sort"],
     r"Duplicate timestamp .* pass --duplicates \('first', 'last' or 'mean'\)"),
    (["forecast", "{root}/utc.csv", "--model", "{root}/model"],
     r"^tsgate: \S*utc.csv has timestamps in time zone 'UTC', but the forecaster was fitted on timestamps without"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--validation", "2024-01-01"],
     "Not enough data: 0 training and .* validation windows"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--test", "2023-06-01"],
     "--test 2023-06-01 00:00:00 leaves no rows before"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--select"],
     "--select chooses among a preset's candidates: give --preset too"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--preset", "long_horizon", "--select",
      "--checkpoint-dir", "{root}/c"], "leave out --distributed and --checkpoint-dir"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--holidays", "Christmas"],
     "--holidays Christmas: not a holiday calendar of pandas.tseries.holiday"),
    (["evaluate", "{root}/data.csv", "--model", "{root}/model"],
     "model was trained without --test: give `evaluate --test`"),
    (["plot", "{root}/data.csv", "--model", "{root}/model", "--output", "{root}/p.xyz"], "unknown image suffix 'xyz'"),
    (["forecast", "{root}/data.csv", "--model", "{root}/nowhere"], "No saved forecaster at .*nowhere"),
    (["forecast", "{root}/data.csv", "--model", "{root}/corrupted"], "corrupted/forecaster.json: not valid JSON"),
    (["forecast", "{root}/data.csv", "--model", "{root}/model", "--output", "{root}/no/such/dir/f.csv"],
     "cannot write .*f.csv"),
    (["export", "--model", "{root}/model", "--output", "{root}/serving", "--version", "1"], "already exists"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--quantiles", "0.5", "0.9", "--calibration",
      "conformal"], "central pair of quantile levels"),
    (["calibrate", "{root}/later.csv", "--model", "{root}/model", "--start", "2024-01-06 02:00"],
     "Too few windows to calibrate quantile 0.05: 16 with an actual"),
    (["calibrate", "{root}/data.csv", "--model", "{root}/model", "--levels", "0.5", "0.9"], "central pair"),
    (["adapt", "{root}/data.csv", "--model", "{root}/model"], "fit with calibration='adaptive'"),
])
def test_user_mistakes_end_in_one_line_and_status_2(workspace, argv, message):
    status, lines = run_in_process(*(a.format(root=workspace) for a in argv))
    assert status == 2 and len(lines) == 1, lines
    assert lines[0].startswith("tsgate: ") and re.search(message, lines[0]), lines[0]


@pytest.mark.parametrize(("option", "expected"), [
    (["--lookback", "0"], "a positive integer"), (["--horizon", "-3"], "a positive integer"),
    (["--units", "many"], "a positive integer"), (["--epochs", "0"], "a positive integer"),
    (["--patience", "-1"], "an integer >= 0"), (["--learning-rate", "nan"], "a positive number"),
    (["--test", "1.5"], r"a fraction in \(0, 1\) or a timestamp"), (["--test", "soon"], "a fraction in"),
    (["--builder-option", "dropout"], "KEY=VALUE"), (["--cell", "rnn"], None), (["--fill", "mean"], None),
])
def test_argparse_refuses_bad_values(workspace, option, expected):
    status, lines = run_in_process("train", workspace / "data.csv", "--model", workspace / "m", *TRAIN, *option)
    expected = f"expected {expected}" if expected else "invalid choice"
    assert status == 2 and re.match(rf"tsgate train: error: argument {option[0]}: {expected}", lines[-1]), lines
    status, lines = run_in_process("export", "--model", workspace / "model", "--output", workspace / "s", "--version", "0")
    assert status == 2 and "argument --version: expected a positive integer, got '0'" in lines[-1]


def test_export_unroll_writes_a_version_without_a_loop(workspace):
    from tsgate import serving

    status, out, err = run_captured("export", "--model", workspace / "model", "--output", workspace / "unrolled",
                                    "--version", "2", "--unroll")
    assert status == 0, err
    ops = serving.saved_model_op_types(str(workspace / "unrolled" / "2"))
    assert out.strip() == str(workspace / "unrolled" / "2") and not {"While", "StatelessWhile"} & ops


@pytest.mark.parametrize(("argv", "option"), [
    (["forecast", "{root}/data.csv", "--model", "{root}/model", "--output", "{root}/f.txt"], "--output"),
    (["evaluate", "{root}/data.csv", "--model", "{root}/model", "--test", "0.3", "--output", ".."], "--output"),
    (["backtest", "{root}/data.csv", "--model", "{root}/model", "--forecasts", "{root}/f"], "--forecasts"),
    (["backtest", "{root}/data.csv", "--model", "{root}/model", "--output", "{root}/m.PQ.gz"], "--output"),
])
def test_output_tables_are_checked_before_any_work(workspace, argv, option):
    """A table path without .csv/.parquet/.pq is refused when the command line
    is parsed: no data read, no warning printed (evaluating the model's own
    training rows warns), no fold fitted."""
    argv = [a.format(root=workspace) for a in argv]
    status, lines = run_in_process(*argv)
    assert status == 2 and not any(line.startswith("tsgate: warning") for line in lines), lines
    assert re.fullmatch(rf"tsgate {argv[0]}: error: argument {option}: expected a path ending in "
                        rf"\.csv, \.parquet, \.pq \(CSV or Parquet\), got '{re.escape(argv[-1])}'", lines[-1]), lines


def test_warnings_are_one_line(tmp_path):
    hourly(200).drop(hourly(200).index[60:63]).reset_index().to_csv(tmp_path / "gaps.csv", index=False)
    status, _, err = run_captured("train", tmp_path / "gaps.csv", "--model", tmp_path / "m", *TRAIN)
    assert status == 0 and err.startswith("tsgate: warning: "), err
    assert "window positions dropped because they would straddle a gap" in err and len(err.splitlines()) == 1, err


def test_argparse_errors_are_one_line_whatever_the_user_typed(workspace):
    status, lines = run_in_process("train", workspace / "data.csv", "--model", workspace / "m", *TRAIN, "\n", "x")
    assert status == 2 and lines[-1] == "tsgate: error: unrecognized arguments: x", lines


def test_bugs_keep_their_traceback(workspace, monkeypatch):
    def broken(path):
        return np.concatenate([np.zeros((2, 2)), np.zeros((3, 3))])  # NumPy's ValueError: a bug, not a mistake

    monkeypatch.setattr(Forecaster, "load", staticmethod(broken))
    with pytest.raises(ValueError, match="all the input array dimensions"):
        cli.main(["forecast", str(workspace / "data.csv"), "--model", str(workspace / "model")])


def test_only_errors_raised_by_tsgate_count_as_user_mistakes():
    def raised(function):
        try:
            function()
        except Exception as error:
            return error

    def tsgate_check():
        from tsgate.validation import check_positive_int

        check_positive_int("lookback", 0)

    assert errors.is_user_mistake(raised(tsgate_check))
    assert errors.is_user_mistake(errors.CommandError("x"))
    assert errors.is_user_mistake(raised(lambda: open("/nonexistent/x")))
    assert not errors.is_user_mistake(raised(lambda: int("x")))  # raised here, not by tsgate
    assert not errors.is_user_mistake(raised(lambda: np.zeros(2) + np.zeros(3)))
    assert not errors.is_user_mistake(RuntimeError("a bug"))
    assert not errors.is_user_mistake(ValueError("never raised"))
    assert errors.PACKAGE_DIR == os.path.dirname(inspect.getfile(Forecaster))  # tsgate/, not tsgate/cli/


def test_forecasts_keep_the_users_time_column_name(tmp_path):
    hourly(200).rename_axis("Date").reset_index().to_csv(tmp_path / "d.csv", index=False)
    status, _, err = run_captured("train", tmp_path / "d.csv", "--model", tmp_path / "m", "--time-column", "Date",
                                  "--target", "y", "--lookback", "12", "--horizon", "3", "--units", "4", "--epochs", "1",
                                  "--verbose", "0")
    assert status == 0, err
    status, _, err = run_captured("forecast", tmp_path / "d.csv", "--model", tmp_path / "m", "--output",
                                  tmp_path / "f.csv")
    assert status == 0, err
    assert (tmp_path / "f.csv").read_text().startswith("Date,y\n")


@pytest.mark.parametrize("argv", [
    ["train", "{root}/data.csv", "--model", "{root}/m", "--target", "z", "--lookback", "3", "--horizon", "1"],
    ["train", "{root}/nowhere.csv", "--model", "{root}/m", "--target", "y", "--lookback", "3", "--horizon", "1"],
    ["forecast", "{root}/noy.csv", "--model", "{root}/model"],
    ["update", "{root}/nowhere.csv", "--model", "{root}/model"],
])
def test_a_wrong_file_or_column_is_said_before_tensorflow_loads(workspace, argv):
    code = ("import sys\nfrom tsgate.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as exit:\n"
            "    print(exit.code, 'keras' in sys.modules, 'tensorflow' in sys.modules)\n")
    pd.read_csv(workspace / "data.csv").drop(columns="y").to_csv(workspace / "noy.csv", index=False)
    result = subprocess.run([sys.executable, "-c", code, *(a.format(root=workspace) for a in argv)],
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["2", "False", "False"], (result.stdout, result.stderr)
    assert result.stderr.startswith("tsgate: ") and len(result.stderr.strip().split("\n")) == 1, result.stderr


def test_tune_searches_the_space_and_saves_the_best_with_its_table(tmp_path):
    hourly(300).reset_index().to_csv(tmp_path / "d.csv", index=False)
    status, out, err = run_captured("tune", tmp_path / "d.csv", "--model", tmp_path / "m", "--target", "y",
                                    "--lookback", "12", "--horizon", "3", "--units", "4", "--epochs", "2",
                                    "--verbose", "0", "--space", "lookback=[12, 24]", "--space", "units=[4, 8]",
                                    "--trials", "3")
    assert status == 0, err
    assert "validation_mse" in out and out.strip().split("\n")[-2].startswith("selected: ")
    best = Forecaster.load(tmp_path / "m")
    assert best.lookback in (12, 24) and best.units in (4, 8) and len(best.selection_) == 3 + 2 + 1
    status, lines = run_in_process("tune", tmp_path / "d.csv", "--model", tmp_path / "m", "--target", "y",
                                   "--lookback", "12", "--horizon", "3", "--space", "lookbak=[12]")
    assert status == 2 and len(lines) == 1 and "option --space" in lines[0], lines
