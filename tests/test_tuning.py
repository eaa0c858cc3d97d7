"""`tsgate.tuning.tune`: trials drawn from a space, the given configuration
first, raced on the validation windows; the lookback among the arguments;
and `tsgate tune`."""

import warnings

import pytest

from tests.helpers import BACKEND
from tsgate import Forecaster, datasets
from tsgate.tuning import trials, tune


def test_trials_start_with_the_given_configuration_then_distinct_points_of_the_grid():
    forecaster = Forecaster("y", lookback=24, horizon=6, units=16)
    space = {"lookback": [24, 48, 96], "units": [16, 32]}
    drawn = trials(forecaster, space, n_trials=4, seed=1)
    assert drawn[0] == {} and len(drawn) == 4
    points = [tuple(sorted(d.items())) for d in drawn[1:]]
    assert len(set(points)) == 3 and {"lookback": 24, "units": 16} not in drawn[1:]  # the given one once, first
    assert all(d["lookback"] in space["lookback"] and d["units"] in space["units"] for d in drawn[1:])
    assert len(trials(forecaster, space, n_trials=50)) == 6  # the whole grid at most
    assert trials(forecaster, space, 4, seed=1) == drawn  # repeatable
    for bad in ({}, {"lookbac": [24]}, {"units": []}, {"units": 16}):
        with pytest.raises(ValueError, match="argument `space`"):
            trials(forecaster, bad)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
def test_tuning_the_lookback_beats_a_poor_default_on_held_out_months_of_a_shipped_series():
    df = datasets.load_sensor()[["OT"]].iloc[-2400:]  # ETTh1: hourly, a daily cycle
    fitted, held_out = df.iloc[:-400], df.index[-400]
    default = Forecaster("OT", lookback=6, horizon=24, units=8, learning_rate=1e-2, seed=1)  # sees a quarter day
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = tune(default, df[df.index < held_out], {"lookback": [6, 48, 96], "units": [8, 16]}, n_trials=4,
                    epochs=4, patience=2)
        tuned = best.evaluate(df, test=held_out).loc["tsgate", "MAE"]
        plain = Forecaster(**default.get_params()).fit(fitted, epochs=4, patience=2, verbose=0).evaluate(
            df, test=held_out).loc["tsgate", "MAE"]
    assert best.lookback != 6 and tuned < plain, (best.lookback, tuned, plain)
    table = best.selection_
    assert table["arguments"].iloc[0] == "{}" and table["rung"].max() == 2  # 4 trials: rungs of 4, 2 and 1
