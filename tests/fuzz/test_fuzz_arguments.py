"""Generated bad arguments for the Forecaster's constructor, fit, predict,
historical_forecasts, evaluate and backtest.

Each example draws an argument and a value outside what it accepts (junk of
every type: None, bools, huge or negative ints, NaN/inf, strings, bytes,
lists, dicts, arrays, complex numbers, classes, objects), passes it in, and
requires a clear error (`tests.helpers.clear_error`) naming the argument (or,
for column names, the column) before anything is fitted.

Per run: 200 constructor + 100 fit + 50 predict/historical_forecasts/evaluate
+ 60 backtest = 410 bad arguments."""

import math
import numbers

import keras
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.preprocessing import StandardScaler

from tests.fuzz import fuzz
from tests.helpers import BACKEND, clear_error, hourly
from tsgate import Forecaster
from tsgate.calendar_features import CALENDAR_PERIODS
from tsgate.data import FILLS
from tsgate.choices import SCHEDULES
from tsgate.models import BUILDERS, CELLS, POINT_LOSSES
from tsgate.transforms import TRANSFORMS

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")

BASE = {"target": "y", "lookback": 8, "horizon": 3, "units": 2}
COLUMNS = ("y", "x")
LARGEST = 2**31 - 1


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=6), st.binary(max_size=3),
    st.complex_numbers(), st.lists(st.one_of(st.integers(-3, 3), st.floats(), st.text(max_size=2)), max_size=3),
    st.tuples(st.floats()), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([object(), StandardScaler, np.array([1, 2]), np.float64("nan"), np.int64(-1), pd.Timestamp("NaT"),
                     float("inf"), -0.0, 2**31, "", " ", "None", [[0.5]], {"units": 8}, b"h"]),
)


def _real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _size(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) and 0 < value <= LARGEST


def _names(value, allowed=COLUMNS):
    names = (value,) if isinstance(value, str) else value
    return isinstance(names, (list, tuple)) and all(isinstance(n, str) and n in allowed for n in names)


def _quantiles(value):
    if not isinstance(value, (list, tuple)) or not all(_real(q) for q in value):
        return False
    return 0.5 in value and all(0 < q < 1 for q in value) and len(set(value)) == len(value)


def _hashable_in(value, choices):
    try:
        return bool(value in choices)
    except (TypeError, ValueError):  # unhashable, or an array compared elementwise
        return False


# What each constructor argument accepts with the frame of `hourly` (columns y, x).
VALID = {
    "target": lambda v: _names(v) and len(v) > 0,
    "lookback": lambda v: _size(v) or isinstance(v, str) and v == "auto", "horizon": _size, "stride": _size, "units": _size, "layers": _size,
    "cell": lambda v: isinstance(v, str) and v in CELLS,
    "past_covariates": lambda v: _names(v, ("x",)),
    "future_covariates": lambda v: _names(v, ("x",)),
    "static_covariates": lambda v: isinstance(v, (list, tuple)) and not v,  # hourly has no static column
    "calendar": lambda v: _names(v, tuple(CALENDAR_PERIODS)),
    "quantiles": lambda v: v is None or _quantiles(v),
    "scaler": lambda v: isinstance(v, str) and v in ("standard", "minmax", "robust"),
    "scale_per_series": lambda v: isinstance(v, bool),
    "freq": lambda v: v is None or isinstance(v, str) and v.strip().lower() in ("h", "1h", "60min"),
    "time_column": lambda v: v is None,
    "series_column": lambda v: v is None,
    "fill": lambda v: _hashable_in(v, FILLS) and not isinstance(v, (float, bool)),
    "na_values": lambda v: v is None or _real(v) or isinstance(v, (list, tuple)) and all(_real(x) for x in v),
    "builder": lambda v: isinstance(v, str) and v in BUILDERS,
    "builder_options": lambda v: v is None or isinstance(v, dict) and not v,
    "loss": lambda v: isinstance(v, str) and v in POINT_LOSSES,
    "learning_rate": lambda v: _real(v) and math.isfinite(v) and v > 0,
    "schedule": lambda v: isinstance(v, str) and v in SCHEDULES,
    "seed": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32,
    "target_transform": lambda v: _hashable_in(v, TRANSFORMS) and not isinstance(v, (bool, float, int)),
    "non_negative": lambda v: isinstance(v, bool),
    "categorical": lambda v: isinstance(v, (list, tuple)) and not v,  # BASE has no covariates to encode
    "holidays": lambda v: v is None,  # BASE's calendar has no "holiday" field
}
COLUMN_ARGUMENTS = ("target", "past_covariates", "future_covariates", "static_covariates", "time_column",
                    "series_column")


