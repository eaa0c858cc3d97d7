"""Forecast GOOG's closing price 5 business days ahead with prediction intervals.

The prices are matplotlib's sample data (daily, 2004-2008, business days).
Exchange holidays are missing business days: `fill="ffill"` carries the last
close over them, as a closed market does. A quantile head trained with the
pinball loss gives the 10 %-90 % interval; the metrics compare the median with
the naive (last close) baseline, which is hard to beat on prices.

    python examples/stock_forecast.py [--epochs 30] [--plot stock.png]
"""

import argparse

from tsgate import datasets
from tsgate import Forecaster


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--plot", default="stock_forecast.png")
    args = parser.parse_args(argv)

    prices = datasets.load_stock()[["close", "volume"]]
    prices["volume"] = prices["volume"] / 1e6  # millions of shares
    test_start = prices.index[int(0.85 * len(prices))]
    forecaster = Forecaster(
        "close", lookback=40, horizon=5, cell="lstm", units=32, past_covariates=["volume"],
        calendar=["dayofweek"], quantiles=(0.1, 0.5, 0.9), freq="B", fill="ffill", scaler="robust",
    )
    forecaster.fit(prices[prices.index < test_start], validation=0.2, epochs=args.epochs, verbose=0)
    print(forecaster.evaluate(prices, test=test_start).round(3).to_string())
    forecast = forecaster.predict(prices)
    print("\nnext 5 business days:\n" + forecast.round(2).to_string())
    forecaster.plot(prices, args.plot)
    print(f"\nplot: {args.plot}")
    return forecast


if __name__ == "__main__":
    main()
