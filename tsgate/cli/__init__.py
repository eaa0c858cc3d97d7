"""The `tsgate` command: train, evaluate, backtest, forecast, plot and export
on CSV or Parquet files, and the demo.

`train` saves the Forecaster (its arguments, the time column among them,
and its fit options, which `backtest` reuses) and, beside it in `cli.json`,
the test cut-off (`--test`): `evaluate` scores only windows after it, never
those early stopping chose the weights on.

A user mistake (a missing, empty or unreadable file, a time column that is
not there, an option value tsgate refuses, a bad `--config`, a corrupted saved
forecaster, an export to an existing version, ...) ends in one line on stderr,
`tsgate: <what is wrong>`, and exit status 2, as argparse's own errors do.
Anything else is a bug and shows its traceback. Warnings are one line too,
`tsgate: warning: ...`.

Importing this package loads neither pandas nor TensorFlow: `tsgate --help`
answers at once, each command imports what it uses. Here: `main` and the
parser; `options` (argparse types, shared option groups), `files` (tables,
`--config`, the saved forecaster), `errors` (what is a user mistake), the
commands in `fitting` (train, tune, backtest, demo) and `forecasting` (evaluate,
forecast, plot, export), `calibrating` (calibrate, adapt) and `updating` (update).
"""

import argparse
import sys
import warnings

from tsgate import presets
from tsgate.cli import calibrating, fitting, forecasting, updating
from tsgate.cli.errors import USAGE_STATUS, in_command_terms, is_user_mistake, one_line
from tsgate.cli.options import (add_data_options, add_fit_options, add_forecaster_options, add_scoring_options,
                                add_table_output, cutoff, fraction, key_value, non_negative_int, positive_float,
                                positive_int, share)

COMMANDS = {"demo": fitting.demo, "train": fitting.train, "backtest": fitting.backtest,
            "evaluate": forecasting.evaluate, "forecast": forecasting.forecast, "plot": forecasting.plot,
            "export": forecasting.export, "calibrate": calibrating.calibrate, "adapt": calibrating.adapt,
            "update": updating.update, "tune": fitting.train}


