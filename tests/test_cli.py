"""The `tsgate` command line."""

import contextlib
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly
from tsgate import Forecaster, cli

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the CLI trains with TensorFlow")

# What TensorFlow's C++ logging writes to stderr whatever TF_CPP_MIN_LOG_LEVEL says.
TENSORFLOW_LOG = re.compile(r"^([IWE]\d{4} |WARNING: All log messages|To enable the following)")


def test_cli_trains_evaluates_and_forecasts(tmp_path):
    csv = tmp_path / "series.csv"
    hourly(300).reset_index().to_csv(csv, index=False)
    run = lambda *args: subprocess.run([sys.executable, "-m", "tsgate.cli", *args], capture_output=True, text=True)  # noqa: E731
    trained = run("train", str(csv), "--model", str(tmp_path / "m"), "--target", "y", "--lookback", "24",
                  "--horizon", "6", "--units", "4", "--epochs", "1", "--verbose", "0")
    assert trained.returncode == 0, trained.stderr[-2000:]
    evaluated = run("evaluate", str(csv), "--model", str(tmp_path / "m"))
    assert evaluated.returncode == 0 and "naive" in evaluated.stdout, evaluated.stderr[-2000:]
    parquet = tmp_path / "series.parquet"
    hourly(300).reset_index().to_parquet(parquet)
    forecast = run("forecast", str(parquet), "--model", str(tmp_path / "m"), "--output", str(tmp_path / "f.csv"))
    assert forecast.returncode == 0, forecast.stderr[-2000:]
    assert len(pd.read_csv(tmp_path / "f.csv")) == 6
    exported = run("export", "--model", str(tmp_path / "m"), "--output", str(tmp_path / "serving"), "--version", "7")
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert (tmp_path / "serving" / "7" / "saved_model.pb").exists()
    again = run("export", "--model", str(tmp_path / "m"), "--output", str(tmp_path / "serving"), "--version", "7")
    tsgate_lines = [line for line in again.stderr.splitlines() if not TENSORFLOW_LOG.match(line)]
    assert again.returncode == 2 and len(tsgate_lines) == 1, again.stderr[-2000:]
    assert tsgate_lines[0].startswith("tsgate: ") and "already exists; nothing was overwritten" in tsgate_lines[0]


def test_cli_trains_a_preset_with_overrides(tmp_path):
    import json

    csv = tmp_path / "series.csv"
    hourly(300).reset_index().to_csv(csv, index=False)
    run = lambda *args: subprocess.run([sys.executable, "-m", "tsgate.cli", *args], capture_output=True, text=True)  # noqa: E731
    trained = run("train", str(csv), "--model", str(tmp_path / "m"), "--preset", "long_horizon", "--target", "y",
                  "--lookback", "48", "--horizon", "12", "--units", "4", "--epochs", "1", "--verbose", "0")
    assert trained.returncode == 0, trained.stderr[-2000:]
    with open(tmp_path / "m" / "forecaster.json") as f:
        saved = json.load(f)
    arguments = saved["config"]
    assert arguments["builder"] == "segment" and arguments["schedule"] == "cosine" and arguments["units"] == 4
    unknown = run("train", str(csv), "--model", str(tmp_path / "n"), "--preset", "short", "--target", "y")
    assert unknown.returncode == 2 and "invalid choice: 'short'" in unknown.stderr


def run_in_process(*argv):
    """(exit status, stderr lines) of `tsgate argv` run by `cli.main`."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.main([str(a) for a in argv])
            status = 0
        except SystemExit as exit:
            status = exit.code
    return status, err.getvalue().strip().split("\n")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Files for the user-mistake cases: a valid CSV, a saved forecaster and an export of it as version 1."""
    root = tmp_path_factory.mktemp("cli")
    hourly(120).reset_index().to_csv(root / "data.csv", index=False)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4)
    forecaster.fit(hourly(120), epochs=1, verbose=0).save(str(root / "model"))
    forecaster.export(str(root / "serving"), version=1)
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
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--quantiles", "0.1"], "argument `quantiles`"),
    (["train", "{root}/data.csv", "--model", "{root}/m", *TRAIN, "--validation", "2"], "argument `validation`"),
    (["forecast", "{root}/data.csv", "--model", "{root}/nowhere"], "No saved forecaster at .*nowhere"),
    (["forecast", "{root}/data.csv", "--model", "{root}/corrupted"], "corrupted/forecaster.json: not valid JSON"),
    (["forecast", "{root}/data.csv", "--model", "{root}/model", "--output", "{root}/no/such/dir/f.csv"],
     "cannot write .*f.csv"),
    (["export", "--model", "{root}/model", "--output", "{root}/serving", "--version", "1"], "already exists"),
])
def test_user_mistakes_end_in_one_line_and_status_2(workspace, argv, message):
    status, lines = run_in_process(*(a.format(root=workspace) for a in argv))
    assert status == 2 and len(lines) == 1, lines
    assert lines[0].startswith("tsgate: ") and re.search(message, lines[0]), lines[0]


@pytest.mark.parametrize("option", [["--lookback", "0"], ["--horizon", "-3"], ["--units", "many"], ["--epochs", "0"]])
def test_argparse_refuses_non_positive_counts(workspace, option):
    status, lines = run_in_process("train", workspace / "data.csv", "--model", workspace / "m", *TRAIN, *option)
    assert status == 2 and re.match(rf"tsgate train: error: argument {option[0]}: expected a positive integer", lines[-1])
    status, lines = run_in_process("export", "--model", workspace / "model", "--output", workspace / "s", "--version", "0")
    assert status == 2 and "argument --version: expected a positive integer, got '0'" in lines[-1]


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

    assert cli.is_user_mistake(raised(tsgate_check))
    assert cli.is_user_mistake(cli.CommandError("x")) and cli.is_user_mistake(raised(lambda: open("/nonexistent/x")))
    assert not cli.is_user_mistake(raised(lambda: int("x")))  # raised here, not by tsgate
    assert not cli.is_user_mistake(raised(lambda: np.zeros(2) + np.zeros(3)))
    assert not cli.is_user_mistake(RuntimeError("a bug"))
    assert not cli.is_user_mistake(ValueError("never raised"))
    assert os.path.isdir(cli.PACKAGE_DIR)
