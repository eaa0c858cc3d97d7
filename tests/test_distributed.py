"""tsgate.distributed: two MultiWorkerMirroredStrategy workers on 127.0.0.1
(subprocesses running tests/distributed_worker.py), each with half the
series; the scaler statistics merged across workers; what is refused."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pandas as pd
import pytest

from tests.distributed_worker import FORECASTER, panel
from tests.helpers import BACKEND
from tsgate import Forecaster
from tsgate.scaler_statistics import merge_statistics, statistics
from tsgate.scaling import AffineScaler

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute runs on TensorFlow")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(out, epochs, checkpoint_dir=None, sleep=0.0):
    """The two worker processes of one run (TF_CONFIG on fresh ports)."""
    cluster = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ROOT}
        args = [sys.executable, "-m", "tests.distributed_worker", str(out), str(epochs)]
        args += [str(checkpoint_dir), str(sleep)] if checkpoint_dir else []
        log = open(os.path.join(out, f"log-{index}.txt"), "w")
        processes.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    return processes


def finish(processes, out, timeout=240):
    for index, process in enumerate(processes):
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            pytest.fail(f"worker {index} did not finish in {timeout} s")
        if process.returncode != 0:
            with open(os.path.join(out, f"log-{index}.txt")) as f:
                pytest.fail(f"worker {index} failed:\n{f.read()[-3000:]}")


def fitted(out, index):
    with open(os.path.join(out, f"worker-{index}", "fit.json")) as f:
        state = json.load(f)
    with np.load(os.path.join(out, f"worker-{index}", "weights.npz")) as weights:
        state["weights"] = [weights[name] for name in weights.files]
    return state


def test_two_workers_agree_with_one_process(tmp_path):
    finish(start_workers(tmp_path, 4), tmp_path)
    chief, other = fitted(tmp_path, 0), fitted(tmp_path, 1)
    assert all(np.array_equal(a, b) for a, b in zip(chief["weights"], other["weights"]))
    assert chief["history"] == other["history"]
    assert chief["history"]["loss"][-1] < chief["history"]["loss"][0]
    assert chief["series"] == ["s0", "s1", "s2", "s3"]

    one = Forecaster(**FORECASTER).fit(panel(), validation=0.25, epochs=1, batch_size=16, verbose=0)
    assert chief["windows"] == one.windows_
    for state in (chief, other):
        scaler = AffineScaler.from_json(state["scaler"])
        for name in ("scale_", "offset_", "static_scale_", "static_offset_", "range_"):
            np.testing.assert_allclose(getattr(scaler, name), getattr(one.scaler_, name), rtol=1e-12, err_msg=name)

    loaded = Forecaster.load(str(tmp_path / "model"))
    in_memory = pd.read_csv(tmp_path / "predict.csv", index_col=[0, 1], parse_dates=[1])
    np.testing.assert_allclose(loaded.predict(panel()).to_numpy(), in_memory.to_numpy(), rtol=1e-5)


def test_a_killed_worker_resumes_from_its_checkpoints(tmp_path):
    checkpoints, epochs = tmp_path / "checkpoints", 6
    processes = start_workers(tmp_path, epochs, checkpoints, sleep=2.0)
    deadline = time.time() + 240
    while not (tmp_path / "worker-1" / "epoch-2").exists():
        assert time.time() < deadline and processes[1].poll() is None, "worker 1 never finished epoch 2"
        time.sleep(0.2)
    os.kill(processes[1].pid, signal.SIGKILL)  # mid-training: between epoch 2 and 3
    processes[0].kill()  # its collectives wait for the dead peer: both are started again
    for process in processes:
        process.wait()
    states = []
    for index in range(2):
        with open(checkpoints / f"worker-{index}" / "backup" / "state.json") as f:
            states.append(json.load(f))
        for marker in (tmp_path / f"worker-{index}").glob("epoch-*"):
            marker.unlink()
    backed_up = states[0]["epoch"]
    assert backed_up >= 2 and states[1]["epoch"] == backed_up
    assert states[0]["early_stopping"]["best"] == min(states[0]["history"]["val_loss"])
    assert all((checkpoints / f"worker-{index}" / "best.keras").exists() for index in range(2))

    finish(start_workers(tmp_path, epochs, checkpoints), tmp_path)
    chief, other = fitted(tmp_path, 0), fitted(tmp_path, 1)
    assert len(list((tmp_path / "worker-0").glob("epoch-*"))) == epochs - backed_up  # fewer epochs the second time
    assert len(chief["history"]["loss"]) == epochs  # the history of the epochs before the kill is kept
    assert chief["history"]["val_loss"][:backed_up] == states[0]["history"]["val_loss"]
    assert chief["history"] == other["history"]
    assert all(np.array_equal(a, b) for a, b in zip(chief["weights"], other["weights"]))
    forecast = Forecaster.load(str(tmp_path / "model")).predict(panel())
    assert np.isfinite(forecast.to_numpy()).all()
    assert not checkpoints.joinpath("worker-0", "backup").exists()  # removed when the fit ended


def worker_checkpoints(tmp_path, monkeypatch, replies):
    """Worker 0 of 2's `Checkpoints` in `tmp_path/worker-0` and a fresh model; its
    all-gathers answer with its own value and then the other worker's next reply."""
    from tsgate import checkpoints, distributed

    monkeypatch.setattr(distributed, "worker", lambda strategy: (0, 2))
    monkeypatch.setattr(distributed, "all_gather", lambda strategy, value: [value, replies.pop(0)])
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    stopping = keras.callbacks.EarlyStopping(patience=9, restore_best_weights=True)
    return model, stopping, checkpoints.Checkpoints(str(tmp_path), stopping, {"fit": 1}, strategy="a strategy")


