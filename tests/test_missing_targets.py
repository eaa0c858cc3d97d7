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
from tsgate.training import MaskedLoss

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
