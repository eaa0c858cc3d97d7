"""tsgate.data.frequency, trading calendars: business days with holidays, inferred from the data or
given as a pandas offset, kept through fit, predict, save, load and export;
errors about too few windows name the frequency, the gaps and the fix."""

import numpy as np
import pandas as pd
import pytest
from pandas.tseries.holiday import USFederalHolidayCalendar
from pandas.tseries.offsets import CustomBusinessDay

from tests.helpers import BACKEND
from tsgate import Forecaster, serving
from tsgate.data import Panel, freq_from_json, freq_to_json

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")

US = CustomBusinessDay(calendar=USFederalHolidayCalendar())


def prices(end="2020-12-23", periods=200, freq=US, seed=0):
    """Daily closing prices on the trading days of `freq`, ending at `end`."""
    index = pd.date_range(end=end, periods=periods, freq=freq, name="time")
    return pd.DataFrame({"y": 100 + np.cumsum(np.random.default_rng(seed).normal(size=periods))}, index=index)


def test_weekdays_with_a_few_missing_are_business_days_with_holidays_not_gaps():
    df = prices()
    panel = Panel.from_frame(df, ["y"])
    weekdays = pd.bdate_range(df.index[0], df.index[-1])
    holidays = [str(day.date()) for day in weekdays.difference(df.index)]
    assert "2020-07-03" in holidays and "2020-11-26" in holidays  # Independence Day observed, Thanksgiving
    assert isinstance(panel.freq, CustomBusinessDay) and [str(d) for d in panel.freq.holidays] == holidays
    assert panel.gap_rows == 0 and panel.freq_inferred
    # Several series: the holidays are the weekdays that none of them has.
    two = pd.concat([df.iloc[:120].assign(site="a"), df.iloc[80:].assign(site="b")])
    assert Panel.from_frame(two, ["y"], series_column="site").freq == panel.freq
    # Weekdays without holidays stay plain business days; Mon/Wed/Fri data is no trading calendar.
    assert Panel.from_frame(prices(freq="B"), ["y"]).freq == "B"
    with pytest.raises(ValueError, match="not on the inferred '48h' grid"):
        Panel.from_frame(df[df.index.day_of_week.isin([0, 2, 4])], ["y"])


def test_later_frames_add_their_missing_weekdays_as_holidays_when_asked():
    df = prices(end="2021-02-26", periods=60)
    panel = Panel.from_frame(df, ["y"], freq="B", infer_holidays=True)
    assert panel.gap_rows == 0 and "2021-02-15" in [str(d) for d in panel.freq.holidays]  # Presidents' Day
    assert Panel.from_frame(df, ["y"], freq="B").gap_rows == 4  # a given "B" has no holidays: 4 gaps
    # More missing weekdays than a trading calendar closes on (fit's limit): gaps, not holidays.
    outage = df.drop(df.index[10:25])
    panel = Panel.from_frame(outage, ["y"], freq=panel.freq, infer_holidays=True)
    assert panel.gap_rows == 15 and "2021-02-15" in [str(d) for d in panel.freq.holidays]
    assert [str(d) for d in panel.freq.holidays] == [str(d) for d in Panel.from_frame(
        df, ["y"], freq="B", infer_holidays=True).freq.holidays]  # the known holidays, no new ones


def test_offsets_are_written_as_json_and_read_back_equal():
    for freq in ("h", "15min", "B", "W-SUN", US, CustomBusinessDay(weekmask="Sun Mon Tue Wed Thu", holidays=["2024-04-10"])):
        offset = pd.tseries.frequencies.to_offset(freq)
        assert freq_from_json(freq_to_json(offset)) == offset
    with pytest.raises(ValueError, match="Cannot write the frequency"):
        freq_to_json(pd.offsets.CustomBusinessHour(start="10:00"))


def test_a_holiday_calendar_is_kept_through_fit_predict_save_load_and_export(tmp_path, monkeypatch):
    df = prices()  # ends Wednesday 2020-12-23; Friday 2020-12-25 is Christmas
    forecaster = Forecaster("y", lookback=20, horizon=3, units=4, freq=US).fit(df, epochs=1, verbose=0)
    forecast = forecaster.predict(df)
    assert [str(t.date()) for t in forecast.index] == ["2020-12-24", "2020-12-28", "2020-12-29"]
    assert forecaster.freq_ == US and forecaster.windows_["dropped_for_gaps"] == 0
    loaded = Forecaster.load(forecaster.save(tmp_path / "f"))
    assert loaded.freq_ == US and loaded.get_params()["freq"] == US
    pd.testing.assert_frame_equal(loaded.predict(df), forecast)
    exported = {}
    monkeypatch.setattr(serving, "export_forecast", lambda model, path, metadata, *options: exported.update(metadata))
    loaded.export(tmp_path / "served", version=1)
    assert freq_from_json(exported["freq"]) == US


