"""The examples run end to end (tiny settings: this checks they work, not how well)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND

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