def main(argv=None):
    """Runs the command; a user mistake exits with status 2 and one line on stderr."""
    parser = build_parser()
    args = parser.parse_args(argv)
    terms = command_terms(parser, args)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = lambda message, *_, **__: show_warning(message, terms)
            COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("tsgate: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        if not is_user_mistake(error):
            raise
        print(f"tsgate: {in_command_terms(one_line(error), *terms)}", file=sys.stderr)
        raise SystemExit(USAGE_STATUS) from None


def command_terms(parser, args):
    """({argument name: its option} of the command run, {argument name: the
    file given}): how `in_command_terms` words the library's messages."""
    command = parser._subparsers._group_actions[0].choices[args.command]
    options = {action.dest: next(o for o in action.option_strings if o.startswith("--")) for action in command._actions
               if any(o.startswith("--") for o in action.option_strings) and action.dest != "help"}
    files = {name: str(getattr(args, source)) for name, source in (("df", "data"), ("future", "future"))
             if getattr(args, source, None) is not None}
    return options, files


def show_warning(message, terms=({}, {})):
    """A warning on one line of stderr, `tsgate: warning: ...`, without the
    code that raised it, in the command's words."""
    text = in_command_terms(one_line(message), *terms)
    print(f"tsgate: warning: {text.removeprefix('tsgate: ')}", file=sys.stderr)


class Parser(argparse.ArgumentParser):
    """argparse's parser, its error message on one line whatever the user typed."""

    def error(self, message):
        super().error(one_line(message))


def add_train_options(train):
    """The options of `train` and `tune`: the data, the Forecaster's arguments, fit's options."""
    add_data_options(train, "directory to save the Forecaster in")
    train.add_argument("--preset", choices=sorted(presets.PRESETS),
                       help="a recipe of tsgate.presets; --config and the options below override it")
    train.add_argument("--config", metavar="FILE", help="JSON object of Forecaster arguments")
    train.add_argument("--test", type=cutoff,
                       help="hold out the rows from this cut-off on (a fraction or a timestamp): not fitted on, "
                            "not validated on; stored for `evaluate`")
    add_forecaster_options(train)
    add_fit_options(train)
    train.add_argument("--checkpoint-dir", metavar="DIR",
                       help="crash-safe checkpoints: a killed train, run again alike, resumes from its last epoch")
    train.add_argument("--distributed", action="store_true",
                       help="one worker of a data-parallel fit on the cluster TF_CONFIG names (give each worker its "
                            "own share of the series); only the chief saves --model")


def build_parser():
    parser = Parser(prog="tsgate", description=__doc__.split("\n\n")[0].replace("\n", " "))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="train, evaluate, plot and export on the bundled sensor data",
                               description="The README's main job on the bundled ETTh1 data.")
    demo.add_argument("--output", default="demo_output", help="directory for the plot, report and models")
    demo.add_argument("--epochs", type=positive_int, help="default: the long_horizon preset's")
    demo.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])

    train = commands.add_parser("train", help="fit a Forecaster on a table and save it",
                                description="Fits a Forecaster and saves it to --model.")
    add_train_options(train)
    train.add_argument("--select", action="store_true",
                       help="choose among the --preset's candidates (tsgate.presets.candidates) by successive "
                            "halving on the validation windows; prints and saves the table")
    tuner = commands.add_parser("tune", help="search Forecaster arguments (lookback included) and save the best",
                                description="Draws --trials configurations from --space, races them by successive "
                                            "halving on the validation windows (tsgate.tuning), prints the table "
                                            "and saves the best to --model; the other options as in train.")
    add_train_options(tuner)
    tuner.add_argument("--space", type=key_value, action="append", required=True, metavar="KEY=[VALUES]",
                       help="an argument and the values to try, as a JSON list (repeat for more), e.g. "
                            "lookback=[24,48,96]")
    tuner.add_argument("--trials", type=positive_int, default=8, help="configurations tried, the given one "
                                                                      "first (default 8)")

    evaluate = commands.add_parser("evaluate", help="metrics on the test part against the naive baselines",
                                   description="Scores the windows whose targets lie after the test cut-off.")
    add_data_options(evaluate)
    evaluate.add_argument("--test", type=cutoff,
                          help="test cut-off, a fraction or a timestamp (default: the one given to train)")
    add_scoring_options(evaluate)
    add_table_output(evaluate, "--output", "the table", printed=True)

    backtest = commands.add_parser("backtest", help="rolling-origin evaluation, refitting copies of the model",
                                   description="Fits copies of the saved model's configuration on each fold; "
                                               "the saved model is not changed.")
    add_data_options(backtest)
    backtest.add_argument("--folds", type=positive_int, default=3, help="default 3")
    backtest.add_argument("--test", type=fraction, default=0.2,
                          help="fraction of the span cut into folds (default 0.2)")
    backtest.add_argument("--refit", action=argparse.BooleanOptionalAction, default=True,
                          help="fit a copy for every fold (default), or only for the first")
    backtest.add_argument("--gap", type=non_negative_int, default=0,
                          help="timestamps left out between each fold's training rows and its test part (default 0)")
    backtest.add_argument("--window", type=positive_int,
                          help="train each fold on this many timestamps before it (default: every one)")
    backtest.add_argument("--update", action="store_true",
                          help="fit the first fold, then update its model on the rows since for each later fold")
    add_scoring_options(backtest)
    add_table_output(backtest, "--output", "the metrics of every fold")
    add_table_output(backtest, "--forecasts", "every fold's forecasts", metavar="FILE")
    add_fit_options(backtest, verbose=0)

    forecast = commands.add_parser("forecast", help="forecast the horizon after the end of each series",
                                   description="Forecasts in raw units after the last timestamp of each series.")
    add_data_options(forecast)
    forecast.add_argument("--future", metavar="FILE", help="CSV or Parquet of the future covariates for the horizon")
    add_table_output(forecast, "--output", "the forecast", printed=True)

    plot = commands.add_parser("plot", help="plot the forecast, or forecasts from rolling origins, against the data",
                               description="Draws the forecast after the end of the data or, with --start, the "
                                           "forecasts of rolling origins against the actual values.")
    add_data_options(plot)
    plot.add_argument("--output", required=True, help="image file: .png, .pdf, .svg, ...")
    plot.add_argument("--start", type=cutoff,
                      help="forecasts of the windows after this cut-off (a fraction or a timestamp)")
    plot.add_argument("--end", type=cutoff, help="with --start: the last forecast time drawn (a fraction of the span "
                                                 "before the end, or a timestamp; default: the data's end)")
    plot.add_argument("--origins", type=positive_int, default=12,
                      help="with --start: how many rolling origins to draw, from --start (default 12)")
    plot.add_argument("--series", help="the series to draw (default: the first)")
    plot.add_argument("--target", help="the target column to draw (default: the first)")
    plot.add_argument("--history", type=positive_int, help="steps of history before the forecast (default 3 lookbacks)")
    plot.add_argument("--future", metavar="FILE", help="CSV or Parquet of the future covariates for the horizon")

    calibrate = commands.add_parser("calibrate", help="calibrate a saved model's forecast quantiles on recent rows",
                                    description="Conformal calibration of the saved model's quantiles (a point "
                                                "model gets quantiles) on the windows of the table after --start, "
                                                "saved back to --model: forecast, evaluate and export use it.")
    add_data_options(calibrate)
    calibrate.add_argument("--start", type=cutoff,
                           help="calibrate on the windows with targets from this cut-off (a fraction or a timestamp; "
                                "default: every window): rows the model was not fitted on")
    calibrate.add_argument("--levels", nargs="+", type=float, metavar="Q",
                           help="a point model's quantile levels (default 0.05 0.1 0.5 0.9 0.95)")

    adapt = commands.add_parser("adapt", help="move a saved model's adaptive calibration through new actuals",
                                description="Moves the saved model's adaptive calibration (train --calibration "
                                            "adaptive) through the actuals of the windows after --start, from "
                                            "where it stands, and saves it back: forecast and export serve the "
                                            "band where it ends.")
    add_data_options(adapt)
    adapt.add_argument("--start", type=cutoff,
                       help="the windows with targets from this cut-off (a fraction or a timestamp; default: every "
                            "window): actuals the calibration has not seen")

    updater = commands.add_parser("update", help="train a saved model on from its weights on new rows",
                                  description="Trains the saved model on the windows of the table with targets after "
                                              "the data it was fitted on, its scaler kept, and saves it back to "
                                              "--model (written atomically); `tsgate export` then writes the next "
                                              "version.")
    add_data_options(updater)
    updater.add_argument("--epochs", type=positive_int, default=5, help="default 5")
    updater.add_argument("--learning-rate", type=positive_float, help="default a tenth of the model's")
    updater.add_argument("--replay", type=share, default=0.0,
                         help="share of the windows trained on drawn from older rows of the table (default 0)")
    updater.add_argument("--validation", type=fraction, default=0.2,
                         help="the last share of the new rows' span that validates (default 0.2)")
    updater.add_argument("--patience", type=non_negative_int, default=2, help="default 2")
    updater.add_argument("--batch-size", type=positive_int, help="default the one trained with")
    updater.add_argument("--verbose", type=int, choices=(0, 1, 2), default=0, help="Keras' progress (default 0)")

    exporter = commands.add_parser("export", help="write a raw-unit SavedModel for TF Serving",
                                   description="Writes <output>/<version>/, a SavedModel that serves raw units.")
    exporter.add_argument("--model", required=True, help="directory of a saved Forecaster")
    exporter.add_argument("--output", required=True, help="the model base path; the version is a subdirectory")
    exporter.add_argument("--version", type=positive_int,
                          help="a positive integer, as TF Serving loads only those (default: the current Unix time)")
    exporter.add_argument("--xla", action="store_true", help="add the XLA-compiled `serving_xla` signature")
    exporter.add_argument("--unroll", action="store_true",
                          help="trace `serving_default` with the recurrent layers unrolled: lower latency, longer export")
    return parser
