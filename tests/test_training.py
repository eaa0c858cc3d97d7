"""tsgate.training and fit's Keras options: the user's callbacks, verbose
"auto" (one line per epoch off a terminal), the fit options kept and saved."""

import io

import keras
import numpy as np
import pytest

from tests.helpers import BACKEND, hourly
from tsgate import Forecaster, training
from tsgate.training import resolve_verbose

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, sorted(logs)))


def test_callbacks_run_with_tsgates_and_fit_options_are_kept(tmp_path):
    recorder = Recorder()
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4)
    forecaster.fit(hourly(120), validation=0.25, epochs=2, batch_size=16, patience=4, verbose=0,
                   callbacks=[recorder, keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    assert recorder.epochs == [(0, ["loss", "val_loss"]), (1, ["loss", "val_loss"])]
    assert (tmp_path / "log.csv").read_text().count("\n") == 3  # a header and one row per epoch
    options = {"validation": 0.25, "epochs": 2, "batch_size": 16, "patience": 4, "steps_per_epoch": None}
    assert forecaster.fit_options_ == options
    assert Forecaster.load(forecaster.save(tmp_path / "f")).fit_options_ == options
    timed = Forecaster("y", lookback=12, horizon=3, units=4).fit(hourly(120), validation="2024-01-05", epochs=1,
                                                                 verbose=0)
    assert timed.fit_options_["validation"] == "2024-01-05"


@pytest.mark.parametrize("steps_per_epoch", [None, 2, 12])
def test_steps_per_epoch_sets_the_batches_of_an_epoch_and_the_schedule(steps_per_epoch):
    """None: an epoch is one pass (76 training windows, batches of 16: 5
    steps); else that many batches, fewer than a pass or more (the windows
    repeated). The cosine schedule reaches 0 at the last step either way."""
    recorder = Recorder()
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, schedule="cosine")
    forecaster.fit(hourly(120), validation=0.25, epochs=3, batch_size=16, patience=5, verbose=0,
                   steps_per_epoch=steps_per_epoch, callbacks=[recorder])
    assert forecaster.windows_["train"] == 76 and len(recorder.epochs) == 3
    assert int(forecaster.model_.optimizer.iterations) == 3 * (steps_per_epoch or 5)
    assert float(forecaster.model_.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-7)
    assert forecaster.fit_options_["steps_per_epoch"] == steps_per_epoch


@pytest.mark.parametrize("callbacks", [keras.callbacks.History(), [print], "tensorboard"])
def test_callbacks_that_are_not_a_list_of_keras_callbacks_are_named(callbacks):
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4)
    with pytest.raises(ValueError, match="argument `callbacks`, expected None or a list of keras.callbacks.Callback"):
        forecaster.fit(hourly(120), epochs=1, verbose=0, callbacks=callbacks)
    assert not hasattr(forecaster, "model_")


def test_verbose_auto_is_one_line_per_epoch_off_a_terminal(monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", Terminal())
    assert resolve_verbose("auto") == 1
    monkeypatch.undo()
    assert resolve_verbose("auto") == 2 and resolve_verbose(0) == 0  # pytest captures stdout: not a terminal
    Forecaster("y", lookback=12, horizon=3, units=4).fit(hourly(120), epochs=2, patience=4)
    out = capsys.readouterr().out
    assert out.count("val_loss") == 2 and "━" not in out and "\r" not in out  # no progress bar


def test_an_outage_in_the_validation_period_does_not_make_the_validation_loss_look_better(monkeypatch):
    """With missing targets (`fill`), `val_loss` (what EarlyStopping and the
    checkpoints pick the best epoch by) is the mean over the observed
    validation targets, not Keras' mean of batch losses by batch size, in
    which the batches of the outage would count as 0."""
    datasets, train = [], training.train

    def recording_train(model, train_data, validation, *args):
        datasets.append(validation)
        return train(model, train_data, validation, *args)

    monkeypatch.setattr(training, "train", recording_train)
    df = hourly(200)
    df.iloc[165:185, 0] = np.nan  # in the validation period (the last 50 rows)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, fill="ffill")
    forecaster.fit(df, validation=0.25, epochs=1, batch_size=8, verbose=0)
    squares, batch_means, sizes = [], [], []
    for inputs, labels in datasets[0]:
        error = (labels.numpy() - np.asarray(forecaster.model_(inputs, training=False))) ** 2
        observed = error[np.isfinite(error)]
        squares.append(observed)
        batch_means.append(observed.mean() if observed.size else 0.0)
        sizes.append(len(labels))
    expected = np.concatenate(squares).mean()
    assert any(size == 0 for size in map(len, squares))  # a batch of the outage has no observed target
    assert not np.isclose(np.average(batch_means, weights=sizes), expected, rtol=0.05)
    np.testing.assert_allclose(forecaster.history_.history["val_loss"], [expected], rtol=1e-5)
