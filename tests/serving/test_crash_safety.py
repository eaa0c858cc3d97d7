"""kill -9 during an export, at every stage: the model base path TF Serving
polls holds only complete integer versions (or nothing), staging debris lies
outside it, and the next export clears the debris without help."""

import os
import random
import signal
import subprocess
import sys
import time

import keras
import pytest

from tests.helpers import BACKEND
from tsgate import serving
from tsgate.serving import atomic

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="SavedModel export needs TensorFlow")

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Exports version 2 of a small model to argv[1], pausing forever at stage argv[2]
# after printing READY (stage "none": no pause), for the parent to kill it there.
CHILD = """
import os, sys, time
import keras
from tsgate import serving
from tsgate.serving import atomic

base, stage = sys.argv[1:]

def pause(*_):
    print("READY", flush=True)
    time.sleep(600)

export, check, rename, clean = keras.Model.export, atomic.check_portable, os.rename, atomic.remove_stale_staging
if stage == "half-written":
    def half(self, path, *args, **kwargs):
        with open(os.path.join(path, "saved_model.pb"), "wb") as f:
            f.write(b"half")
        pause()
    keras.Model.export = half
elif stage == "written":
    keras.Model.export = lambda self, path, *a, **k: (export(self, path, *a, **k), pause())
elif stage == "checked":
    atomic.check_portable = lambda path: (check(path), pause())
elif stage == "renamed":
    os.rename = lambda a, b: (rename(a, b), pause())
elif stage == "cleaning":
    atomic.remove_stale_staging = lambda area: (clean(area), pause())
model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)])
print("STARTED", flush=True)
serving.export_saved_model(model, os.path.join(base, "2"))
"""


def small_model():
    return keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)])


def assert_only_complete_versions(base):
    for name in os.listdir(base):
        assert name.isdigit(), f"{name} in the served base path {base}"
        serving.check_portable(os.path.join(base, name))  # parses saved_model.pb
        assert os.path.isdir(os.path.join(base, name, "variables"))


def staging_debris(base):
    area = atomic.staging_area(base)
    return [name for name in os.listdir(area) if name.startswith(atomic.STAGING_PREFIX)]


def test_kill_at_any_stage_leaves_complete_versions_only(tmp_path):
    stages = ["random", "half-written", "written", "checked", "renamed", "cleaning"]
    bases = {}
    for i, stage in enumerate(stages):
        base = str(tmp_path / f"models{i}" / "forecaster")
        serving.export_saved_model(small_model(), os.path.join(base, "1"))
        bases[i] = base
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": REPOSITORY}
    children = {
        i: subprocess.Popen([sys.executable, "-c", CHILD, bases[i], stage], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPOSITORY, env=env)
        for i, stage in enumerate(stages)
    }
    rng = random.Random(0)
    for i, child in children.items():
        assert child.stdout.readline() == b"STARTED\n", child.stderr.read()[-2000:]
        if stages[i] == "random":  # wait for the staging directory, then kill at a random moment
            deadline = time.time() + 60
            while not staging_debris(bases[i]) and child.poll() is None and time.time() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.3))
        else:
            assert child.stdout.readline() == b"READY\n", child.stderr.read()[-2000:]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        child.stdout.close()
        child.stderr.close()
    for i, base in bases.items():
        assert_only_complete_versions(base)
        names = set(os.listdir(base))
        assert names == ({"1", "2"} if stages[i] == "renamed" else {"1"}) or stages[i] == "random"
        if stages[i] in ("half-written", "written", "checked"):
            assert staging_debris(base)  # what the kill left, outside the base path
        serving.export_saved_model(small_model(), os.path.join(base, "3"))  # no manual clean-up
        assert_only_complete_versions(base)
        assert "3" in os.listdir(base) and not staging_debris(base)
