"""Missing values: sentinels (`na_values`) become missing, filled inputs keep
their missing targets out of the loss and out of the actual values, and
values far outside the training range are warned about."""

import warnings

import keras
import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly
from tsgate import Forecaster
from tsgate.data import Panel
from tsgate.models import PinballLoss
from tsgate.training import MaskedLoss, compile_masked

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


@pytest.mark.parametrize("loss,quantiles", [("mse", None), ("huber", None), (PinballLoss([0.1, 0.5, 0.9]), 3)])
def test_the_masked_loss_ignores_missing_targets_and_equals_the_loss_without_them(loss, quantiles):
    rng = np.random.default_rng(0)
    y_pred = rng.normal(size=(4, 3, 2) + ((quantiles,) if quantiles else ())).astype("float32")
    y_true = rng.normal(size=(4, 3, 2)).astype("float32")
    masked = MaskedLoss(loss)
    plain = keras.losses.get(loss) if isinstance(loss, str) else loss
    np.testing.assert_allclose(float(masked(y_true, y_pred)), float(keras.ops.mean(plain(y_true, y_pred))), rtol=1e-6)

    import tensorflow as tf

    def value_and_gradient(targets):
        prediction = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            value = masked(targets, prediction)
        return float(value), tape.gradient(value, prediction).numpy()

    missing = y_true.copy()
    missing[1, 2, 0] = np.nan
    other = missing.copy()
    other[1, 2, 0] = 1e3  # any value in its place: the loss must not see it
    value, gradient = value_and_gradient(missing)
    assert np.isfinite(value) and np.isfinite(gradient).all() and not gradient[1, 2, 0].any()
    observed = np.delete(np.arange(24), 1 * 6 + 2 * 2)  # the mean over the 23 observed values
    flat_true, flat_pred = y_true.reshape(24, 1, 1), y_pred.reshape(24, 1, 1, *y_pred.shape[3:])
    expected = float(keras.ops.mean(plain(flat_true[observed], flat_pred[observed])))
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert value_and_gradient(other)[0] != value


def test_a_missing_target_trains_the_same_whatever_it_is_filled_with():
    # Series a ends in the training part: its last value is only ever a target.
    df = pd.concat([hourly(150, seed=1).assign(site="a"), hourly(300, seed=2).assign(site="b")])
    df.loc[(df.site == "a") & (df.index == df[df.site == "a"].index[-1]), "y"] = np.nan
    fits = [Forecaster("y", lookback=12, horizon=3, units=4, series_column="site", fill=fill)
            .fit(df, epochs=2, verbose=0) for fill in ("zero", "ffill")]
    for zero, ffill in zip(*(f.model_.get_weights() for f in fits)):
        np.testing.assert_array_equal(zero, ffill)
    np.testing.assert_array_equal(fits[0].scaler_.offset_, fits[1].scaler_.offset_)  # scaled on observed values


def test_sentinels_are_missing_values():
    df = hourly(60)
    df.iloc[[5, 9], 0] = -9999.0
    with pytest.raises(ValueError, match=r"Column 'y' has NaN or inf at \['2024-01-01 05:00:00', '2024-01-01 09:00"):
        Panel.from_frame(df, ["y", "x"], na_values=-9999)
    panel = Panel.from_frame(df, ["y", "x"], na_values=[-9999, -1e30], fill="interpolate")
    assert (panel.values[:, 0] > 0).all() and panel.observed[:, 0].sum() == 58
    actual = panel.frame()["y"]  # what evaluation scores against: missing stays missing
    assert actual.isna().sum() == 2 and np.isnan(actual.iloc[5])
    assert Forecaster("y", lookback=12, horizon=3, units=4, na_values=-9999, fill="ffill").fit(
        df, epochs=1, verbose=0).scaler_.range_[0, 0] > 0
    for bad in ("-9999", [1, "x"], True):
        with pytest.raises(ValueError, match="argument `na_values`"):
            Forecaster("y", lookback=12, horizon=3, na_values=bad).fit(df, epochs=1, verbose=0)


def test_values_far_outside_the_training_range_are_warned_about(trained):
    forecaster, df = trained
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecaster.predict(df)
    shifted = df.copy()
    last_a = shifted.index[shifted.site == "a"][-1]
    shifted.loc[(shifted.site == "a") & shifted.index.isin(last_a - pd.to_timedelta([20, 21], "h")), "x"] = -9999.0
    with pytest.warns(UserWarning, match=r"column 'x' has 2 value\(s\) far outside its training range.*-9999.*"
                                         r"pass `na_values`"):
        forecaster.predict(shifted)
    with pytest.warns(UserWarning, match="column 'x' has"):
        forecaster.evaluate(shifted, test=0.2)


