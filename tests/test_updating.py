"""`Forecaster.update` (`tsgate.updating`): training on from the fitted
weights on new windows only, the fitted scaler kept, the record saved,
save/load/export exact after an update, new series, an update undone, bad
input named, `backtest(refit="update")` and `tsgate update`."""

import json
import os
import warnings

import numpy as np
import pytest

from tests.helpers import BACKEND, clear_error, hourly, two_series
from tsgate import Forecaster, serving

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def drifting(n=1600, at=1000):
    """`hourly` whose daily cycle becomes a 12-hour one from row `at` on:
    what a model fitted before cannot read from its lookback."""
    df = hourly(n, seed=4)
    t = np.arange(at, n)
    df.loc[df.index[at:], "y"] = 10 + 3 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 0.1, n - at)
    return df


@pytest.fixture(scope="module")
def stale_and_updated(tmp_path_factory):
    df = drifting()
    stale = Forecaster("y", lookback=48, horizon=6, units=8, learning_rate=1e-2, seed=1).fit(
        df.iloc[:1000], epochs=10, verbose=0)
    path = stale.save(str(tmp_path_factory.mktemp("update") / "f"))
    updated = Forecaster.load(path).update(df.iloc[:1300], epochs=5)
    return stale, updated, df


def test_an_update_trains_on_the_new_windows_only_with_the_fitted_scaler(stale_and_updated):
    stale, updated, df = stale_and_updated
    record = updated.updates_[-1]
    # windows with a target after row 999 start at rows 947-1246, their targets span rows 995-1299; those
    # with targets from row 1238.2 (80 % of it) on validate, those with all their targets before it train
    assert (record["windows"], record["validation"]) == (1185 - 947 + 1, 1246 - 1191 + 1)
    assert record["replayed"] == 0 and record["new_series"] == []
    assert record["kept"] and record["validation_loss"][1] < record["validation_loss"][0]
    np.testing.assert_array_equal(updated.scaler_.scale_, stale.scaler_.scale_)
    np.testing.assert_array_equal(updated.scaler_.offset_, stale.scaler_.offset_)
    assert updated.fit_end_ == df.index[1299] and stale.fit_end_ == df.index[999]  # one series: a Timestamp
    assert not all(np.array_equal(a, b) for a, b in zip(updated.model_.get_weights(), stale.model_.get_weights()))


def test_an_update_follows_a_change_the_stale_model_misses(stale_and_updated):
    stale, updated, df = stale_and_updated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        errors = {name: model.evaluate(df, test=df.index[1300]).loc["tsgate", "MAE"]
                  for name, model in (("stale", stale), ("updated", updated))}
    assert errors["updated"] < 0.9 * errors["stale"], errors


def test_save_load_and_the_export_serve_the_updated_model_exactly(stale_and_updated, tmp_path):
    _, updated, df = stale_and_updated
    loaded = Forecaster.load(updated.save(str(tmp_path / "f")))
    assert loaded.updates_ == updated.updates_ and loaded.fit_end_ == updated.fit_end_
    np.testing.assert_allclose(loaded.predict(df).to_numpy(), updated.predict(df).to_numpy(), rtol=1e-6)
    inputs, _ = updated.serving_inputs(df)
    served = serving.serve_in_fresh_process(updated.export(tmp_path / "models", version=2), inputs)
    np.testing.assert_allclose(served["forecast"][0, :, 0], updated.predict(df)["y"], rtol=1e-5)


def test_a_second_update_counts_only_the_rows_after_the_first(stale_and_updated, tmp_path):
    _, updated, df = stale_and_updated
    again = Forecaster.load(updated.save(str(tmp_path / "f")))
    again.update(df.iloc[1200:1500])  # overlaps the rows the first update trained on
    first, second = again.updates_
    assert second["windows"] + second["validation"] < first["windows"] + first["validation"]  # 200 new rows, not 300
    clear_error(lambda: again.update(df.iloc[:1500]), ["Not enough new data", "0 new windows to train on"],
                every=True)  # nothing after 1499 is new


def test_replay_mixes_in_older_windows_and_says_when_there_are_none(stale_and_updated, tmp_path):
    stale, _, df = stale_and_updated
    replayed = Forecaster.load(stale.save(str(tmp_path / "f"))).update(df.iloc[:1300], replay=0.5)
    record = replayed.updates_[-1]
    assert record["replayed"] == record["windows"]  # half of the windows trained on are older ones
    with pytest.warns(UserWarning, match="found no window fitted on before"):
        Forecaster.load(stale.save(str(tmp_path / "g"))).update(df.iloc[952:1300], replay=0.5)


def test_an_update_that_does_not_help_is_undone(stale_and_updated, tmp_path):
    stale, _, df = stale_and_updated
    forecaster = Forecaster.load(stale.save(str(tmp_path / "f")))
    before = forecaster.model_.get_weights()
    try:
        forecaster.update(df.iloc[:1300], learning_rate=50.0, epochs=2)
        assert forecaster.updates_[-1]["kept"] is False
    except ValueError as error:  # or it diverged: said, and nothing changed either
        assert "diverged" in str(error) and forecaster.updates_ == []
    for a, b in zip(forecaster.model_.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_a_global_model_takes_new_series_and_per_series_scaling_refuses_them(tmp_path):
    df = two_series()
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site", seed=1).fit(
        df[df["site"] == "a"], epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="'y' has .* far outside .* the update learns them under the scaler fitted"):
        forecaster.update(df, epochs=1)  # "b" runs at twice the level of "a", which the scaler was fitted on
    assert forecaster.updates_[-1]["new_series"] == ["b"] and forecaster.series_ == ["a", "b"]
    assert list(forecaster.fit_end_.index) == ["a", "b"]
    assert set(forecaster.predict(df).index.get_level_values("site")) == {"a", "b"}
    per_series = Forecaster("y", lookback=24, horizon=6, units=4, series_column="site", scale_per_series=True,
                            seed=1).fit(df[df["site"] == "a"], epochs=1, verbose=0)
    clear_error(lambda: per_series.update(df), ["Series ['b']", "scale_per_series=True", "fit on every series"],
                every=True)


