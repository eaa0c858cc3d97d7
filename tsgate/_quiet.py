"""Quiet by default: TensorFlow's start-up lines kept off stderr.

TensorFlow's C++ core logs a few lines while it loads and when it first looks
for devices ("oneDNN custom operations are on", "Could not find cuda
drivers", "failed call to cuInit", the absl banner), before its own
`TF_CPP_MIN_LOG_LEVEL` applies, so no environment variable hides them.
`install()`, run when tsgate is imported, sets tsgate's environment defaults
(never replacing a value the user set) and, if TensorFlow is not loaded yet,
captures stderr (file descriptor 2) while it loads: the start-up lines are
dropped, every other line is written back. `TF_CPP_MIN_LOG_LEVEL=0` shows
them all.
"""

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}  # TF's C++ INFO and WARNING lines off; errors stay
START_UP = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} [\d:. ]+\d+ \S+\] (oneDNN custom operations are on|Could not find cuda drivers"
    rb"|failed call to cuInit|This TensorFlow binary is optimized)"
    rb"|To enable the following instructions: .* rebuild TensorFlow)"
)
KERAS_RETRACING = re.compile(r"calls to <function TensorFlowTrainer\.\S+ at \S+> triggered tf\.function retracing")


def install():
    """Sets the environment defaults and quiets TensorFlow's first import."""
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())


def _wanted():
    """Whether start-up lines are to be dropped: unless the user asked for TF's INFO lines."""
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", ENVIRONMENT["TF_CPP_MIN_LOG_LEVEL"]).strip() not in ("", "0")


@contextlib.contextmanager
def start_up_lines_dropped():
    """Captures file descriptor 2 in the block, then writes back what it
    received except TensorFlow's start-up lines."""
    if not _wanted():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 to capture
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True) if not START_UP.match(line)]
            if kept:
                os.write(2, b"".join(kept))


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, for a loader that runs it, and its first
    device query, inside `start_up_lines_dropped`; then leaves `sys.meta_path`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with start_up_lines_dropped():
            self.loader.exec_module(module)
            module.config.list_physical_devices()  # the device look-up logs "failed call to cuInit" on CPU hosts


class _KerasRetracing(logging.Filter):
    def filter(self, record):
        return not KERAS_RETRACING.search(record.getMessage())


@contextlib.contextmanager
def keras_retracing_quiet():
    """Drops TensorFlow's "triggered tf.function retracing" warning about
    Keras' own train and predict steps in the block: TensorFlow counts the
    traces of every model's step together, so fitting or predicting with a
    few fresh models in one process (a backtest's folds, a refit) trips it,
    though each model traces only its own step."""
    logger, quiet = logging.getLogger("tensorflow"), _KerasRetracing()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