def _fixed_forecast_model(shape, loss, seed=0):
    """A model whose forecast is the same random array for every window,
    compiled to stay so (SGD at learning rate 0), and that forecast."""
    inputs = keras.Input((1,))
    dense = keras.layers.Dense(int(np.prod(shape)))
    model = keras.Model(inputs, keras.layers.Reshape(shape)(dense(inputs)))
    forecast = np.random.default_rng(seed).normal(size=shape).astype("float32")
    dense.set_weights([np.zeros((1, forecast.size), "float32"), forecast.ravel()])
    compile_masked(model, keras.optimizers.SGD(0.0), loss)
    return model, forecast


def _dataset(x, labels, batch_size):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, labels)).batch(batch_size)


@pytest.mark.parametrize("loss,quantiles", [("mse", None), ("mae", None), (PinballLoss([0.1, 0.5, 0.9]), 3)])
def test_the_epoch_loss_is_the_mean_over_every_observed_target_of_the_epoch(loss, quantiles):
    from tsgate.training import train

    horizon, n_target, quantile_axis = 3, 2, ((quantiles,) if quantiles else ())
    model, forecast = _fixed_forecast_model((horizon, n_target) + quantile_axis, loss)
    labels = np.random.default_rng(1).normal(size=(10, horizon, n_target)).astype("float32")
    labels[:4] = np.nan  # batches of 4: the first has 1 observed value, the second 24, the last (2 windows) none
    labels[2, 1, 0] = 0.5
    labels[8:] = np.nan
    error = labels[..., None] - (forecast if quantiles else forecast[..., None])
    if quantiles:
        q = np.asarray(loss.quantiles)
        values = np.maximum(q * error, (q - 1) * error).mean(-1)
    else:
        values = error[..., 0] ** 2 if loss == "mse" else np.abs(error[..., 0])
    expected = np.nanmean(values)  # over the 25 observed values
    batch_means = [np.nansum(values[i:i + 4]) / max(np.isfinite(values[i:i + 4]).sum(), 1) for i in (0, 4, 8)]
    keras_mean = np.average(batch_means, weights=[4, 4, 2])  # Keras' mean of batch losses: by batch size
    assert not np.isclose(keras_mean, expected, rtol=0.05)
    x = np.zeros((10, 1), "float32")
    history, _ = train(model, _dataset(x, labels, 4), _dataset(x, labels, 4), epochs=1, patience=1, verbose=0)
    assert sorted(history.history) == ["loss", "val_loss"]
    np.testing.assert_allclose(history.history["loss"], [expected], rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], [expected], rtol=1e-5)
    # An outage (a validation without any observed target in its last batch) no longer pulls the value to 0.
    outage = labels.copy()
    outage[4:8] = np.nan
    history, _ = train(model, _dataset(x, labels, 4), _dataset(x, outage, 4), epochs=1, patience=1, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"], [np.nanmean(np.where(np.isnan(outage), np.nan, values))],
                               rtol=1e-5)


@pytest.mark.parametrize("missing", [False, True])
def test_training_is_keras_own_and_without_missing_targets_so_is_the_loss(missing):
    """The weights train as with a plain Keras fit (the gradients are the
    batch means over observed targets); without missing targets the History
    is Keras' own, bit for bit."""
    from tsgate.training import train

    rng = np.random.default_rng(2)
    x = rng.normal(size=(22, 4)).astype("float32")
    labels = rng.normal(size=(22, 3, 2)).astype("float32")
    if missing:
        labels[3:9, 1] = np.nan
        labels[16:] = np.nan

    def fit(ours):
        keras.utils.set_random_seed(3)
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Reshape((3, 2))(keras.layers.Dense(6)(inputs)))
        data = _dataset(x, labels, 8), _dataset(x[::-1].copy(), labels[::-1].copy(), 8)
        if ours:
            compile_masked(model, keras.optimizers.Adam(0.05), "mse")
            history, _ = train(model, *data, epochs=3, patience=5, verbose=0)
        else:
            model.compile(optimizer=keras.optimizers.Adam(0.05), loss=MaskedLoss("mse"))
            stopping = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
            history = model.fit(data[0], validation_data=data[1], epochs=3, callbacks=[stopping], verbose=0,
                                shuffle=False)
        return history.history, model.get_weights()

    (history, weights), (keras_history, keras_weights) = fit(True), fit(False)
    for ours, theirs in zip(weights, keras_weights):
        np.testing.assert_array_equal(ours, theirs)
    if missing:
        assert not np.allclose(history["val_loss"], keras_history["val_loss"], rtol=1e-3)
    else:
        assert history == keras_history
