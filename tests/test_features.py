"""Target transforms, the non-negative output, categorical covariates and
richer calendar features (issue #13, item 11), through fit, predict and
save/load; their export is in tests/serving/test_forecast_export.py."""

import datetime
import warnings

import numpy as np
import pandas as pd
import pytest
from pandas.tseries.holiday import AbstractHolidayCalendar, Holiday, USFederalHolidayCalendar
from sklearn.preprocessing import PowerTransformer

from tests.helpers import BACKEND, clear_error, hourly
from tsgate import Forecaster
from tsgate.calendar_features import calendar_features
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


def weather(n=240, seed=0):
    """Hourly `y` driven by a categorical wind direction and a weekday flag,
    two sites with a categorical static `kind`."""
    rng = np.random.default_rng(seed)
    frames = []
    for site, kind in (("a", "urban"), ("b", "rural")):
        index = pd.date_range("2024-01-01", periods=n, freq="h", name="time")
        wind = rng.choice(["N", "S", "E"], n)
        promo = rng.integers(0, 3, n)
        y = 5 + (wind == "N") * 2.0 + promo + rng.normal(0, 0.1, n)
        frames.append(pd.DataFrame({"y": y, "wind": pd.Categorical(wind), "promo": promo, "site": site,
                                    "kind": kind}, index=index))
    return pd.concat(frames)


def test_categorical_covariates_are_one_hot_and_unknown_categories_named(tmp_path):
    df = weather()
    train, future = df[df.index < df.index[-6]], df[df.index >= df.index[-6]]
    forecaster = Forecaster("y", lookback=12, horizon=6, units=4, series_column="site", past_covariates=["wind"],
                            future_covariates=["promo"], static_covariates=["kind"],
                            categorical=["wind", "promo", "kind"])
    forecaster.fit(train, epochs=1, verbose=0)
    assert forecaster.encoder_.categories_ == {"wind": ["E", "N", "S"], "promo": [0, 1, 2], "kind": ["rural", "urban"]}
    assert forecaster.layout_.input_columns() == {
        "past_target": ["y"], "past_covariates": ["wind_E", "wind_N", "wind_S"],
        "future_covariates": ["promo_0", "promo_1", "promo_2"], "static": ["kind_rural", "kind_urban"]}
    np.testing.assert_array_equal(forecaster.scaler_.scale_[0, 1:], 1.0)  # indicators pass the scaler unscaled
    assert (forecaster.scaler_.static_scale_ != 1.0).all()  # static ones are standardized (see Layout)
    inputs, _ = forecaster.serving_inputs(train, future=future)
    np.testing.assert_array_equal(inputs["past_covariates"][0, -1], pd.get_dummies(train["wind"]).to_numpy()[
        np.flatnonzero(train["site"] == "a")[-1]])
    np.testing.assert_array_equal(inputs["future_covariates"][1].argmax(axis=1), future[future.site == "b"]["promo"])
    expected = forecaster.predict(train, future=future)
    loaded = Forecaster.load(forecaster.save(tmp_path / "f"))
    pd.testing.assert_frame_equal(loaded.predict(train, future=future), expected)

    unseen = train.assign(wind=train["wind"].astype(str))
    unseen.iloc[-2, unseen.columns.get_loc("wind")] = "W"
    error = clear_error(lambda: loaded.predict(unseen, future=future), ["'wind'"])
    assert "'W'" in str(error)
    error = clear_error(lambda: forecaster.predict(train, future=future.assign(promo=future["promo"] + 5)),
                        ["'promo'", "`future`"], every=True)
    assert "did not see at fit" in str(error)


@pytest.mark.parametrize("categorical, message", [
    (["y"], "`categorical`"),          # a target, not a covariate
    (["nowhere"], "`categorical`"),
])
def test_categorical_must_name_covariates(categorical, message):
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, past_covariates=["wind"], categorical=categorical)
    clear_error(lambda: forecaster.fit(weather().query("site == 'a'"), epochs=1, verbose=0), [message])


def test_a_single_future_covariate_name_is_a_name_not_a_string_of_names():
    df = weather().query("site == 'a'").assign(wind_dir=lambda d: d["promo"] * 90.0)
    train, future = df[df.index < df.index[-4]], df[df.index >= df.index[-4]][["wind_dir"]]
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, past_covariates=["wind"],
                            future_covariates="wind_dir", categorical=["wind"]).fit(train, epochs=1, verbose=0)
    assert forecaster.predict(train, future=future).shape == (4, 1)  # 'wind' is no future covariate


def test_a_category_first_seen_after_the_training_rows_is_no_far_outside_value():
    df = weather().query("site == 'a'").astype({"wind": str})
    df.loc[df.index[-30:], "wind"] = "W"  # in the validation rows only: its indicator is 0 on every training row
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, past_covariates=["wind"], categorical=["wind"])
    forecaster.fit(df, epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forecaster.predict(df)


@pytest.mark.parametrize("values, message", [
    ([1.5, 2.5], "strings or integers"), (["a", 1], "strings or integers"), (["a", None], "missing values"),
])
def test_categorical_values_are_checked(values, message):
    df = weather().query("site == 'a'").copy()
    df["wind"] = (values * len(df))[: len(df)]
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, past_covariates=["wind"], categorical=["wind"])
    error = clear_error(lambda: forecaster.fit(df, epochs=1, verbose=0), ["'wind'"])
    assert message in str(error)


