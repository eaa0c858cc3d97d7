"""tsgate.training and fit's Keras options: the user's callbacks, verbose
"auto" (one line per epoch off a terminal), the fit options kept and saved."""

import io

import keras
import pytest

from tests.helpers import BACKEND, hourly
from tsgate import Forecaster
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
    options = {"validation": 0.25, "epochs": 2, "batch_size": 16, "patience": 4}
    assert forecaster.fit_options_ == options
    assert Forecaster.load(forecaster.save(tmp_path / "f")).fit_options_ == options
    timed = Forecaster("y", lookback=12, horizon=3, units=4).fit(hourly(120), validation="2024-01-05", epochs=1,
                                                                 verbose=0)
    assert timed.fit_options_["validation"] == "2024-01-05"


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
