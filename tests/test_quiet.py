"""Quiet by default: `import tsgate` loads no framework, TensorFlow's start-up
lines stay off stderr, Keras' retracing warning is dropped where asked."""

import logging
import os
import subprocess
import sys

import pytest

import tsgate
from tests.helpers import BACKEND, hourly
from tsgate import _quiet

TENSORFLOW_START_UP = ("oneDNN custom operations", "Could not find cuda drivers", "cuInit", "absl::InitializeLog")


def python(code, **environment):
    """(stdout, stderr) of `code` run by a fresh Python with `environment` added (None: removed)."""
    env = {**os.environ, **environment}
    env = {name: value for name, value in env.items() if value is not None}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def test_importing_tsgate_loads_no_framework_until_a_name_is_used():
    out, _ = python("import sys, tsgate; heavy = ('tensorflow', 'keras', 'pandas', 'sklearn', 'jax');"
                    "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy)); tsgate.GRU;"
                    "print('tensorflow' in sys.modules or 'jax' in sys.modules)")
    assert out.split("\n")[:2] == ["[]", "True"]


def test_tensorflow_start_up_lines_are_dropped_and_other_stderr_kept():
    code = ("import os, sys, tsgate; tsgate.Forecaster; import tensorflow as tf; tf.constant(1.0) + 1;"
            "print('after import', file=sys.stderr); print(os.environ['TF_CPP_MIN_LOG_LEVEL'])")
    out, err = python(code, TF_CPP_MIN_LOG_LEVEL=None, KERAS_BACKEND="tensorflow")
    assert out.strip() == "2" and err.strip() == "after import", err
    out, err = python(code, TF_CPP_MIN_LOG_LEVEL="0", KERAS_BACKEND="tensorflow")  # the user's setting wins
    assert out.strip() == "0" and any(line in err for line in TENSORFLOW_START_UP), err


def test_start_up_filter_keeps_every_other_line():
    lines = [b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
             b"I0000 00:00:1795476839.213167   24375 port.cc:153] oneDNN custom operations are on. You may see\n",
             b"I0000 00:00:1795476839.213541   24375 cudart_stub.cc:31] Could not find cuda drivers on your machine\n",
             b"E0000 00:00:1795476842.710776   24375 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA\n",
             b"E0000 00:00:1795476842.710776   24375 other.cc:52] a real error\n", b"a Python warning\n"]
    assert [line for line in lines if not _quiet.START_UP.match(line)] == lines[-2:]


def test_keras_retracing_warning_is_dropped_only_inside_the_block(caplog):
    message = ("5 out of the last 13 calls to <function TensorFlowTrainer._make_function.<locals>."
               "multi_step_on_iterator at 0x7f> triggered tf.function retracing. Tracing is expensive")
    predict = ("5 out of the last 9 calls to <function TensorFlowTrainer.make_predict_function.<locals>."
               "one_step_on_data_distributed at 0x7f> triggered tf.function retracing. Tracing is expensive")
    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        with _quiet.keras_retracing_quiet():
            logger.warning(message)
            logger.warning(predict)
            logger.warning("5 out of the last 5 calls to <function my_step> triggered tf.function retracing.")
        logger.warning(message)
    assert [record.getMessage()[:30] for record in caplog.records] == ["5 out of the last 5 calls to <", message[:30]]


def test_public_names_are_the_cells_forecaster_and_interchange():
    from tsgate import cells

    assert list(tsgate._CELLS) == cells.__all__  # written out so that import tsgate loads no framework
    assert all(getattr(tsgate, name) is not None for name in tsgate.__all__)
    assert set(tsgate.__all__) <= set(dir(tsgate))
    assert not [name for name in dir(tsgate) if name.startswith("_") and name != "__version__"] + \
        [name for name in ("importlib", "_quiet") if name in dir(tsgate)]
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchCell'"):
        tsgate.NoSuchCell


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's tf.function retracing warning")
def test_fitting_and_predicting_several_forecasters_logs_no_retracing(caplog):
    from tsgate import Forecaster

    df = hourly(120)
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for seed in range(4):  # each new model traces its own steps; TensorFlow counted them together
            Forecaster("y", lookback=12, horizon=3, units=4, seed=seed).fit(df, epochs=1, verbose=0).predict(df)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
