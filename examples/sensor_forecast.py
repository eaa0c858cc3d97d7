"""Forecast daily maximum temperature in Seattle a week ahead from the bundled
NOAA weather record (2012-2015), with precipitation and wind as past covariates
and the day of the year as a known-future calendar covariate; compare with
the naive and seasonal-naive (7 days) baselines, and backtest on rolling
origins with the scalers re-fitted per fold.

    python examples/sensor_forecast.py [--epochs 20]
"""

import argparse

from tsgate import datasets
from tsgate import Forecaster


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args(argv)

    weather = datasets.load_weather()
    forecaster = Forecaster(
        "temp_max", lookback=28, horizon=7, cell="gru", units=32,
        past_covariates=["temp_min", "precipitation", "wind"], calendar=["dayofyear"], freq="D",
    )
    test_start = weather.index[int(0.8 * len(weather))]
    forecaster.fit(weather[weather.index < test_start], epochs=args.epochs, verbose=0)
    print("hold-out (last 20 %):\n" + forecaster.evaluate(weather, test=test_start).round(3).to_string())
    result = forecaster.backtest(weather, folds=args.folds, test=0.3, epochs=args.epochs)
    print("\nrolling-origin backtest:\n" + result.folds.to_string() + "\n" + result.metrics.round(3).to_string())
    return result


if __name__ == "__main__":
    main()
