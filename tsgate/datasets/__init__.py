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


def moving_digits(n_sequences=1000, frames=20, size=64, digits=2, digit_size=24, seed=0):
    """Moving-MNIST-style sequences built from scikit-learn's handwritten
    digits (`sklearn.datasets.load_digits`, 1,797 images of 8×8, shipped
    with scikit-learn): each sequence has `digits` digits, upsampled to
    `digit_size` pixels (bilinear), moving at constant velocity (speed 2 to
    4 pixels a frame, any direction) across a `size × size` canvas and
    bouncing off its edges; overlaps take the brighter pixel; values in
    [0, 1]. The `seed` chooses the digits, starting positions, directions and
    speeds: another seed is data the model never saw. A
    `tsgate.fields.Field` of `n_sequences` sequences of `frames` frames
    `(size, size, 1)`, no timestamps."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    from tsgate.fields.data import Field

    if digit_size > size:
        raise ValueError(f"digit_size={digit_size} does not fit a canvas of size={size}.")
    rng = np.random.default_rng(seed)
    images = load_digits().images / 16.0
    sequences = np.zeros((n_sequences, frames, size, size), "float32")
    room = size - digit_size
    for n in range(n_sequences):
        for image in images[rng.integers(len(images), size=digits)]:
            sprite = np.clip(zoom(image, digit_size / 8, order=1), 0, 1).astype("float32")
            position = rng.uniform(0, room, 2)
            angle, speed = rng.uniform(0, 2 * np.pi), rng.uniform(2, 4)
            velocity = speed * np.array([np.sin(angle), np.cos(angle)])
            for t in range(frames):
                top, left = np.round(position).astype(int)
                canvas = sequences[n, t, top:top + digit_size, left:left + digit_size]
                np.maximum(canvas, sprite, out=canvas)
                position = position + velocity
                for axis in range(2):  # bounce off the edges
                    if not 0 <= position[axis] <= room:
                        velocity[axis] = -velocity[axis]
                        position[axis] = np.clip(position[axis], 0, room)
    return Field.from_sequences(sequences, channels=("intensity",))


def load_air_temperature(scenario="E1"):
    """Annual mean air temperature at 1.5 m (K) over North America, 240
    frames of 37 latitudes (15° to 60° N) × 49 longitudes (225° to 315° E),
    1860 to 2099, a Met Office Unified Model 6.05 run under the `scenario`
    "E1" or "A1B" (identical up to 1999): the netCDF files of the
    `iris-sample-data` package (`pip install 'tsgate[fields]'`), read with
    h5py. © British Crown copyright, Met Office, Open Government Licence.
    A `tsgate.fields.Field` with a timestamp per frame (June 1 of each year:
    the files' 360-day calendar, which counts the year's middle)."""
    try:
        import h5py
        import iris_sample_data
    except ImportError:
        raise ImportError("load_air_temperature reads the files of the iris-sample-data package with h5py: "
                          "pip install 'tsgate[fields]'.") from None
    from tsgate.fields.data import Field

    if scenario not in ("E1", "A1B"):
        raise ValueError(f"scenario must be 'E1' or 'A1B', got {scenario!r}.")
    import os

    with h5py.File(os.path.join(iris_sample_data.path, f"{scenario}_north_america.nc"), "r") as f:
        values = f["air_temperature"][...].astype("float32")
        units = f["time"].attrs["units"]
        hours = f["time"][...]
    if (units.decode() if isinstance(units, bytes) else units) != "hours since 1970-01-01 00:00:00":
        raise ValueError(f"Unexpected time units {units!r} in the iris-sample-data file.")
    years = 1970 + np.floor(hours / (360 * 24)).astype(int)  # 360-day years: each frame is a year's mean
    time = pd.to_datetime([f"{year}-06-01" for year in years])
    return Field.from_array(values, time=time, channels=("air_temperature",))