def _expected(name, value):
    """What the error must name: the argument, or for column arguments the
    column(s) that are missing (or the role they clash with)."""
    names = [f"`{name}`"]
    if name in COLUMN_ARGUMENTS:
        names += ["missing", "one role only", "varies over time"]
    return names


def _bad(name):
    return JUNK.filter(lambda value: not VALID[name](value))


@pytest.fixture(scope="module")
def fitted():
    """A plain forecaster and one with a future covariate, fitted once."""
    plain = Forecaster(**BASE).fit(hourly(80), validation=0.3, epochs=1, verbose=0)
    future = Forecaster(**BASE, future_covariates=["x"]).fit(hourly(80), validation=0.3, epochs=1, verbose=0)
    return plain, future


@fuzz(200, shrink=False)
@given(data=st.data())
def test_bad_constructor_arguments_are_named_at_fit(data):
    name = data.draw(st.sampled_from(sorted(VALID)), label="argument")
    value = data.draw(_bad(name), label="value")
    forecaster = Forecaster(**{**BASE, name: value})
    assert getattr(forecaster, name) is value  # stored unchanged, validated in fit
    clear_error(lambda: forecaster.fit(hourly(80), validation=0.3, epochs=1, verbose=0), _expected(name, value))
    assert not hasattr(forecaster, "model_")


FIT_VALID = {
    "validation": lambda v: _real(v) and 0 < v < 1 or isinstance(v, str) and _timestamp(v),
    "epochs": _size, "batch_size": _size,
    "patience": lambda v: isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) and v >= 0,
    "steps_per_epoch": lambda v: v is None or _size(v),
    "checkpoint_dir": lambda v: v is None or isinstance(v, str),  # any path would be created: none is drawn
    "verbose": lambda v: _hashable_in(v, (0, 1, 2, "auto")) and not isinstance(v, float),
    "callbacks": lambda v: v is None or isinstance(v, (list, tuple)) and all(isinstance(c, keras.callbacks.Callback)
                                                                             for c in v),
}


def _timestamp(text):
    try:
        return pd.Timestamp(text) is not pd.NaT
    except (ValueError, TypeError, OverflowError):
        return False


@fuzz(100, shrink=False)
@given(data=st.data())
def test_bad_fit_arguments_are_named_before_anything_runs(data):
    name = data.draw(st.sampled_from(sorted(FIT_VALID)), label="argument")
    value = data.draw(JUNK.filter(lambda v: not FIT_VALID[name](v)), label="value")
    forecaster = Forecaster(**BASE)
    clear_error(lambda: forecaster.fit(hourly(80), **{"validation": 0.3, "epochs": 1, "verbose": 0, name: value}),
                [f"`{name}`"])
    assert not hasattr(forecaster, "model_")


def _not_a_time(value):
    if _real(value) and 0 < value < 1:
        return False
    return not (isinstance(value, str) and _timestamp(value))


@fuzz(50, shrink=False)
@given(data=st.data())
def test_bad_start_test_and_future_are_named(fitted, data):
    verb = data.draw(st.sampled_from(["historical_forecasts", "evaluate", "predict"]), label="verb")
    df = hourly(80)
    plain, with_future = fitted
    if verb == "predict":
        future = data.draw(JUNK, label="future")
        clear_error(lambda: with_future.predict(df, future=future), ["`future`"])
        return
    value = data.draw(JUNK.filter(_not_a_time), label="value")
    if verb == "evaluate":
        clear_error(lambda: plain.evaluate(df, test=value), ["`test`"])
    elif value is not None:  # start=None is valid: every window
        clear_error(lambda: plain.historical_forecasts(df, start=value), ["`start`"])


BACKTEST_VALID = {
    "folds": _size,
    "test": lambda v: _real(v) and 0 < v < 1,
    "refit": lambda v: isinstance(v, bool),
}


@fuzz(60, shrink=False)
@given(data=st.data())
def test_bad_backtest_arguments_are_named_before_fitting(data):
    name = data.draw(st.sampled_from([*BACKTEST_VALID, "fit_options"]), label="argument")
    forecaster = Forecaster(**BASE)
    if name == "fit_options":
        own = (*FIT_VALID, "df", "folds", "test", "refit", "by", "season")  # backtest's own parameters are no fit options
        key = data.draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in own and k.isidentifier()))
        options = {key: data.draw(JUNK)}
        clear_error(lambda: forecaster.backtest(hourly(200), folds=2, **options), ["`fit_options`", key])
        return
    value = data.draw(JUNK.filter(lambda v: not BACKTEST_VALID[name](v)), label="value")
    clear_error(lambda: forecaster.backtest(hourly(200), **{"folds": 2, name: value}), [f"`{name}`"])
    assert not hasattr(forecaster, "model_")
