"""fit(checkpoint_dir=...) under kill -9: a fit killed at any moment resumes
without manual clean-up, from the right epoch, with EarlyStopping's best value
and weights.

Each kill test runs a fit in a child process that SIGKILLs itself at a chosen
point of the checkpoint writes (or is SIGKILLed from outside), then resumes
the fit in this process. The children start together (module fixture)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

from tests.helpers import BACKEND, hourly
from tsgate.forecaster import Forecaster
from tsgate.checkpoints import Checkpoints

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 5
ARGUMENTS = {"target": "y", "lookback": 12, "horizon": 3, "units": 4, "learning_rate": 1e-2}
FIT = {"epochs": EPOCHS, "patience": 10, "batch_size": 32, "verbose": 0}  # no early stop: every epoch runs

CHILD = textwrap.dedent("""
    import os, shutil, signal, sys
    import keras
    from tests.helpers import hourly
    from tsgate import Forecaster

    directory, point, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
    calls = {"n": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def count():
        calls["n"] += 1
        return calls["n"] == nth

    def torn(original):  # writes the file, tears it in half, dies: a kill in the middle of the write
        def write(self, path, *args, **kwargs):
            original(self, path, *args, **kwargs)
            if count():
                with open(path, "r+b") as f:
                    f.truncate(os.path.getsize(path) // 2)
                die()
        return write

    if point == "torn-weights":
        keras.Model.save_weights = torn(keras.Model.save_weights)
    elif point == "torn-best":
        keras.Model.save = torn(keras.Model.save)
    elif point == "before-state":  # the state file written in full, not yet renamed into place
        real_replace = os.replace
        def replace(source, target):
            if target.endswith("state.json") and count():
                die()
            real_replace(source, target)
        os.replace = replace
    elif point == "finish":  # the state removed, the backup not yet
        real_rmtree = shutil.rmtree
        def rmtree(path, *args, **kwargs):
            if str(path).endswith("backup"):
                die()
            real_rmtree(path, *args, **kwargs)
        shutil.rmtree = rmtree
    Forecaster(**ARGUMENTS).fit(hourly(200), checkpoint_dir=directory, **FIT)
""")

KILLS = {"torn-weights": 3, "torn-best": 2, "before-state": 3, "finish": 1, "external": 0}


def _state(directory):
    path = os.path.join(directory, "backup", "state.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """{kill point: (checkpoint directory, exit status)} of the children, all
    run at once; "external" is SIGKILLed by this process once epoch 2 is saved."""
    root = tmp_path_factory.mktemp("kills")
    script = root / "child.py"
    script.write_text(f"ARGUMENTS = {ARGUMENTS!r}\nFIT = {FIT!r}\n" + CHILD)
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    children = {}
    for point, nth in KILLS.items():
        directory = str(root / point)
        log = open(root / f"{point}.log", "w")
        children[point] = directory, subprocess.Popen([sys.executable, str(script), directory, point, str(nth)],
                                                      cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    directory, external = children["external"]
    while external.poll() is None and time.monotonic() < deadline:
        state = _state(directory) if os.path.exists(os.path.join(directory, "backup", "state.json")) else None
        if state and state["epoch"] >= 2:
            external.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    results = {}
    for point, (directory, child) in children.items():
        child.wait(timeout=max(1.0, deadline - time.monotonic()))
        results[point] = directory, child.returncode, (root / f"{point}.log").read_text()[-3000:]
    return results


@pytest.mark.parametrize("point", sorted(KILLS))
def test_a_killed_fit_resumes_from_its_last_epoch_and_keeps_the_best(killed, point, monkeypatch):
    directory, status, log = killed[point]
    assert status == -signal.SIGKILL, log  # the child died where it was meant to, not after finishing
    before = _state(directory)
    starts = []
    original_fit = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: starts.append(k["initial_epoch"]) or original_fit(self, *a, **k))

    forecaster = Forecaster(**ARGUMENTS).fit(hourly(200), checkpoint_dir=directory, **FIT)  # no clean-up by hand

    done = 0 if before is None else before["epoch"]
    assert starts == [done]
    if point == "finish":
        assert done == 0  # the kill came after the fit had ended: a fresh fit, leftovers removed
    else:
        assert 1 <= done < EPOCHS
        history = forecaster.history_.history
        assert len(history["val_loss"]) == EPOCHS and forecaster.history_.epoch == list(range(EPOCHS))
        np.testing.assert_allclose(history["val_loss"][:done], before["history"]["val_loss"])  # the past is kept
    assert not os.path.exists(os.path.join(directory, "backup"))  # a finished fit leaves no state to resume
    assert not [name for name in os.listdir(directory) if name.startswith(".tmp-")]
    # Restored best weights: those of the best epoch over the whole run, which best.keras holds.
    best = keras.saving.load_model(os.path.join(directory, "best.keras"), compile=False)
    for saved, final in zip(best.get_weights(), forecaster.model_.get_weights()):
        np.testing.assert_array_equal(saved, final)


def _tiny_model():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def _epochs(model, directory, losses, patience=2):
    """Runs `losses` as the validation losses of the next epochs with
    EarlyStopping and the checkpoints, as `fit` would; "training" adds 1 to
    every weight each epoch. Returns the callbacks and the epoch resumed at."""
    stopping = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    checkpoints = Checkpoints(str(directory), stopping, {"run": 1})
    start, _ = checkpoints.restore(model)
    callbacks = keras.callbacks.CallbackList([stopping, checkpoints], model=model)
    callbacks.on_train_begin()
    for epoch, loss in enumerate(losses, start):
        model.set_weights([w + 1 for w in model.get_weights()])
        callbacks.on_epoch_end(epoch, {"loss": loss, "val_loss": loss})
        if model.stop_training:
            break
    return stopping, start


def test_early_stopping_remembers_its_best_value_wait_and_weights_across_a_kill(tmp_path):
    model = _tiny_model()
    _epochs(model, tmp_path, [1.0, 0.5, 0.8])  # killed after epoch 3: best 0.5 at epoch 2, waited 1
    best_weights = keras.saving.load_model(tmp_path / "best.keras").get_weights()

    resumed = _tiny_model()  # a new process: fresh weights, fresh callbacks
    stopping, start = _epochs(resumed, tmp_path, [0.9, 0.7, 0.6])
    assert start == 3 and stopping.best == 0.5
    assert resumed.stop_training and stopping.stopped_epoch == 3  # patience 2 counts the epoch before the kill
    stopping.on_train_end()
    for restored, best in zip(resumed.get_weights(), best_weights):
        np.testing.assert_array_equal(restored, best)


def test_a_checkpoint_directory_of_another_fit_or_garbage_is_named(tmp_path):
    _epochs(_tiny_model(), tmp_path, [1.0])
    stopping = keras.callbacks.EarlyStopping()
    with pytest.raises(ValueError, match="holds the checkpoints of an interrupted fit with other arguments"):
        Checkpoints(str(tmp_path), stopping, {"run": 2}).restore(_tiny_model())
    (tmp_path / "backup" / "state.json").write_text("{not json")
    with pytest.raises(ValueError, match="state.json' is unreadable"):
        Checkpoints(str(tmp_path), stopping, {"run": 1}).restore(_tiny_model())
