"""Small real datasets bundled with tsgate (the CSV files beside this
module), returned as pandas DataFrames indexed by timestamp. Sources and
licences: `tsgate/datasets/README.md`."""

from importlib import resources

import numpy as np
import pandas as pd


def _bundled_csv(name):
    with resources.files(__name__).joinpath(name).open("r") as f:
        return pd.read_csv(f)


def load_sensor():
    """Hourly readings of one electricity transformer (ETTh1, Zhou et al. 2021):
    loads `HUFL`, `HULL`, `MUFL`, `MULL`, `LUFL`, `LULL` and the oil temperature
    `OT` (°C, the usual target), 2016-07-01 00:00 to 2018-06-26 19:00, 17,420 rows,
    no gaps. Licence CC BY-ND 4.0: credit the authors, redistribute unmodified."""
    df = _bundled_csv("ETTh1.csv")
    index = pd.DatetimeIndex(pd.to_datetime(df.pop("date"), format="%Y-%m-%d %H:%M:%S"), name="time")
    return df.set_index(index).astype("float64")


def load_weather():
    """Daily Seattle weather 2012-2015 (NOAA, via vega-datasets): numeric
    columns `precipitation` (mm), `temp_max`, `temp_min` (°C), `wind` (m/s),
    1,461 rows; the categorical `weather` column is left out."""
    df = _bundled_csv("seattle-weather.csv")
    index = pd.DatetimeIndex(pd.to_datetime(df.pop("date"), format="%Y/%m/%d"), name="time")
    return df.drop(columns="weather").set_index(index).astype("float64")


def load_stock():
    """Daily Google (GOOG) prices, 2004-08-19 to 2008-10-14, business days,
    columns `open`, `high`, `low`, `close`, `volume`, `adj_close`: the sample
    data that matplotlib ships (`goog.npz`), read from the installed matplotlib."""
    from matplotlib import cbook

    prices = cbook.get_sample_data("goog.npz")["price_data"]
    df = pd.DataFrame({name: prices[name] for name in prices.dtype.names if name != "date"})
    df.index = pd.DatetimeIndex(prices["date"].astype("datetime64[ns]"), name="time")
    return df.astype(np.float64)