def test_workers_one_epoch_apart_resume_together_at_the_lower_epoch(tmp_path, monkeypatch):
    x, y = np.random.default_rng(0).normal(size=(2, 32, 3)), np.zeros((32, 1))
    model, stopping, checkpoints = worker_checkpoints(tmp_path, monkeypatch, [[None, []], None])
    assert checkpoints.restore(model) == (0, False)  # a first fit: nothing to resume on either worker
    after = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: after.append(model.get_weights()))
    model.fit(x[0], y, validation_data=(x[1], y), epochs=3, verbose=0, callbacks=[stopping, checkpoints, record])
    backup = tmp_path / "worker-0" / "backup"
    assert json.loads((backup / "state.json").read_text())["previous"]["epoch"] == 2

    model, stopping, checkpoints = worker_checkpoints(tmp_path, monkeypatch, [[None, [2, 1]], None])
    assert checkpoints.restore(model) == (2, False)  # the other worker was killed before saving epoch 3
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), after[1]))
    assert json.loads((backup / "state.json").read_text())["epoch"] == 2
    assert not (backup / "epoch-3.weights.h5").exists()
    assert len(checkpoints.history["loss"]) == 2


def test_a_worker_that_cannot_resume_stops_every_worker_and_none_kept_starts_afresh(tmp_path, monkeypatch):
    x = np.random.default_rng(0).normal(size=(32, 3))
    model, stopping, checkpoints = worker_checkpoints(tmp_path, monkeypatch, [[None, []], None])
    checkpoints.restore(model)
    model.fit(x, x[:, :1], validation_data=(x, x[:, :1]), epochs=2, verbose=0, callbacks=[stopping, checkpoints])

    model, _, checkpoints = worker_checkpoints(tmp_path, monkeypatch, [["its state is unreadable", []]])
    with pytest.raises(ValueError, match="worker 1: its state is unreadable"):
        checkpoints.restore(model)

    (tmp_path / "worker-0" / "backup" / "epoch-2.weights.h5").write_bytes(b"torn")
    replies = [[None, [2, 1]], None]
    model, _, checkpoints = worker_checkpoints(tmp_path, monkeypatch, replies)
    with pytest.raises(ValueError, match="Cannot load the checkpoint 'epoch-2.weights.h5'"):
        checkpoints.restore(model)
    assert replies == []  # this worker still took part in the gather the others wait in

    model, _, checkpoints = worker_checkpoints(tmp_path, monkeypatch, [[None, []], None])  # worker 1 had finished
    with pytest.warns(UserWarning, match="keep no common epoch"):
        assert checkpoints.restore(model) == (0, False)
    assert os.listdir(tmp_path / "worker-0" / "backup") == []


