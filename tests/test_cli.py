"""The `tsgate` command line."""

import subprocess
import sys

import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the CLI trains with TensorFlow")


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
