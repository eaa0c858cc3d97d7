"""tsgate.lookback: the lookback that fits the data (whole seasons, as many as
the training rows leave room for), planned by `fit` for `lookback="auto"`
and kept through save, load and export."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, clear_error, hourly
from tsgate import distributed, lookback, presets
from tsgate.forecaster import Forecaster


@pytest.mark.parametrize("freq, horizon, rows, segment, segments", [
    ("h", 720, 14_400, 24, 30),        # ETTh1's train and validation rows: the rule unchanged at every horizon
    ("15min", 720, 57_600, 96, 30),    # ETTm1's
    ("10min", 96, 50_000, 144, 30),    # a 10-minute weather station
    ("D", 30, 5_000, 7, 30),           # daily
    ("B", 96, 7_588, 5, 30),           # daily exchange rates
    ("W-SUN", 24, 966, 52, 7),         # weekly illness counts: 7 years of lookback, not 30
    ("W-SUN", 60, 966, 52, 6),
    ("MS", 12, 300, 12, 9),            # monthly
    ("MS", 12, 40, 10, 1),             # shorter than a season fits: a shorter segment
])
def test_the_lookback_fits_the_rows_of_the_data(freq, horizon, rows, segment, segments):
    planned = lookback.plan(freq, horizon, rows)
    assert planned[:2] == (segment, segments)
    train = int(rows * 0.8)
    assert segment * segments <= lookback.WINDOW_SHARE * (train - horizon) or segments == lookback.SEGMENTS
    assert planned[2].startswith(f"lookback {segment * segments}: {segments} segment")
    config = presets.config("long_horizon", freq, horizon, rows)  # the preset's lookback is this plan
    assert config["forecaster"]["lookback"] == segment * segments
    assert config["forecaster"]["builder_options"]["segment_length"] == segment
    assert set(config) == {"forecaster", "fit"}
    assert presets.describe("long_horizon", freq, horizon, rows) == f"long_horizon: {planned[2]}"


def test_without_rows_or_horizon_the_rule_is_30_seasons():
    assert lookback.plan("W-SUN", horizon=24)[:2] == lookback.plan("W-SUN", rows=966)[:2] == (52, 30)


def weekly(n=966):
    weeks = pd.date_range("2000-01-02", periods=n, freq="W-SUN", name="time")
    return pd.DataFrame({"y": 10 + np.sin(2 * np.pi * np.arange(n) / 52) + np.random.default_rng(0).normal(0, .1, n)},
                        index=weeks)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="fits through tf.data")
def test_auto_lookback_is_planned_at_fit_and_kept_through_save_load_and_export(tmp_path, caplog):
    df = weekly()
    forecaster = presets.make("long_horizon", "y", horizon=24, units=4)  # no frequency, no data: planned at fit
    with caplog.at_level("INFO", logger="tsgate.lookback"):
        forecaster.fit(df, epochs=1, steps_per_epoch=2, verbose=0)
    assert forecaster.lookback == "auto" and forecaster.lookback_ == 364
    assert forecaster.recipe_["segment_length"] == 52 and forecaster.recipe_["lookback"] == 364
    assert "lookback 364: 7 segment(s) of 52 steps" in forecaster.recipe_["why"]
    assert forecaster.recipe_["why"] in caplog.text
    assert forecaster.model_.get_layer("segment_forecast").segment_length == 52
    loaded = Forecaster.load(forecaster.save(tmp_path / "f"))
    assert loaded.lookback_ == 364 and loaded.recipe_ == forecaster.recipe_
    pd.testing.assert_frame_equal(loaded.predict(df), forecaster.predict(df))
    exported = forecaster.export(tmp_path / "export", version=1)
    with open(os.path.join(exported, "assets", "tsgate.json")) as f:
        assert json.load(f)["lookback"] == 364
    scored = forecaster.evaluate(df, test=df.index[-100])  # the baselines and windows read the planned lookback
    assert np.isfinite(scored.loc["tsgate", "MAE"])
    assert len(forecaster.historical_forecasts(df, start=df.index[-100])) == (100 - 24 + 1) * 24
    fixed = Forecaster("y", lookback=48, horizon=6, units=4).fit(hourly(200), epochs=1, verbose=0)
    assert fixed.lookback_ == 48 and fixed.recipe_ is None


@pytest.mark.parametrize("value", ["AUTO", "", 0, 2.5, True, np.array([1, 2])])
def test_a_lookback_that_is_neither_a_size_nor_auto_is_named(value):
    clear_error(lambda: Forecaster("y", lookback=value, horizon=3).fit(hourly(100)), ["`lookback`", "'auto'"],
                every=True)


def test_a_series_no_longer_than_the_horizon_leaves_no_lookback():
    with pytest.raises(ValueError, match="No lookback fits: a 30-row series has 24 training row"):
        lookback.plan("h", horizon=24, rows=30)
    clear_error(lambda: Forecaster("y", lookback="auto", horizon=24).fit(hourly(30)), ["No lookback fits"])


def test_planned_options_replace_only_an_auto_segment():
    recipe = {"lookback": 96, "segment_length": 24, "why": ""}
    assert lookback.planned_options({"segment_length": "auto", "mode": "auto"}, recipe) == {
        "segment_length": 24, "mode": "auto"}
    assert lookback.planned_options({"mode": "auto"}, None) == {"mode": "auto"}


def test_an_auto_segment_needs_an_auto_lookback_and_one_process():
    clear_error(lambda: Forecaster("y", lookback=48, horizon=3, builder="segment",
                                   builder_options={"segment_length": "auto"}).fit(hourly(100)), ["builder_options"])
    with pytest.raises(ValueError, match="lookback='auto' cannot be fitted across workers"):
        distributed.check_forecaster(Forecaster("y", lookback="auto", horizon=3))
