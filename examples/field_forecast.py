"""Forecast fields with tsgate.fields: moving digits, and a real temperature field.

1. Moving digits (`tsgate.datasets.moving_digits`, Moving-MNIST-style, built
   from scikit-learn's digits): a `FieldForecaster` reads 10 frames and
   forecasts the next 10 at once; it is scored by lead time on sequences of
   another generator seed (digits, speeds and positions it never saw), next
   to persistence (the last frame) and climatology (the mean training frame).
2. With --real: the annual mean air temperature over North America
   (`tsgate.datasets.load_air_temperature`, 240 frames of 37×49, 1860-2099,
   Met Office; `pip install 'tsgate[fields]'`), 10 years in, 5 out, the last
   fifth of the years tested; `residual=True`: the model forecasts the change
   from the last year, a slowly varying field's natural target.

Each model is exported as a SavedModel and TF Lite, and both are checked
against `predict`.

    python examples/field_forecast.py [--epochs 10] [--sequences 600] [--size 64] [--real] [--plots DIR]
"""

import argparse
import os
import tempfile

import numpy as np

from tsgate import datasets, serving
from tsgate.fields import Field, FieldForecaster
from tsgate.fields.plotting import plot_frames, plot_leads


def report(name, table):
    means = table.groupby(level="model", sort=False)[["MSE", "SSIM"]].mean()
    means["MSE vs persistence"] = means["MSE"] / means.loc["persistence", "MSE"] - 1
    print(f"\n{name}: mean over lead times\n{means.round(4).to_string()}")
    print(f"MSE by lead time\n{table['MSE'].unstack('model').round(4).to_string()}")


def check_exports(forecaster, field, directory):
    import tensorflow as tf

    frames = field.values[None, -forecaster.lookback:]
    expected = forecaster.predict(field)[-1:]  # the last sequence's, whose frames end the field
    served = serving.serve_in_fresh_process(forecaster.export(os.path.join(directory, "saved"), version=1),
                                            {"frames": frames})["forecast"]
    runner = tf.lite.Interpreter(model_path=forecaster.export_tflite(os.path.join(directory, "f.tflite")))
    lite = runner.get_signature_runner()(frames=frames)["forecast"]
    print(f"served without tsgate: max |served - predict| {np.abs(served - expected).max():.2g}, "
          f"TF Lite {np.abs(lite - expected).max():.2g}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--sequences", type=int, default=600, help="training sequences of moving digits")
    parser.add_argument("--size", type=int, default=64, help="the canvas, in pixels")
    parser.add_argument("--real", action="store_true", help="also the air-temperature field (tsgate[fields])")
    parser.add_argument("--plots", help="directory for the frame strips and the MSE-by-lead curves")
    args = parser.parse_args(argv)
    train = datasets.moving_digits(args.sequences, size=args.size, digit_size=args.size * 3 // 8, seed=1)
    test = datasets.moving_digits(max(args.sequences // 5, 4), size=args.size, digit_size=args.size * 3 // 8, seed=2)
    forecaster = FieldForecaster(10, 10, filters=(16, 32), seed=1)
    forecaster.fit(train, epochs=args.epochs, verbose=0)
    table = forecaster.evaluate(test, test=None)  # every window of the unseen seed
    report("moving digits (another seed)", table)
    with tempfile.TemporaryDirectory() as directory:
        check_exports(forecaster, test, directory)
    if args.plots:
        os.makedirs(args.plots, exist_ok=True)
        plot_frames(forecaster.historical_forecasts(test), window=0,
                    path=os.path.join(args.plots, "digits_frames.png"))
        plot_leads(table, "MSE", path=os.path.join(args.plots, "digits_mse.png"))
    if args.real:
        field = datasets.load_air_temperature()
        test_start = int(len(field) * 0.8)
        temperature = FieldForecaster(10, 5, filters=(16, 32), residual=True, seed=1)  # changes from the last year
        training = Field.from_array(field.values[:test_start], time=field.time[:test_start], channels=field.channels)
        temperature.fit(training, epochs=args.epochs * 5, patience=10, verbose=0)
        report("air temperature (K², the last fifth of the years)", temperature.evaluate(field, test=test_start))
        with tempfile.TemporaryDirectory() as directory:
            check_exports(temperature, field, directory)


if __name__ == "__main__":
    main()
