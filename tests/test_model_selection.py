"""tsgate.model_selection: `WindowSplit` and `Forecaster.score` with
scikit-learn's GridSearchCV and cross_validate. Backtests are in
test_evaluation.py with `evaluate`, whose folds they score."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate

from tests.helpers import BACKEND, hourly, two_series
from tsgate.forecaster import Forecaster
from tsgate.model_selection import WindowSplit

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def test_window_split_tests_each_chunk_with_the_lookback_before_it():
    df = two_series().reset_index()  # a long frame: rows of two series, a time column
    splits = list(WindowSplit(n_splits=3, lookback=24, test=0.3, time_column="time").split(df))
    times = pd.DatetimeIndex(df["time"])
    distinct = times.unique().sort_values()
    assert len(splits) == 3
    previous_end = None
    for train, test in splits:
        assert times[train].max() < times[test].min() + pd.Timedelta(hours=24)  # inputs overlap, targets never
        chunk_start = distinct[distinct.get_loc(times[test].min()) + 24]
        assert times[train].max() == chunk_start - pd.Timedelta("1h")  # trains on every row before its chunk
        assert set(df.loc[test, "site"]) == {"a", "b"}  # every series is split at the same times
        if previous_end is not None:
            assert chunk_start == previous_end + pd.Timedelta("1h")  # chunks tile the test part
        previous_end = times[test].max()
    assert previous_end == times.max()


def test_window_split_refuses_a_test_part_with_no_room_for_the_lookback_or_an_empty_chunk():
    with pytest.raises(ValueError, match="1 timestamps before its test chunk .lookback=24 needs as many"):
        list(WindowSplit(lookback=24, n_splits=2, test=0.99).split(hourly(40)))
    with pytest.raises(ValueError, match="split 0 .* and 0 in it"):  # 10 chunks of 6 hours: some hold no timestamp
        list(WindowSplit(lookback=24, n_splits=10, test=0.1).split(hourly(60)))
    with pytest.raises(ValueError, match="`n_splits`"):
        list(WindowSplit(lookback=24, n_splits=0).split(hourly(40)))
    with pytest.raises(ValueError, match="`test`"):
        list(WindowSplit(lookback=24, test=1.0).split(hourly(40)))


def test_score_is_minus_the_mse_of_every_window():
    df = hourly(260)
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4).fit(df[:200], epochs=1, verbose=0)
    later = df[200 - 24:]
    forecasts = forecaster.historical_forecasts(later)
    actual = df["y"].reindex(forecasts.index.get_level_values("time")).to_numpy()
    expected = -np.mean((forecasts["y"].to_numpy() - actual) ** 2)
    assert len(forecasts) == (260 - 200 - 6 + 1) * 6
    np.testing.assert_allclose(forecaster.score(later), expected, rtol=1e-6)
    missing = later.copy()
    missing.iloc[-1, 0] = np.nan  # the last actual is missing: skipped, not scored as a number
    filled = Forecaster("y", lookback=24, horizon=6, units=4, fill="ffill").fit(df[:200], epochs=1, verbose=0)
    assert np.isfinite(filled.score(missing))


def test_grid_search_and_cross_validate_tune_a_forecaster_on_its_windows():
    df = hourly(400)
    search = GridSearchCV(Forecaster("y", lookback=24, horizon=6, seed=1), {"units": [2, 8]},
                          cv=WindowSplit(n_splits=2, lookback=24, test=0.3), error_score="raise")
    search.fit(df, epochs=2, verbose=0)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and (scores < 0).all()
    assert search.best_params_ == {"units": [2, 8][int(np.argmax(scores))]}
    assert search.best_estimator_.units == search.best_params_["units"] and hasattr(search.best_estimator_, "model_")
    result = cross_validate(Forecaster("y", lookback=24, horizon=6, units=4), df,
                            cv=WindowSplit(n_splits=2, lookback=24, test=0.3), params={"epochs": 1, "verbose": 0},
                            error_score="raise")
    assert np.isfinite(result["test_score"]).all() and len(result["test_score"]) == 2


def test_a_backtest_leaves_a_gap_before_each_fold_and_can_slide_its_training_window():
    from tests.helpers import hourly

    df = hourly(400)
    result = Forecaster("y", lookback=12, horizon=3, units=4, seed=1).backtest(df, folds=2, test=0.3, epochs=1,
                                                                              gap=10, window=150)
    folds = result.folds
    for k in range(2):  # the embargo: 10 hourly timestamps between the last training row and the first test target
        assert folds["test_start"][k] - folds["train_end"][k] >= pd.Timedelta(hours=10)
    assert (folds["train_end"].diff().dropna() > pd.Timedelta(0)).all()
    with pytest.raises(ValueError, match=r"first fold has \d+ timestamps before its test part, fewer than gap=300"):
        Forecaster("y", lookback=12, horizon=3).backtest(df, folds=2, test=0.3, gap=300)
    with pytest.raises(ValueError, match="argument `window`"):
        Forecaster("y", lookback=12, horizon=3).backtest(df, window=0)
