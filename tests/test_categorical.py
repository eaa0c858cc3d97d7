"""tsgate.data.categorical through fit, predict and save/load: categorical
covariates one-hot encoded with the categories seen at fit, unknown and bad
values named."""

import warnings

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, clear_error
from tsgate import Forecaster

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


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


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
def test_a_missing_column_is_named_among_the_users_columns_not_the_one_hot_ones():
    df = weather().assign(temp=1.0)
    forecaster = Forecaster("y", lookback=12, horizon=6, units=4, series_column="site", past_covariates=["wind", "temp"],
                            categorical=["wind"]).fit(df, epochs=1, verbose=0)
    for verb in (forecaster.predict, forecaster.fit):
        with pytest.raises(ValueError, match=r"Column\(s\) \['temp'\] are missing from `df`; it has \[.*'wind'") as error:
            verb(df.drop(columns="temp"))
        assert "wind_E" not in str(error.value)