@pytest.mark.parametrize("per_series", [False, True])
@pytest.mark.parametrize("method", ["standard", "minmax"])
def test_merged_statistics_fit_the_scaler_of_all_rows(method, per_series):
    rng = np.random.default_rng(0)
    values = rng.normal(1000, 3, size=(200, 3))
    values[5, 1] = np.nan
    groups = np.repeat(np.array(["a", "b", "c", "d"], dtype=object), 50)
    static, passthrough = rng.normal(size=(4, 2)), np.array([False, False, True])
    keys = groups if per_series else np.full(200, None, dtype=object)
    parts = [statistics(values[rows], keys[rows], ~passthrough, static[2 * k: 2 * k + 2])
             for k, rows in enumerate((slice(0, 100), slice(100, 200)))]
    one = AffineScaler(method, per_series).fit(values, groups, static=static, passthrough=passthrough)
    two = AffineScaler(method, per_series).fit(values[100:], groups[100:], static=static[2:], passthrough=passthrough,
                                               reduce=lambda mine: merge_statistics([parts[0], mine]))
    assert two.groups_ == one.groups_
    for name in ("scale_", "offset_", "static_scale_", "static_offset_", "range_"):
        np.testing.assert_allclose(getattr(two, name), getattr(one, name), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("kwargs, message", [
    ({"scaler": "robust"}, "cannot be fitted across workers.*quantiles and medians"),
    ({"target_transform": "boxcox"}, "Box-Cox's lambda"),
    ({"categorical": ["x"]}, "categorical columns cannot be fitted across workers"),
])
def test_what_cannot_be_merged_is_refused_before_reading_data(kwargs, message):
    import tensorflow as tf

    forecaster = Forecaster(**{**FORECASTER, **kwargs})
    with pytest.raises(ValueError, match=message):
        forecaster.fit(None, strategy=tf.distribute.MirroredStrategy(["/cpu:0"]))


def test_bad_strategy_and_tf_config_are_named():
    from tsgate.distributed import strategy_from_tf_config

    with pytest.raises(ValueError, match="`strategy`"):
        Forecaster(**FORECASTER).fit(panel(), strategy="mirrored")
    with pytest.raises(ValueError, match="TF_CONFIG is not set"):
        strategy_from_tf_config({})
    with pytest.raises(ValueError, match="not a cluster and task"):
        strategy_from_tf_config({"TF_CONFIG": "{oops"})
    with pytest.raises(ValueError, match="not one of its cluster's workers"):
        strategy_from_tf_config({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]},
                                                          "task": {"type": "worker", "index": 3}})})


def test_mirrored_strategy_in_one_process_trains_like_fit():
    import tensorflow as tf

    forecaster = Forecaster(**FORECASTER).fit(panel(), validation=0.25, epochs=2, batch_size=16, verbose=0,
                                              strategy=tf.distribute.MirroredStrategy(["/cpu:0"]))
    assert forecaster.fit_options_["batch_size"] == 16
    assert np.isfinite(forecaster.predict(panel()).to_numpy()).all()
    stepped = Forecaster(**FORECASTER).fit(panel(), validation=0.25, epochs=2, batch_size=16, verbose=0,
                                           strategy=tf.distribute.MirroredStrategy(["/cpu:0"]), steps_per_epoch=3)
    assert int(stepped.model_.optimizer.iterations.numpy()) == 6


def test_cli_train_distributed_needs_tf_config(tmp_path, monkeypatch, capsys):
    from tsgate.cli import main

    monkeypatch.delenv("TF_CONFIG", raising=False)
    panel().to_csv(tmp_path / "panel.csv", index=False)
    with pytest.raises(SystemExit) as exit:
        main(["train", str(tmp_path / "panel.csv"), "--model", str(tmp_path / "model"), "--target", "y",
              "--lookback", "12", "--horizon", "4", "--series-column", "site", "--distributed"])
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("tsgate: TF_CONFIG is not set") and error.count("\n") == 1
