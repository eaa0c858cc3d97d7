"""tsgate.selection: successive halving over candidate configurations on
the validation windows; the table kept and saved; one z-scored scale for
every loss; bad candidates named."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, clear_error, hourly
from tsgate import Forecaster, presets
from tsgate.selection import configured, select, validation_mse

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")

CANDIDATES = [{"units": 2}, {"loss": "mae"}, {"builder_options": {"linear": "residual"}}]


@pytest.fixture(scope="module")
def selected(tmp_path_factory):
    df = hourly(400)
    base = Forecaster("y", lookback=24, horizon=6, units=8, builder="segment", learning_rate=1e-2,
                      builder_options={"segment_length": 6, "dropout": 0.1}, seed=1)
    best = select(base, df, CANDIDATES, validation=0.25, epochs=4, batch_size=32)
    path = best.save(str(tmp_path_factory.mktemp("selection") / "f"))
    return base, best, df, path


def test_each_rung_keeps_the_better_half_and_the_last_fits_every_epoch(selected):
    base, best, df, _ = selected
    table = best.selection_
    assert list(table["rung"]) == [0, 0, 0, 1, 1, 2] and list(table["epochs"]) == [1, 1, 1, 2, 2, 4]
    first = table[table["rung"] == 0].sort_values("validation_mse")
    assert sorted(table[table["rung"] == 1]["candidate"]) == sorted(first["candidate"][:2])
    second = table[table["rung"] == 1].sort_values("validation_mse")
    winner = int(second["candidate"].iloc[0])
    assert table["candidate"].iloc[-1] == winner
    expected = configured(base, CANDIDATES[winner]).get_params()
    assert best.get_params() == expected and len(best.history_.history["loss"]) <= 4
    assert table["validation_mse"].iloc[-1] == pytest.approx(validation_mse(best, df, 0.25))
    assert base.units == 8 and not hasattr(base, "model_")  # the given forecaster is left alone


def test_builder_options_of_a_candidate_are_merged_over_the_forecasters():
    base = Forecaster("y", lookback=24, horizon=6, builder="segment", builder_options={"segment_length": 6})
    merged = configured(base, {"builder_options": {"linear": "residual"}})
    assert merged.builder_options == {"segment_length": 6, "linear": "residual"}
    assert base.builder_options == {"segment_length": 6}


def test_the_validation_mse_is_on_the_z_scored_scale(selected):
    _, best, df, _ = selected
    panel = best.panel(df)
    times = panel.timestamp(panel.cutoff(0.25, "validation"))
    with pytest.warns(UserWarning, match="windows that historical_forecasts scores"):  # selection knows; we too
        frame = best.historical_forecasts(df, start=times)
    actual = df["y"].reindex(frame.index.get_level_values("time")).to_numpy()
    variance = df["y"][df.index < times].var(ddof=0)
    assert validation_mse(best, df, 0.25) == pytest.approx(np.mean((frame["y"].to_numpy() - actual) ** 2) / variance)


def test_each_series_and_target_is_z_scored_by_its_own_history():
    """Two series on scales 1 and 100, two targets, a missing actual: the pooled variance would let the
    large series' level swamp the other's errors."""
    a, b = hourly(300, seed=1), hourly(300, seed=2)
    b[["y", "x"]] = b[["y", "x"]] * 100 + 500
    df = pd.concat([a.assign(site="a"), b.assign(site="b")])
    df.loc[(df["site"] == "a") & (df.index == df.index[280]), "y"] = np.nan
    forecaster = Forecaster(["y", "x"], lookback=24, horizon=6, units=2, series_column="site", fill="ffill")
    forecaster.fit(df, validation=0.25, epochs=1, verbose=0)
    panel = forecaster.panel(df)
    start = panel.timestamp(panel.cutoff(0.25, "validation"))
    with pytest.warns(UserWarning, match="windows that historical_forecasts scores"):
        frame = forecaster.historical_forecasts(df, start=start)
    per_target = []
    for target in ("y", "x"):
        scaled = []
        for site, rows in frame.groupby(level="site"):
            own = df[df["site"] == site]
            actual = own[target].reindex(rows.index.get_level_values("time")).to_numpy()
            scaled.append((rows[target].to_numpy() - actual) ** 2 / own.loc[own.index < start, target].var(ddof=0))
        per_target.append(np.nanmean(np.concatenate(scaled)))
    assert validation_mse(forecaster, df, 0.25) == pytest.approx(np.mean(per_target))


def test_a_candidate_that_fails_is_out_of_the_race_with_its_error_in_the_table():
    base = Forecaster("y", lookback=24, horizon=6, units=2)
    best = select(base, hourly(300), [{"learning_rate": -1.0}, {}], epochs=2)
    table = best.selection_
    assert "argument `learning_rate`" in table.loc[0, "error"] and np.isinf(table.loc[0, "validation_mse"])
    assert list(table["candidate"]) == [0, 1, 1] and best.learning_rate == base.learning_rate
    error = clear_error(lambda: select(base, hourly(300), [{"learning_rate": -1.0}, {"units": -2}]),
                        ["select: candidate 0", "learning_rate"], every=True)
    assert "units" not in str(error)


def test_the_table_round_trips_save_and_load(selected):
    _, best, _, path = selected
    loaded = Forecaster.load(path)
    pd.testing.assert_frame_equal(loaded.selection_, best.selection_)
    assert Forecaster("y", lookback=24, horizon=6, units=2).fit(hourly(200), epochs=1, verbose=0).selection_ is None


def test_the_presets_candidates_start_with_the_preset_itself():
    candidates = presets.candidates("long_horizon")
    assert candidates[0] == {} and len(candidates) > 1
    candidates.append({"units": 1})
    assert presets.candidates("long_horizon") != candidates  # a copy


@pytest.mark.parametrize("bad", [[], {}, [{"unitz": 3}], [3], None])
def test_bad_candidates_are_named(bad):
    base = Forecaster("y", lookback=24, horizon=6)
    clear_error(lambda: select(base, hourly(200), bad), ["candidates"])


def test_a_bad_eta_is_named():
    clear_error(lambda: select(Forecaster("y", lookback=24, horizon=6), hourly(200), [{}], eta=1), ["eta"])
