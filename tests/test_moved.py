"""tsgate._moved: names that moved in the restructuring are still read
from the modules that held them before."""

import importlib

import pytest

MOVED = [("tsgate.evaluation", "backtest", "tsgate.model_selection"),
         ("tsgate.evaluation", "BacktestResult", "tsgate.model_selection"),
         ("tsgate.scaling", "TargetTransform", "tsgate.transforms"),
         ("tsgate.scaling", "TRANSFORMS", "tsgate.transforms"),
         ("tsgate.scaling", "raw_unit_model", "tsgate.raw_model"),
         ("tsgate.scaling", "merge_statistics", "tsgate.scaler_statistics"),
         ("tsgate.layout", "CALENDAR_PERIODS", "tsgate.calendar_features"),
         ("tsgate.forecaster", "SCHEDULES", "tsgate.choices"),
         ("tsgate.forecaster", "HOLIDAY_YEARS", "tsgate.preprocessing")]


@pytest.mark.parametrize("old,name,new", MOVED)
def test_a_moved_name_is_the_one_of_its_new_module(old, name, new):
    assert getattr(importlib.import_module(old), name) is getattr(importlib.import_module(new), name)


def test_other_names_are_still_missing():
    scaling = importlib.import_module("tsgate.scaling")
    with pytest.raises(AttributeError, match="module 'tsgate.scaling' has no attribute 'Preprocessor'"):
        scaling.Preprocessor
    assert not hasattr(scaling, "backtest")
