"""The `tsgate` command: demo, train, evaluate, forecast on CSV or Parquet files.

A user mistake (a missing, empty or unreadable file, a time column that is
not there, an option value tsgate refuses, a bad `--config`, a corrupted saved
forecaster, an export to an existing version, ...) ends in one line on stderr,
`tsgate: <what is wrong>`, and exit status 2, as argparse's own errors do.
Anything else is a bug and shows its traceback.
"""

import argparse
import copy
import inspect
import json
import os
import sys
import traceback
import warnings

import pandas as pd

from tsgate import presets

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
USAGE_STATUS = 2


class CommandError(Exception):
    """A user mistake found by the command itself (files, `--config`)."""


def is_user_mistake(error):
    """Whether `error` reports a user mistake rather than a bug: the
    command's own `CommandError`, an OSError about a file, or a ValueError,
    TypeError, LookupError or OSError (NotFittedError included) raised by a
    `raise` statement in tsgate's own code, i.e. by its input validation. The
    same classes raised inside NumPy, pandas, Keras or TensorFlow are bugs
    (tsgate should have caught the input first) and keep their traceback."""
    if isinstance(error, CommandError) or (isinstance(error, OSError) and error.filename is not None):
        return True
    if not isinstance(error, (ValueError, TypeError, LookupError, OSError)) or error.__traceback__ is None:
        return False
    raised_at = traceback.extract_tb(error.__traceback__)[-1]
    in_tsgate = os.path.abspath(raised_at.filename).startswith(PACKAGE_DIR + os.sep)
    return in_tsgate and (raised_at.line or "").lstrip().startswith("raise")


