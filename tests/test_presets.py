"""`tsgate.presets`: the long_horizon rule (30 segments of one season of the
data's frequency) and the Forecaster it makes."""

import pandas as pd
import pytest

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


def test_make_applies_the_rule_and_overrides():
    forecaster = presets.make("long_horizon", "OT", horizon=96, freq="15min", units=8)
    assert isinstance(forecaster, Forecaster)
    assert forecaster.lookback == 2880 and forecaster.units == 8 and forecaster.builder == "segment"
    assert forecaster.builder_options["segment_length"] == 96
    assert presets.make("long_horizon", "OT", horizon=24, freq="h", lookback=48).lookback == 48


def test_bad_names_and_frequencies_are_refused():
    with pytest.raises(ValueError, match="preset"):
        presets.config("short", "h")
    with pytest.raises(ValueError, match="freq"):
        presets.config("long_horizon", "fortnightly")
