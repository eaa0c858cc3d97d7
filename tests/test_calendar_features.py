"""tsgate.calendar_features through fit, predict and save/load: calendar
fields (week of year, quarter) and holidays, bad calendars named."""

import datetime

import numpy as np
import pandas as pd
import pytest
from pandas.tseries.holiday import AbstractHolidayCalendar, Holiday, USFederalHolidayCalendar

from tests.helpers import BACKEND, clear_error, hourly
from tsgate import Forecaster
from tsgate.calendar_features import calendar_features

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


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
