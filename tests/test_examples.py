"""The examples run end to end (tiny settings: this checks they work, not how well)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import BACKEND

EXAMPLES = Path(__file__).parent.parent / "examples"
pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="examples run on the default backend")


def test_convgru_sensor_grid_example_runs():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "convgru_sensor_grid.py"), "--epochs", "1", "--steps", "120"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("persistence", "per-pixel GRU", "ConvGRU2D"):
        assert name in result.stdout


@pytest.mark.parametrize(
    "script,args,expected",
    [
        ("stock_forecast.py", ["--epochs", "1", "--plot", "{tmp}/stock.png"], ["naive", "close_q0.9"]),
        ("sensor_forecast.py", ["--epochs", "1", "--folds", "2"], ["seasonal naive (7)", "fold"]),
        ("compose_keras_model.py", ["--epochs", "1", "--rows", "1000"], ["reloaded equals original: True", "served without tsgate"]),
    ],
)
def test_forecasting_examples_run(script, args, expected, tmp_path):
    args = [a.format(tmp=tmp_path) for a in args]
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    for text in expected:
        assert text in result.stdout


def test_field_forecast_example_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "field_forecast.py"), "--epochs", "1", "--sequences", "20", "--size", "16",
         "--plots", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for text in ("moving digits (another seed)", "persistence", "climatology", "TF Lite"):
        assert text in result.stdout
    assert (tmp_path / "digits_frames.png").exists() and (tmp_path / "digits_mse.png").exists()