@pytest.mark.parametrize("options, names", [
    ({"epochs": 0}, ["epochs"]),
    ({"replay": 1.0}, ["replay", "[0, 1)"]),
    ({"validation": 0}, ["validation", "(0, 1)"]),
    ({"learning_rate": -1}, ["learning_rate"]),
])
def test_bad_update_options_are_named(stale_and_updated, options, names):
    _, updated, df = stale_and_updated
    clear_error(lambda: updated.update(df, **options), names, every=True)


def test_a_frame_the_forecaster_does_not_know_is_named(stale_and_updated):
    _, updated, df = stale_and_updated
    clear_error(lambda: updated.update(df.drop(columns="y")), ["'y'"])
    clear_error(lambda: updated.update(df.tz_localize("UTC")), ["time zone 'UTC'", "without a time zone"], every=True)
    clear_error(lambda: updated.update(df.iloc[::2]), ["Not enough new data", "timestamps on that grid are missing"],
                every=True)  # every other hour, on the hourly grid it was fitted on


def test_a_backtest_can_update_each_fold_from_the_one_before(stale_and_updated):
    stale, _, df = stale_and_updated
    result = stale.backtest(df.iloc[:1600], folds=3, test=0.3, refit="update", epochs=2,
                            update_options={"epochs": 2})
    assert list(result.folds["trained"]) == ["fit", "update", "update"]
    assert list(result.folds["fitted"]) == [True, False, False]
    assert result.folds["train_end"].is_monotonic_increasing
    clear_error(lambda: stale.backtest(df, refit="yes"), ["refit", "update"], every=True)


def test_the_cli_updates_a_saved_model_in_place_and_an_interrupted_update_loses_nothing(tmp_path, monkeypatch):
    from tests.test_cli import run_captured, train_on_old_rows
    from tsgate import updating

    train_on_old_rows(tmp_path, "--test", "0.1")
    assert json.loads((tmp_path / "m" / "cli.json").read_text())["test"] is not None
    files = {name: (tmp_path / "m" / name).read_bytes() for name in os.listdir(tmp_path / "m")}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(updating, "train", interrupted)
    status, _, err = run_captured("update", tmp_path / "all.csv", "--model", tmp_path / "m")
    assert status == 130 and "interrupted" in err
    assert {name: (tmp_path / "m" / name).read_bytes() for name in os.listdir(tmp_path / "m")} == files
    monkeypatch.undo()
    status, out, err = run_captured("update", tmp_path / "all.csv", "--model", tmp_path / "m", "--epochs", "2")
    assert status == 0, err
    assert out.startswith("updated on ") and f"saved to {tmp_path / 'm'}" in out
    assert len(Forecaster.load(tmp_path / "m").updates_) == 1
    assert json.loads((tmp_path / "m" / "cli.json").read_text())["test"] is None  # its rows were trained on now
    status, _, err = run_captured("update", tmp_path / "all.csv", "--model", tmp_path / "m")
    assert status == 2 and err.startswith("tsgate: Not enough new data") and len(err.strip().split("\n")) == 1


def test_an_ensemble_in_bfloat16_updates_and_reloads_as_it_predicts(tmp_path):
    df = drifting(1300)
    forecaster = Forecaster("y", lookback=48, horizon=6, units=8, learning_rate=1e-2, n_members=2,
                            dtype_policy="mixed_bfloat16", seed=1).fit(df.iloc[:1000], epochs=2, verbose=0)
    before = forecaster.predict(df)
    forecaster.update(df, epochs=2, learning_rate=1e-2)
    assert forecaster.updates_[-1]["kept"]
    after = forecaster.predict(df)
    assert not np.allclose(after.to_numpy(), before.to_numpy())
    loaded = Forecaster.load(forecaster.save(str(tmp_path / "f")))
    np.testing.assert_allclose(loaded.predict(df).to_numpy(), after.to_numpy(), rtol=1e-6)


def test_a_few_new_rows_still_validate_on_their_last_window(stale_and_updated, tmp_path):
    stale, _, df = stale_and_updated
    forecaster = Forecaster.load(stale.save(str(tmp_path / "f"))).update(df.iloc[:1020])  # 20 new hours
    record = forecaster.updates_[-1]  # a fifth of 24 h of new targets is shorter than the 6-step horizon
    assert (record["windows"], record["validation"]) == (960 - 947 + 1, 1)


def test_an_update_stopped_part_way_leaves_the_weights_as_they_were(stale_and_updated, tmp_path, monkeypatch):
    import tsgate.updating

    stale, _, df = stale_and_updated
    forecaster = Forecaster.load(stale.save(str(tmp_path / "f")))
    before = forecaster.model_.get_weights()

    def interrupted(model, *args, **kwargs):  # a Ctrl-C after the weights moved
        model.set_weights([w + 1 for w in model.get_weights()])
        raise KeyboardInterrupt

    monkeypatch.setattr(tsgate.updating, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        forecaster.update(df.iloc[:1300])
    assert all(np.array_equal(a, b) for a, b in zip(forecaster.model_.get_weights(), before))
    assert forecaster.updates_ == [] and forecaster.fit_end_ == stale.fit_end_
