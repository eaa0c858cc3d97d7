"""tsgate.transforms through fit, predict and save/load: target transforms
(log1p, Box-Cox) fitted on the training rows and inverted exactly, their
domains, and the non-negative output; their export is in
tests/serving/test_forecast_export.py."""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import PowerTransformer

from tests.helpers import BACKEND, clear_error, hourly
from tsgate import Forecaster
from tsgate.transforms import TargetTransform

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


QUANTILES = (0.1, 0.5, 0.9)


def growing(n=200, seed=0):
    """An hourly frame: `y` growing exponentially (1 to ~e^4) with noise, `x` noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="h", name="time")
    y = np.exp(4 * np.arange(n) / n) * rng.uniform(0.9, 1.1, n)
    return pd.DataFrame({"y": y, "x": rng.normal(size=n)}, index=index)


@pytest.mark.parametrize("method", ["log1p", "boxcox"])
def test_target_transform_is_fitted_on_training_rows_and_inverted_exactly(method):
    df = growing()
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, quantiles=QUANTILES, target_transform=method)
    forecaster.fit(df, validation=0.25, epochs=1, verbose=0)
    train = df["y"][df.index < df.index[0] + (df.index[-1] - df.index[0]) * 0.75].to_numpy("float32")[:, None]
    train = train.astype("float64")  # the panel's values
    transform = forecaster.target_transform_
    if method == "boxcox":
        expected = PowerTransformer(method="box-cox", standardize=False).fit(train).lambdas_
        np.testing.assert_allclose(transform.lambdas_, expected, rtol=1e-6)
    transformed = transform.transform(train)
    np.testing.assert_allclose(forecaster.scaler_.range_[:, 0], [transformed.min(), transformed.max()], rtol=1e-5)
    np.testing.assert_allclose(transform.inverse_transform(transformed), train, rtol=1e-9)
    layer, inverse = transform.layer(), transform.layer(inverse=True)  # the graph's transform and inverse
    np.testing.assert_allclose(np.asarray(layer(train.astype("float32"))), transformed, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(inverse(layer(train.astype("float32")))), train, rtol=1e-4)
    forecast = forecaster.predict(df)
    assert (np.diff(forecast[["y_q0.1", "y_q0.5", "y_q0.9"]].to_numpy(), axis=1) >= 0).all()


def test_box_cox_inverse_outside_the_transforms_image_is_its_limit():
    transform = TargetTransform("boxcox")
    transform.lambdas_ = np.array([0.5])
    below = transform.inverse_transform(np.array([[-2.0 - 1e-3], [-2.0 + 1e-3]]))  # the image is y > -1/λ = -2
    assert 0 <= below[0, 0] < 1e-12 and 0 < below[1, 0] < 1e-5 and below[1, 0] == pytest.approx(0.0005**2)


@pytest.mark.parametrize("method, value, domain", [("log1p", -1.0, "values > -1"), ("boxcox", 0.0, "positive")])
def test_values_outside_the_transforms_domain_are_named(method, value, domain):
    df = growing()
    df.loc[df.index[37], "y"] = value
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, target_transform=method)
    error = clear_error(lambda: forecaster.fit(df, epochs=1, verbose=0), ["'y'"])
    assert domain in str(error) and str(df.index[37]) in str(error)
    fitted = Forecaster("y", lookback=12, horizon=4, units=4, target_transform=method).fit(
        growing(), epochs=1, verbose=0)
    clear_error(lambda: fitted.predict(df), [str(df.index[37])])


def test_missing_targets_filled_outside_the_transforms_domain_blame_the_fill():
    df = growing()
    df.loc[df.index[37], "y"] = np.nan
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, target_transform="boxcox", fill="zero")
    error = clear_error(lambda: forecaster.fit(df, epochs=1, verbose=0), ["fill='zero'", "'y'"], every=True)
    assert str(df.index[37]) in str(error) and "na_values" not in str(error)
    for fill in ("ffill", "interpolate"):  # filled from observed values: in the domain
        Forecaster("y", lookback=12, horizon=4, units=4, target_transform="boxcox", fill=fill).fit(
            df, epochs=1, verbose=0)


@pytest.mark.filterwarnings("ignore:tsgate.*fitted on")  # in-sample windows, on purpose
def test_non_negative_clips_forecasts_and_quantiles_of_the_same_model():
    rng = np.random.default_rng(3)
    df = hourly(200).assign(y=np.abs(rng.normal(0, 0.05, 200)) * (np.arange(200) % 24 < 12))  # zero half the day
    arguments = dict(target="y", lookback=24, horizon=6, units=4, quantiles=QUANTILES, calendar=["hour"], seed=5)
    plain = Forecaster(**arguments).fit(df, epochs=2, verbose=0)
    clipped = Forecaster(**arguments, non_negative=True).fit(df, epochs=2, verbose=0)
    raw, forecast = plain.historical_forecasts(df), clipped.historical_forecasts(df)
    assert (raw.to_numpy() < 0).any()  # the unclipped model forecasts below zero here
    assert (forecast.to_numpy() >= 0).all()
    np.testing.assert_allclose(forecast.to_numpy(), np.maximum(raw.to_numpy(), 0), rtol=1e-5, atol=1e-6)