def test_inferred_holidays_are_inferred_again_in_later_frames():
    df = prices(end="2021-03-31", periods=300)
    train = df[df.index < "2021-01-01"]
    forecaster = Forecaster("y", lookback=40, horizon=3, units=4).fit(train, epochs=1, verbose=0)
    assert isinstance(forecaster.freq_, CustomBusinessDay) and forecaster.windows_["dropped_for_gaps"] == 0
    # 2021 brings New Year, MLK and Presidents' Day within the last 40 trading days: holidays, not gaps.
    forecast = forecaster.predict(df[df.index <= "2021-03-02"])
    assert [str(t.date()) for t in forecast.index] == ["2021-03-03", "2021-03-04", "2021-03-05"]


def test_too_few_windows_name_the_frequency_the_gaps_and_the_fix():
    df = prices()
    forecaster = Forecaster("y", lookback=20, horizon=5, units=4, freq="B")
    with pytest.raises(ValueError, match=r"Not enough data: \d+ training and 0 validation windows.*frequency is 'B' "
                                         r"\(given\); \d+ timestamps on that grid are missing \(gaps, e.g. "
                                         r"\['2020-05-25.*dropped \d+ window positions.*CustomBusinessDay"):
        forecaster.fit(df, epochs=1, verbose=0)
    weekends = Forecaster("y", lookback=20, horizon=5, units=4, freq="D")
    with pytest.raises(ValueError, match="frequency is 'D' \\(given\\).*If these are weekends and holidays"):
        weekends.fit(df, epochs=1, verbose=0)
    fitted = Forecaster("y", lookback=20, horizon=5, units=4).fit(df, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"No complete window.*custom business days \(Mon Tue Wed Thu Fri, \d+ "
                                         r"holidays.*\(inferred\); no window has a gap"):
        fitted.historical_forecasts(df.iloc[:24])


def test_an_exchange_code_is_its_trading_days_with_the_2025_holidays():
    from tsgate.data.frequency import check_freq

    offset = check_freq("XNYS")
    assert isinstance(offset, CustomBusinessDay) and offset.weekmask == "Mon Tue Wed Thu Fri"
    holidays = {str(pd.Timestamp(day).date()) for day in offset.holidays if pd.Timestamp(day).year == 2025}
    assert holidays == {"2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26",
                        "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"}  # Jan 9: Carter's funeral
    assert str(pd.Timestamp("2025-08-29") + offset) == "2025-09-02 00:00:00"  # over Labor Day
    with pytest.raises(ValueError, match="`freq=XXXX` is neither a pandas frequency nor an exchange"):
        check_freq("XXXX")


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
def test_an_exchange_calendar_forecasts_trading_days_through_save_load_and_export(tmp_path, monkeypatch):
    from tsgate.data.frequency import check_freq

    days = pd.date_range("2024-06-03", "2025-08-28", freq=check_freq("XNYS"))  # the trading days, as downloaded
    df = pd.DataFrame({"p": 70 + np.sin(np.arange(len(days)) / 5)}, index=pd.DatetimeIndex(days, name="time"))
    forecaster = Forecaster("p", lookback=20, horizon=5, units=4, freq="XNYS").fit(df, epochs=1, verbose=0)
    assert [str(t.date()) for t in forecaster.predict(df).index] == [
        "2025-08-29", "2025-09-02", "2025-09-03", "2025-09-04", "2025-09-05"]  # WTI's Labor Day forecast, skipped
    loaded = Forecaster.load(forecaster.save(tmp_path / "f"))
    assert loaded.get_params()["freq"] == "XNYS" and loaded.freq_ == forecaster.freq_
    pd.testing.assert_frame_equal(loaded.predict(df), forecaster.predict(df))
    exported = {}
    monkeypatch.setattr(serving, "export_forecast", lambda model, path, metadata, *options: exported.update(metadata))
    loaded.export(tmp_path / "served", version=1)
    assert freq_from_json(exported["freq"]) == forecaster.freq_