def test_a_string_covariate_without_categorical_is_refused():
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, past_covariates=["wind"])
    clear_error(lambda: forecaster.fit(weather().query("site == 'a'"), epochs=1, verbose=0), ["'wind'"])


def test_calendar_fields_week_of_year_quarter_and_holidays():
    index = pd.date_range("2024-07-03", periods=72, freq="h", tz="US/Eastern")  # 3 to 5 July, local days
    features = calendar_features(index, ["weekofyear", "quarter", "month", "day", "holiday"],
                                 USFederalHolidayCalendar())
    angle = 2 * np.pi * np.asarray(index.isocalendar().week, "float64") / 53
    np.testing.assert_allclose(features["weekofyear_sin"], np.sin(angle))
    np.testing.assert_allclose(features["quarter_cos"], np.cos(2 * np.pi * 3 / 4))
    np.testing.assert_array_equal(features["holiday"], (index.day == 4).astype(float))  # Independence Day, local
    listed = calendar_features(index, ["holiday"], ["2024-07-05"])
    np.testing.assert_array_equal(listed["holiday"], (index.day == 5).astype(float))


@pytest.mark.filterwarnings("ignore:tsgate.*fitted on")  # in-sample windows, on purpose
def test_holidays_reach_the_model_and_are_saved(tmp_path):
    df = hourly(24 * 12, start="2024-06-25")
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4, calendar=["hour", "quarter", "holiday"],
                            holidays=USFederalHolidayCalendar())
    forecaster.fit(df, epochs=1, verbose=0)
    assert forecaster.layout_.input_columns()["future_covariates"] == [
        "hour_sin", "hour_cos", "quarter_sin", "quarter_cos", "holiday"]
    before, on = (forecaster.serving_inputs(df[df.index < day])[0]["future_covariates"][0, :, -1]
                  for day in ("2024-07-03 12:00", "2024-07-04"))
    np.testing.assert_array_equal(before, 0.0)
    np.testing.assert_array_equal(on, 1.0)  # the 6 forecast hours of Independence Day
    history = forecaster.historical_forecasts(df[df.index < "2024-07-05"], start="2024-07-03 20:00")
    loaded = Forecaster.load(forecaster.save(tmp_path / "f"))
    assert isinstance(loaded.holidays, USFederalHolidayCalendar)
    pd.testing.assert_frame_equal(loaded.historical_forecasts(df[df.index < "2024-07-05"], start="2024-07-03 20:00"),
                                  history)
    by_date = Forecaster("y", lookback=24, horizon=6, units=4, calendar=["holiday"],
                         holidays=[pd.Timestamp("2024-07-04")]).fit(df, epochs=1, verbose=0)
    assert Forecaster.load(by_date.save(tmp_path / "g")).holidays == [pd.Timestamp("2024-07-04")]


@pytest.mark.parametrize("arguments, named", [
    ({"calendar": ["holiday"]}, "`holidays`"),
    ({"calendar": ["hour"], "holidays": ["2024-07-04"]}, "`holidays`"),
    ({"calendar": ["holiday"], "holidays": USFederalHolidayCalendar}, "`holidays`"),  # the class, not an instance
    ({"calendar": ["holiday"], "holidays": ["not a date"]}, "`holidays`"),
    # other rules than the class's: a saved forecaster would load the class's own rules
    ({"calendar": ["holiday"], "holidays": AbstractHolidayCalendar(rules=[Holiday("Founders", month=3, day=15)])},
     "`holidays`"),
    ({"calendar": ["holiday"], "holidays": USFederalHolidayCalendar(rules=[Holiday("Founders", month=3, day=15)])},
     "`holidays`"),
    ({"calendar": ["week"]}, "`calendar`"),
])
def test_bad_calendars_are_named(arguments, named):
    forecaster = Forecaster("y", lookback=12, horizon=4, units=4, **arguments)
    clear_error(lambda: forecaster.fit(hourly(100), epochs=1, verbose=0), [named])


@pytest.mark.filterwarnings("ignore:tsgate.*fitted on")
@pytest.mark.parametrize("day", [
    "2024-03-15", pd.Timestamp("2024-03-15"), datetime.date(2024, 3, 15), np.datetime64("2024-03-15"),
    # a custom calendar's dates, as the refusal of its rules advises
    *AbstractHolidayCalendar(rules=[Holiday("Founders", month=3, day=15)]).holidays("2024-01-01", "2024-12-31"),
])
def test_holiday_dates_of_every_type_are_saved_and_loaded(tmp_path, day):
    df = hourly(24 * 6, start="2024-03-10")
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, calendar=["holiday"], holidays=[day])
    forecaster.fit(df, epochs=1, verbose=0)
    loaded = Forecaster.load(forecaster.save(tmp_path / "f"))
    for end, holiday in (("2024-03-14 12:00", 0.0), ("2024-03-15", 1.0), ("2024-03-15 12:00", 1.0)):
        inputs = [f.serving_inputs(df[df.index < end])[0]["future_covariates"] for f in (forecaster, loaded)]
        np.testing.assert_array_equal(inputs[1], inputs[0])
        np.testing.assert_array_equal(inputs[0][0, :, -1], holiday)
