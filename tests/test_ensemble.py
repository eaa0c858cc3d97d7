"""Ensembles (`n_members`, tsgate.models.ensemble): members of their own
weights averaged in one model; each trained on its own loss; the average
served by predict, save/load, the SavedModel and TF Lite; quantiles that
never cross."""

import keras
import numpy as np
import pytest

from tests.helpers import BACKEND, clear_error, hourly
from tsgate import Forecaster, serving
from tsgate.models import MemberMean, PinballLoss
from tsgate.training import MaskedLoss

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")

QUANTILES = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A 3-member segment forecaster with a quantile head, fitted, saved and reloaded; and its frame."""
    df = hourly(400)
    forecaster = Forecaster("y", lookback=48, horizon=12, units=8, builder="segment", past_covariates=["x"],
                            builder_options={"segment_length": 12}, quantiles=QUANTILES, learning_rate=1e-2,
                            n_members=3, seed=2)
    forecaster.fit(df, epochs=2, verbose=0)
    path = forecaster.save(str(tmp_path_factory.mktemp("ensemble") / "f"))
    return forecaster, Forecaster.load(path), df


def _members(model):
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


def test_the_members_have_weights_of_their_own_and_the_model_averages_them(fitted):
    forecaster, _, df = fitted
    members = _members(forecaster.model_)
    assert [m.name for m in members] == ["member_0", "member_1", "member_2"]
    first = [w.numpy() for w in members[0].weights]
    assert all(any(not np.array_equal(a, w.numpy()) for a, w in zip(first, m.weights)) for m in members[1:])
    assert len(forecaster.model_.weights) == 3 * len(members[0].weights)
    rng = np.random.default_rng(0)
    batch = {name: rng.normal(size=(5, *i.shape[1:])).astype("float32") for name, i in forecaster.model_.input.items()}
    expected = np.mean([m.predict(batch, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(forecaster.model_.predict(batch, verbose=0), expected, rtol=1e-6, atol=1e-6)


def test_in_training_the_members_are_stacked_and_each_scored_on_its_own_loss():
    rng = np.random.default_rng(1)
    forecasts = [rng.normal(size=(4, 6, 2, 3)).astype("float32") for _ in range(2)]
    stacked = MemberMean()(forecasts, training=True)
    assert stacked.shape == (8, 6, 2, 3)
    np.testing.assert_allclose(MemberMean()(forecasts), np.mean(forecasts, axis=0), rtol=1e-6)
    y = rng.normal(size=(4, 6, 2)).astype("float32")
    y[0, :3, 1] = np.nan  # missing targets stay out of every member's loss
    loss = MaskedLoss(PinballLoss(QUANTILES))
    expected = np.mean([float(loss(y, f)) for f in forecasts])  # equal counts: the mean of the members' losses
    np.testing.assert_allclose(float(loss(y, stacked)), expected, rtol=1e-6)
    _, count = loss.mean_and_count(y, stacked)
    assert float(count) == 2 * np.isfinite(y).sum()


def test_the_ensemble_quantiles_never_cross_and_hold_the_forecast(fitted):
    forecaster, _, df = fitted
    inputs, _ = forecaster.serving_inputs(df)
    outputs = forecaster.raw_model_.predict(inputs, verbose=0)
    assert (np.diff(outputs["quantiles"], axis=-1) >= 0).all()
    np.testing.assert_array_equal(outputs["forecast"], outputs["quantiles"][..., 1])


def test_the_ensemble_round_trips_save_and_load(fitted):
    forecaster, loaded, df = fitted
    assert loaded.n_members == 3 and len(_members(loaded.model_)) == 3
    np.testing.assert_array_equal(loaded.predict(df).to_numpy(), forecaster.predict(df).to_numpy())


def test_the_export_serves_the_ensemble_as_predict_does(fitted, tmp_path):
    forecaster, _, df = fitted
    path = forecaster.export(tmp_path / "models", version=1)
    inputs, _ = forecaster.serving_inputs(df)
    served = serving.serve_in_fresh_process(path, inputs)
    np.testing.assert_allclose(served["forecast"][:, :, 0].ravel(), forecaster.predict(df)["y"], rtol=1e-5)


def test_one_member_is_the_builders_own_model():
    df = hourly(300)
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, n_members=1).fit(df, epochs=1, verbose=0)
    assert not _members(forecaster.model_) and not any(isinstance(layer, MemberMean)
                                                       for layer in forecaster.model_.layers)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_bad_member_count_is_named(bad):
    clear_error(lambda: Forecaster("y", lookback=24, horizon=6, n_members=bad).fit(hourly(300), verbose=0),
                ["n_members", repr(bad)], every=True)
