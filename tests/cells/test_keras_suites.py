"""Keras' own GRU, LSTM and Bidirectional test suites, read at test time from
the installed keras package and run against tsgate's layers (issue #16).

Each Keras test module (`keras/src/layers/rnn/{gru,lstm,bidirectional}_test.py`)
is executed afresh under a private module name, with the `layers` name it
uses replaced by a namespace whose `GRU` and `LSTM` are `tsgate.GRU` and
`tsgate.LSTM` (everything else is `keras.layers`). Its `TestCase` classes, subclassed
here, are collected by pytest from this module. While a test runs,
constructing a Keras GRU/LSTM is an error, and a test whose source names
`layers.GRU` or `layers.LSTM` must have constructed a tsgate layer: the
substitution is checked, not assumed.
"""

import functools
import importlib.util
import inspect
import pathlib
import re
import unittest
from unittest import mock

import keras
from keras.src import layers as keras_layers

import tsgate
from tsgate.cells.sequence import SequenceLayer

KERAS_RNN_TESTS = pathlib.Path(importlib.util.find_spec("keras.src.layers.rnn").origin).parent

# Tests left out, each because it inspects Keras-internal machinery that tsgate
# deliberately does not have.
EXCLUDED = {
    "bidirectional_test.py::SimpleRNNTest::test_keeps_use_cudnn": (
        "constructs GRU/LSTM with use_cudnn=True, which tsgate refuses by design (its layers "
        "never emit cuDNN-only ops, keras #18504); False and 'auto' are kept through "
        "Bidirectional in test_layers.py::test_bidirectional_keeps_use_cudnn"
    ),
    "bidirectional_test.py::SimpleRNNTest::test_fused_lstm_eligibility": (
        "asserts Bidirectional._can_attempt_fused_lstm, Keras' cuDNN-fused bidirectional path, "
        "which accepts only keras.layers.LSTM; tsgate never takes it"
    ),
    "bidirectional_test.py::SimpleRNNTest::test_fused_gru_eligibility": (
        "asserts Bidirectional._can_attempt_fused_gru, Keras' cuDNN-fused bidirectional path, "
        "which accepts only keras.layers.GRU; tsgate never takes it"
    ),
}


class TsgateLayers:
    """`keras.src.layers` with tsgate's GRU and LSTM in place of Keras'."""

    GRU = tsgate.GRU
    LSTM = tsgate.LSTM

    def __getattr__(self, name):
        return getattr(keras_layers, name)


def load_keras_suite(name):
    """Keras' `<name>_test.py`, executed as a private module whose `layers` is
    `TsgateLayers()`."""
    path = KERAS_RNN_TESTS / f"{name}_test.py"
    spec = importlib.util.spec_from_file_location(f"tsgate_keras_suite_{name}_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.layers is keras_layers, f"{path} no longer imports `layers` from keras.src"
    module.layers = TsgateLayers()
    return module


def substitution_checked(method):
    """`method` run with Keras' GRU/LSTM constructors refused, then required
    to have built a tsgate GRU/LSTM for each of `layers.GRU`/`layers.LSTM`
    that its source names."""
    source = inspect.getsource(method)
    named = [cls for cls in (tsgate.GRU, tsgate.LSTM) if re.search(rf"layers\.{cls.__name__}\b", source)]
    init = SequenceLayer.__init__

    @functools.wraps(method)
    def test(self, *args, **kwargs):
        built = []

        def counting_init(layer, *args, **kwargs):
            built.append(type(layer))
            init(layer, *args, **kwargs)

        def refuse(layer, *args, **kwargs):
            raise AssertionError(f"the Keras suite built a keras.layers.{type(layer).__name__}")

        with (
            mock.patch.object(SequenceLayer, "__init__", counting_init),
            mock.patch.object(keras.layers.GRU, "__init__", refuse),
            mock.patch.object(keras.layers.LSTM, "__init__", refuse),
        ):
            method(self, *args, **kwargs)
        for cls in named:
            assert cls in built, f"the test names layers.{cls.__name__} but built no tsgate.{cls.__name__}"

    return test


def tsgate_suite(module, test_class):
    """A subclass of Keras' `test_class` whose tests are substitution-checked,
    the `EXCLUDED` ones skipped with their reason."""
    methods = {}
    for method in unittest.TestLoader().getTestCaseNames(test_class):
        methods[method] = substitution_checked(getattr(test_class, method))
    prefix = f"{pathlib.Path(module.__file__).name}::{test_class.__name__}::"
    for key, reason in EXCLUDED.items():
        if key.startswith(prefix):
            method = key.removeprefix(prefix)
            assert method in methods, f"excluded test {key} no longer exists in Keras"
            methods[method] = unittest.skip(f"excluded: {reason}")(methods[method])
    return type(test_class.__name__, (test_class,), methods)


SUITES = ("gru", "lstm", "bidirectional")


def collect_suites():
    """`{Keras_<suite>_<TestCase>: tsgate subclass}` for every TestCase class
    defined in the Keras test modules."""
    classes = {}
    for suite in SUITES:
        module = load_keras_suite(suite)
        for test_class in vars(module).values():
            if (
                isinstance(test_class, type)
                and issubclass(test_class, unittest.TestCase)
                and test_class.__module__ == module.__name__
            ):
                classes[f"Keras_{suite}_{test_class.__name__}"] = tsgate_suite(module, test_class)
    return classes


globals().update(collect_suites())


def test_every_keras_suite_and_exclusion_is_collected():
    collected = [name for name in globals() if name.startswith("Keras_")]
    assert sorted({name.split("_")[1] for name in collected}) == sorted(SUITES)
    files = {key.split("::")[0] for key in EXCLUDED}
    assert files <= {f"{suite}_test.py" for suite in SUITES}
