"""Small public series of other frequencies than ETT's, from statsmodels'
bundled datasets, written as CSVs the accuracy harness reads (timestamps in
the first column). Benchmark data only: never used to choose the recipe,
only to report it (`benchmarks/README.md`).

    pip install statsmodels
    python -m benchmarks.small_datasets --out data/small
    python -m benchmarks.accuracy --data data/small/co2_weekly.csv --target co2 --task S \\
        --horizons 13 26 52 --preset long_horizon --seeds 1 2 3

| file | frequency | rows | column | source |
|---|---|---|---|---|
| co2_weekly.csv | weekly (Saturdays) | 2,284 | co2 | Mauna Loa CO2, 1958-2001; 59 missing weeks interpolated in time |
| sst_monthly.csv | monthly | 732 | sst | El Nino sea surface temperature, 1950-2010 (`elnino`, one row per year made one per month) |
| sunspots_yearly.csv | yearly | 309 | sunactivity | Wolf's yearly sunspot numbers, 1700-2008 |
"""

import argparse
from pathlib import Path

import pandas as pd

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def co2_weekly(datasets):
    """Weekly CO2 (ppm); its missing weeks interpolated linearly in time,
    since the harness scores every row."""
    frame = datasets.co2.load_pandas().data
    frame.index = pd.DatetimeIndex(frame.index, freq="W-SAT", name="date")
    return frame.interpolate("time")


def sst_monthly(datasets):
    """Monthly sea surface temperature (deg C): `elnino`'s year rows of 12
    month columns, one row per month."""
    wide = datasets.elnino.load_pandas().data
    values = wide[list(MONTHS)].to_numpy().ravel()
    start = pd.Timestamp(year=int(wide["YEAR"].iloc[0]), month=1, day=1)
    return pd.DataFrame({"sst": values}, index=pd.date_range(start, periods=len(values), freq="MS", name="date"))


def sunspots_yearly(datasets):
    """Yearly mean sunspot number."""
    frame = datasets.sunspots.load_pandas().data
    index = pd.DatetimeIndex([pd.Timestamp(year=int(y), month=1, day=1) for y in frame.pop("YEAR")], name="date")
    return frame.rename(columns={"SUNACTIVITY": "sunactivity"}).set_index(index)


DATASETS = {"co2_weekly": co2_weekly, "sst_monthly": sst_monthly, "sunspots_yearly": sunspots_yearly}


def write(directory):
    """Writes every dataset of `DATASETS` as `directory/NAME.csv`; returns
    the paths. SystemExit when statsmodels is not installed."""
    try:
        from statsmodels import datasets
    except ImportError:
        raise SystemExit("small_datasets: needs statsmodels (pip install statsmodels).") from None
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, load in DATASETS.items():
        path = directory / f"{name}.csv"
        load(datasets).to_csv(path)
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="data/small", help="directory of the CSVs (created)")
    for path in write(parser.parse_args(argv).out):
        print(path)


if __name__ == "__main__":
    main()
