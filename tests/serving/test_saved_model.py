"""SavedModel export: served by TensorFlow alone, portable to CPU TF Serving."""

import os

import keras
import numpy as np
import pytest

import tsgate
from tests.helpers import BACKEND, randomize
from tsgate import serving
from tsgate.serving import atomic

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="SavedModel export needs TensorFlow")

T, D = 12, 3


def tsgate_model():
    seq = keras.Input((T, D), name="past_target")
    h = tsgate.GRU(6, return_sequences=True)(seq)
    h = tsgate.LSTM(5, peephole=True, layer_norm=True, return_sequences=True)(h)
    h = keras.layers.Bidirectional(tsgate.MemoryGRU(4))(h)
    model = keras.Model(seq, keras.layers.Dense(2)(h))
    return randomize(model)


def sample(batch):
    return np.random.default_rng(batch).normal(size=(batch, T, D)).astype("float32")


def test_keras_export_serves_without_tsgate(tmp_path):
    model = tsgate_model()
    path = str(tmp_path / "1")
    model.export(path, verbose=False)
    for batch in (1, 7):  # the batch dimension stays variable
        outputs = serving.serve_in_fresh_process(path, {"past_target": sample(batch)})
        (served,) = outputs.values()
        np.testing.assert_allclose(served, model(sample(batch)), atol=1e-5)
    ops = serving.saved_model_op_types(path)
    assert "MatMul" in ops and not any(op.startswith("CudnnRNN") for op in ops)


def test_conv_gru_and_sru_export_serves_without_tsgate(tmp_path):
    frames = keras.Input((T, 6, 6, 1), name="frames")
    h = tsgate.ConvGRU2D(3, 3, padding="same", return_sequences=True, zoneout=0.1)(frames)
    h = keras.layers.Reshape((T, 6 * 6 * 3))(h)
    h = tsgate.SRU(4, layer_norm=True)(h)
    model = randomize(keras.Model(frames, keras.layers.Dense(2)(h)))
    x = np.random.default_rng(0).normal(size=(3, T, 6, 6, 1)).astype("float32")
    path = serving.export_saved_model(model, tmp_path / "1")
    (served,) = serving.serve_in_fresh_process(path, {"frames": x}).values()
    np.testing.assert_allclose(served, model(x), atol=1e-5)


def test_export_saved_model_writes_a_checked_version(tmp_path):
    model = tsgate_model()
    path = serving.export_saved_model(model, tmp_path / "models" / "1")
    assert os.listdir(tmp_path / "models") == ["1"]
    (served,) = serving.serve_in_fresh_process(path, {"past_target": sample(3)}).values()
    np.testing.assert_allclose(served, model(sample(3)), atol=1e-5)
    with pytest.raises(ValueError, match="already exists"):
        serving.export_saved_model(model, path)


def cudnn_saved_model(path):
    import tensorflow as tf

    class CudnnGRU(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([5, 2, 3], tf.float32)])
        def serving_default(self, x):
            h = tf.zeros([1, 2, 4])
            out = tf.raw_ops.CudnnRNNV3(
                input=x, input_h=h, input_c=h, params=tf.zeros([120]), sequence_lengths=tf.fill([2], 5),
                rnn_mode="gru", is_training=False,
            )
            return {"y": out[0]}

    module = CudnnGRU()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serving_default})


def test_check_portable_refuses_cudnn_ops(tmp_path):
    cudnn_saved_model(str(tmp_path))
    assert "CudnnRNNV3" in serving.saved_model_op_types(str(tmp_path))
    with pytest.raises(ValueError, match=r"GPU-only ops \['CudnnRNNV3'\]"):
        serving.check_portable(str(tmp_path))


def test_refused_or_interrupted_export_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "check_portable", interrupted)
    with pytest.raises(KeyboardInterrupt):
        serving.export_saved_model(tsgate_model(), tmp_path / "1")
    assert os.listdir(tmp_path) == []


def test_staging_happens_outside_the_served_base_path(tmp_path, monkeypatch):
    staged = []
    check = atomic.check_portable
    monkeypatch.setattr(atomic, "check_portable", lambda path: (staged.append(path), check(path)))
    path = serving.export_saved_model(tsgate_model(), tmp_path / "models" / "1")
    assert os.path.dirname(staged[0]) == str(tmp_path / ".models.tsgate-staging")
    assert os.listdir(tmp_path / "models") == ["1"] and os.path.basename(path) == "1"
    assert os.listdir(tmp_path / ".models.tsgate-staging") == [".tsgate-export.lock"]


def test_stale_staging_is_cleared_unless_an_export_is_running(tmp_path):
    import fcntl

    base = tmp_path / "models"
    area = tmp_path / ".models.tsgate-staging"
    for debris in (area / ".tsgate-export-killed", base / ".tsgate-export-legacy"):  # kill -9 leftovers
        os.makedirs(debris / "variables")
    running = os.open(area / ".tsgate-export.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(running, fcntl.LOCK_SH)  # another export is writing: its staging may be one of them
    serving.export_saved_model(tsgate_model(), base / "1")
    assert (area / ".tsgate-export-killed").exists() and (base / ".tsgate-export-legacy").exists()
    os.close(running)
    serving.export_saved_model(tsgate_model(), base / "2")
    assert sorted(os.listdir(base)) == ["1", "2"] and os.listdir(area) == [".tsgate-export.lock"]


def test_staging_falls_back_to_the_base_path_across_file_systems(tmp_path, monkeypatch):
    base = str(tmp_path / "mounted")
    os.makedirs(base)
    assert atomic.staging_area(base) == str(tmp_path / ".mounted.tsgate-staging")
    real_stat = os.stat

    def stat(path, *args, **kwargs):  # the base path is a mount point: every path its own device
        fields = list(real_stat(path, *args, **kwargs)[:10])
        fields[2] = len(os.fspath(path))
        return os.stat_result(fields)

    monkeypatch.setattr(atomic.os, "stat", stat)
    assert atomic.staging_area(base) == base


@pytest.mark.parametrize("version", ["0", "-1", "abc", "007", "1.5", str(2**63), "١"])
def test_export_version_must_be_a_positive_integer(tmp_path, version):
    with pytest.raises(ValueError, match="must end in its version, a positive integer"):
        serving.export_saved_model(tsgate_model(), tmp_path / "models" / version)
    assert not (tmp_path / "models").exists()


def test_a_second_export_to_a_version_overwrites_nothing(tmp_path):
    path = serving.export_saved_model(tsgate_model(), tmp_path / "1")
    before = {name: os.path.getmtime(os.path.join(path, name)) for name in os.listdir(path)}
    with pytest.raises(ValueError, match="already exists; nothing was overwritten"):
        serving.export_saved_model(tsgate_model(), path)
    assert {name: os.path.getmtime(os.path.join(path, name)) for name in os.listdir(path)} == before
