"""`tsgate.presets`: the long_horizon rule (30 segments of one season of the
data's frequency, fewer when the data's rows leave no room for them) and the
Forecaster it makes."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND
from tsgate import presets
from tsgate.forecaster import Forecaster


@pytest.mark.parametrize("freq, segment", [
    ("h", 24),          # a day of hours: the SegRNN ETTh1 layout, 720 steps
    ("15min", 96),      # a day of quarter hours: 2,880 steps
    ("10min", 144),     # Weather
    ("D", 7),           # a week of days
    ("W-SUN", 52),      # a year of weeks
    (pd.offsets.BusinessDay(), 5),
    ("5min", 288),      # the longest season kept
    ("min", 24),        # a day of minutes (1,440) is past MAX_SEASON: the fallback
    ("7min", 24),       # no season
    ("YS", 24),         # no season
    (None, 24),         # frequency unknown
])
def test_long_horizon_lookback_is_30_seasons(freq, segment):
    config = presets.config("long_horizon", freq)
    assert config["forecaster"]["builder_options"]["segment_length"] == segment
    assert config["forecaster"]["lookback"] == 30 * segment
    assert config["fit"] == presets.fit_options("long_horizon")


def test_config_is_a_copy():
    presets.config("long_horizon", "h")["forecaster"]["builder_options"]["dropout"] = 0.9
    assert presets.PRESETS["long_horizon"]["forecaster"]["builder_options"]["dropout"] == 0.1
    assert "lookback" not in presets.PRESETS["long_horizon"]["forecaster"]


def test_make_without_frequency_or_data_plans_the_lookback_at_fit():
    forecaster = presets.make("long_horizon", "OT", horizon=96)
    assert forecaster.lookback == "auto" and forecaster.builder_options["segment_length"] == "auto"
    assert presets.config("long_horizon", "auto")["forecaster"]["lookback"] == "auto"


def test_make_applies_the_rule_and_overrides():
    forecaster = presets.make("long_horizon", "OT", horizon=96, freq="15min", units=8)
    assert isinstance(forecaster, Forecaster)
    assert forecaster.lookback == 2880 and forecaster.units == 8 and forecaster.builder == "segment"
    assert forecaster.builder_options["segment_length"] == 96
    assert presets.make("long_horizon", "OT", horizon=24, freq="h", lookback=48).lookback == 48


def test_builder_options_merge_into_the_presets_as_in_the_cli():
    preset = presets.make("long_horizon", "OT", horizon=24, freq="h").builder_options
    merged = presets.make("long_horizon", "OT", horizon=24, freq="h", builder_options={"dropout": 0.3}).builder_options
    assert merged == {**preset, "dropout": 0.3} and merged["normalization"] == preset["normalization"]
    assert presets.make("long_horizon", "OT", horizon=24, freq="h", builder_options=None).builder_options is None


def test_a_lookback_without_a_frequency_is_refused_not_planned_for_hourly_data():
    with pytest.raises(ValueError, match=r"lookback=104\) needs the data's frequency .* pass freq="):
        presets.make("long_horizon", "y", horizon=12, lookback=104)


def test_bad_names_and_frequencies_are_refused():
    with pytest.raises(ValueError, match="preset"):
        presets.config("short", "h")
    with pytest.raises(ValueError, match="freq"):
        presets.config("long_horizon", "fortnightly")


@pytest.mark.skipif(BACKEND != "tensorflow", reason="fits through tf.data")
def test_make_reads_the_frequency_and_rows_of_the_data_and_fits_a_short_weekly_series(caplog):
    weeks = pd.date_range("2000-01-02", periods=966, freq="W-SUN", name="time")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": 10 + np.sin(2 * np.pi * np.arange(966) / 52) + rng.normal(0, 0.1, 966)}, index=weeks)
    with caplog.at_level("INFO", logger="tsgate.presets"):
        forecaster = presets.make("long_horizon", "y", horizon=24, data=df, units=4)
    assert (forecaster.lookback, forecaster.builder_options["segment_length"]) == (364, 52)
    assert "lookback 364: 7 segment(s) of 52 steps" in caplog.text
    forecaster.fit(df, epochs=1, steps_per_epoch=2, verbose=0)  # 30 seasons (1,560 weeks) would not fit 966 rows
    assert forecaster.windows_["train"] > 0 and len(forecaster.predict(df)) == 24
    two = pd.concat([df.assign(site="a"), df.iloc[:500].assign(site="b"), df.iloc[:300].assign(site="c")])
    assert presets.frequency_and_length(two, series_column="site") == (pd.offsets.Week(weekday=6), 500)
