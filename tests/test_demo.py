"""The README's main job, end to end, through the `tsgate` command."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the demo exports a SavedModel")


def test_demo_command_trains_evaluates_plots_and_exports(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tsgate.cli", "demo", "--output", str(tmp_path), "--epochs", "1", "--verbose", "0"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "seasonal naive" in result.stdout and "served without tsgate" in result.stdout
    assert os.path.isdir(tmp_path / "saved_model")
    with open(tmp_path / "report.json") as f:
        report = json.load(f, parse_constant=lambda name: pytest.fail(f"report.json holds {name}: not JSON"))
    assert set(report["metrics_raw_units"]) == {"tsgate", "naive", "seasonal naive (24)", "tsgate, uncalibrated"}
    calibrated, uncalibrated = (report["metrics_raw_units"][name] for name in ("tsgate", "tsgate, uncalibrated"))
    assert calibrated["MAE"] == pytest.approx(uncalibrated["MAE"], rel=1e-6)  # the same point forecast
    assert calibrated["width 0.1-0.9"] != pytest.approx(uncalibrated["width 0.1-0.9"])  # another band
    assert all(m["MAE"] > 0 and m["RMSE"] >= m["MAE"] for m in report["metrics_raw_units"].values())
    assert 0 <= report["metrics_raw_units"]["tsgate"]["coverage 0.1-0.9"] <= 1
    assert report["metrics_raw_units"]["naive"]["pinball"] is None  # a point forecast has no quantiles
    assert report["windows"]["train"] > 7800 and report["windows"]["dropped_for_gaps"] == 0
    assert os.path.getsize(report["plot"]) > 10_000
    assert os.path.exists(os.path.join(report["saved_model"], "saved_model.pb"))
    assert report["serving_max_abs_diff"] <= 1e-4