def one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def positive_int(text):
    """argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def read_table(path, time_column):
    """The CSV or Parquet file at `path`, indexed by its `time_column`."""
    parquet = str(path).endswith((".parquet", ".pq"))
    if not os.path.exists(path):
        raise CommandError(f"{path} does not exist.")
    if os.path.isdir(path):
        raise CommandError(f"{path} is a directory; give a CSV or Parquet file.")
    try:
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path)
    except Exception as error:  # whatever the reader finds wrong with the user's file
        kind = "Parquet" if parquet else "CSV"
        raise CommandError(f"cannot read {path} as {kind}: {type(error).__name__}: {error}") from error
    if time_column not in frame.columns:
        columns = [str(c) for c in frame.columns]
        shown = columns[:20] + (["..."] if len(columns) > 20 else [])
        raise CommandError(f"column {time_column!r} is not in {path}; its columns are {shown} "
                           "(choose the time column with --time-column).")
    if frame.empty:
        raise CommandError(f"{path} has no rows.")
    try:
        with warnings.catch_warnings():  # pandas' format-inference advice is noise here
            warnings.simplefilter("ignore", UserWarning)
            frame[time_column] = pd.to_datetime(frame[time_column])
    except (ValueError, TypeError, OverflowError) as error:
        raise CommandError(f"column {time_column!r} of {path} holds values that are not timestamps: {error}") from error
    missing = frame.index[frame[time_column].isna()].tolist()
    if missing:
        raise CommandError(f"column {time_column!r} of {path} has no timestamp in {len(missing)} row(s), "
                           f"data rows {missing[:5]}{' ...' if len(missing) > 5 else ''}.")
    return frame.set_index(time_column)


def read_config(path, names):
    """The JSON object of Forecaster arguments in `path`; `names` the valid ones."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except OSError as error:
        raise CommandError(f"cannot read --config {path}: {error.strerror or error}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CommandError(f"--config {path} is not valid JSON: {error}") from error
    if not isinstance(config, dict):
        raise CommandError(f"--config {path} should hold a JSON object of Forecaster arguments, "
                           f"got a {type(config).__name__}.")
    unknown = sorted(set(config) - set(names))
    if unknown:
        raise CommandError(f"--config {path} has arguments Forecaster does not take: {unknown}; "
                           f"it takes {sorted(names)}.")
    return config


def build_parser():
    parser = argparse.ArgumentParser(prog="tsgate", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="train, evaluate, plot and export on the bundled sensor data")
    demo.add_argument("--output", default="demo_output", help="directory for the plot, report and models")
    demo.add_argument("--epochs", type=positive_int, default=10)
    demo.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])

    train = commands.add_parser("train", help="fit a Forecaster on a table and save it")
    train.add_argument("data", help="CSV or Parquet file")
    train.add_argument("--model", required=True, help="directory to save the Forecaster in")
    train.add_argument("--preset", choices=sorted(presets.PRESETS),
                       help="a preset of tsgate.presets; the other options override it")
    train.add_argument("--config", help="JSON file of Forecaster arguments (command-line options override it)")
    train.add_argument("--target", nargs="+")
    train.add_argument("--lookback", type=positive_int)
    train.add_argument("--horizon", type=positive_int)
    train.add_argument("--builder", help="a model builder: recurrent (default) or segment")
    train.add_argument("--cell", choices=["gru", "lstm", "memory_gru", "sru"])
    train.add_argument("--units", type=positive_int)
    train.add_argument("--loss", choices=["mse", "mae", "huber"])
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--schedule", choices=["constant", "cosine"])
    train.add_argument("--past-covariates", nargs="*")
    train.add_argument("--calendar", nargs="*")
    train.add_argument("--quantiles", nargs="*", type=float)
    train.add_argument("--freq")
    train.add_argument("--series-column")
    train.add_argument("--epochs", type=positive_int, help="default: the preset's, else 20")
    train.add_argument("--validation", type=float, default=0.2)
    train.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])

    exporter = commands.add_parser("export", help="write a raw-unit SavedModel for TF Serving")
    exporter.add_argument("--model", required=True, help="directory of a saved Forecaster")
    exporter.add_argument("--output", required=True, help="the model base path; the version is a subdirectory")
    exporter.add_argument("--version", type=positive_int,
                          help="a positive integer, as TF Serving loads only those (default: the current Unix time)")
    exporter.add_argument("--xla", action="store_true", help="add the XLA-compiled `serving_xla` signature")

    for name, help_text in (("evaluate", "metrics against the naive baselines"), ("forecast", "forecast the next horizon")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("data", help="CSV or Parquet file")
        command.add_argument("--model", required=True, help="directory of a saved Forecaster")
        if name == "evaluate":
            command.add_argument("--test", type=float, default=0.2, help="fraction of the time span held out")
        command.add_argument("--output", help="write the result as CSV here (default: print it)")
    for command in commands.choices.values():
        if command.prog.split()[-1] not in ("demo", "export"):
            command.add_argument("--time-column", default="time")
    return parser


def main(argv=None):
    """Runs the command; a user mistake exits with status 2 and one line on stderr."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except KeyboardInterrupt:
        print("tsgate: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        if not is_user_mistake(error):
            raise
        print(f"tsgate: {one_line(error)}", file=sys.stderr)
        raise SystemExit(USAGE_STATUS) from None


def run(args):
    """The parsed command."""
    if args.command == "demo":
        from tsgate import demo as demo_job

        demo_job.print_report(demo_job.run(args.output, epochs=args.epochs, verbose=args.verbose))
        return

    from tsgate.forecaster import Forecaster

    if args.command == "export":
        print(Forecaster.load(args.model).export(args.output, version=args.version, xla=args.xla))
        return
    if args.command == "train":
        config = copy.deepcopy(presets.PRESETS[args.preset]["forecaster"]) if args.preset else {}
        fit_options = presets.fit_options(args.preset) if args.preset else {"epochs": 20}
        if args.config:
            config.update(read_config(args.config, inspect.signature(Forecaster).parameters))
        options = {
            "target": args.target, "lookback": args.lookback, "horizon": args.horizon, "builder": args.builder,
            "cell": args.cell, "units": args.units, "loss": args.loss, "learning_rate": args.learning_rate,
            "schedule": args.schedule, "past_covariates": args.past_covariates, "calendar": args.calendar,
            "quantiles": args.quantiles, "freq": args.freq, "series_column": args.series_column,
        }
        config.update({k: v for k, v in options.items() if v is not None})
        missing = [k for k in ("target", "lookback", "horizon") if k not in config]
        if missing:
            raise CommandError(f"train needs {missing}: give them as options (--{missing[0]} ...) or in --config.")
        df = read_table(args.data, args.time_column)
        forecaster = Forecaster(**config)
        if args.epochs is not None:
            fit_options["epochs"] = args.epochs
        forecaster.fit(df, validation=args.validation, verbose=args.verbose, **fit_options)
        forecaster.save(args.model)
        print(f"saved to {args.model}: {forecaster.windows_}")
        return

    forecaster = Forecaster.load(args.model)
    df = read_table(args.data, args.time_column)
    result = forecaster.evaluate(df, test=args.test) if args.command == "evaluate" else forecaster.predict(df)
    if args.output:
        try:
            result.to_csv(args.output)
        except OSError as error:
            raise CommandError(f"cannot write {args.output}: {error}") from error
    else:
        result.to_string(sys.stdout)
        print()


if __name__ == "__main__":
    main()
