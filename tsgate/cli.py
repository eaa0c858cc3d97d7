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

Importing this module loads neither pandas nor TensorFlow: `tsgate --help`
answers at once, each command imports what it uses.
"""

import argparse
import inspect
import json
import math
import os
import sys
import traceback
import warnings

from tsgate import presets

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
USAGE_STATUS = 2
STATE_FILE = "cli.json"  # beside model.keras and forecaster.json
FIT_OPTIONS = ("validation", "epochs", "batch_size", "patience", "steps_per_epoch")
TABLE_SUFFIXES = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}
# The library's choices (tsgate.models, tsgate.scaling, tsgate.data), here so
# that `--help` needs no framework; tests/test_cli.py checks they agree.
CELLS = ("gru", "lstm", "memory_gru", "sru")
BUILDERS = ("recurrent", "segment")
LOSSES = ("mse", "mae", "huber")
SCHEDULES = ("constant", "cosine")
SCALERS = ("standard", "minmax", "robust")
FILLS = ("ffill", "interpolate", "zero")
GROUPS = ("series", "target", "horizon")
TRANSFORMS = ("log1p", "boxcox")
DTYPE_POLICIES = ("float32", "mixed_bfloat16")


class CommandError(Exception):
    """A user mistake found by the command itself (files, options, `--config`)."""


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


# ------------------------------------------------------------ argparse types
def _number(kind, text, accept, expected):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text):
    """argparse type: a positive integer."""
    return _number(int, text, lambda v: v > 0, "a positive integer")


def non_negative_int(text):
    """argparse type: an integer >= 0."""
    return _number(int, text, lambda v: v >= 0, "an integer >= 0")


def positive_float(text):
    """argparse type: a finite number > 0."""
    return _number(float, text, lambda v: math.isfinite(v) and v > 0, "a positive number")


def fraction(text):
    """argparse type: a fraction in (0, 1)."""
    return _number(float, text, lambda v: 0 < v < 1, "a fraction in (0, 1)")


def cutoff(text):
    """argparse type: a fraction in (0, 1) of the time span at the end, or a
    timestamp (pandas.Timestamp) where the held-out part starts."""
    expected = f"expected a fraction in (0, 1) or a timestamp, got {text!r}"
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is not None:  # a number is a fraction, never a year
        if not 0 < value < 1:
            raise argparse.ArgumentTypeError(expected)
        return value
    import pandas as pd

    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        raise argparse.ArgumentTypeError(expected)
    return stamp


def table_path(text):
    """argparse type: an output table path ending in .csv, .parquet or .pq,
    refused before any data is read or model fitted."""
    if os.path.splitext(text)[1].lower() not in TABLE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"expected a path ending in {', '.join(TABLE_SUFFIXES)} "
                                         f"(CSV or Parquet), got {text!r}")
    return text


def key_value(text):
    """argparse type: KEY=VALUE, the value read as JSON (else kept as text)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with a Python name as KEY, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


# ---------------------------------------------------------------------- files
def read_table(path, time_column):
    """The CSV or Parquet file at `path` (by its suffix; CSV otherwise) with
    its `time_column` parsed as timestamps."""
    import pandas as pd

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
    return frame


def read_for(forecaster, path, time_column=None):
    """The table at `path` laid out as `forecaster` reads it: its saved time
    column (`time_column`, the file's name for it, if the file differs), or,
    for a forecaster saved without one, a DatetimeIndex from `time_column`
    (default "time")."""
    saved = forecaster.time_column
    column = time_column or saved or "time"
    frame = read_table(path, column)
    if saved is None:
        return frame.set_index(column)
    if column != saved:
        if saved in frame.columns:
            raise CommandError(f"{path} has both {column!r} (--time-column) and {saved!r}, the model's time column.")
        frame = frame.rename(columns={column: saved})
    return frame


def write_table(frame, path):
    """Writes `frame` (with its index) as Parquet or CSV, chosen by the suffix
    of `path` (checked by `table_path` when the command line was parsed)."""
    try:
        if TABLE_SUFFIXES[os.path.splitext(path)[1].lower()] == "Parquet":
            frame.to_parquet(path)
        else:
            frame.to_csv(path)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error}") from error


def show(frame, output):
    """Writes `frame` to `output`, or prints it when no output is given."""
    if output:
        write_table(frame, output)
    else:
        frame.to_string(sys.stdout)
        print()


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


def load_model(path):
    """The saved Forecaster at `path` and what `train` stored beside it in
    `cli.json`: {"test": cut-off or None}, {} for a forecaster saved by the API."""
    from tsgate.forecaster import Forecaster

    forecaster = Forecaster.load(path)
    state_path = os.path.join(path, STATE_FILE)
    if not os.path.exists(state_path):
        return forecaster, {}
    try:
        with open(state_path, encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError) as error:
        raise CommandError(f"{state_path}: cannot read it ({error}); train again or delete it.") from error
    if not isinstance(state, dict) or not isinstance(state.get("test"), (str, type(None))):
        raise CommandError(f"{state_path}: not written by `tsgate train`; train again or delete it.")
    return forecaster, state


def save_state(path, state):
    """Writes `cli.json` into the saved forecaster's directory (under a temporary name, then renamed)."""
    from tsgate.files import write_text_atomically

    write_text_atomically(os.path.join(path, STATE_FILE), json.dumps(state, indent=2))


# ----------------------------------------------------------------- cut-offs
def cutoff_time(times, value, option):
    """The timestamp where the held-out part of `times` (a DatetimeIndex)
    starts: `value` a fraction of the span at the end, or a timestamp (read
    in the data's zone when it has none)."""
    import pandas as pd

    if isinstance(value, float):
        return times.min() + (times.max() - times.min()) * (1 - value)
    stamp = pd.Timestamp(value)
    if (stamp.tz is None) != (times.tz is None):
        if times.tz is None:
            raise CommandError(f"{option} {value}: the data's timestamps have no time zone; give one without.")
        stamp = stamp.tz_localize(times.tz)
    return stamp


# ------------------------------------------------------------------ parser
def add_data_options(command, model_help="directory of a saved Forecaster (from `tsgate train`)"):
    command.add_argument("data", help="CSV or Parquet file (.parquet or .pq), one row per time step [and series]")
    command.add_argument("--model", required=True, help=model_help)
    command.add_argument("--time-column", help="the file's time column (default: the model's, else 'time')")


def add_scoring_options(command):
    command.add_argument("--by", nargs="+", choices=GROUPS,
                         help="metrics per series, target and/or forecast step (default: pooled)")
    command.add_argument("--season", type=positive_int,
                         help="the seasonal-naive baseline's lag in steps (default: from the frequency)")


def add_fit_options(command, verbose=2):
    fit = command.add_argument_group("fit options")
    fit.add_argument("--validation", type=cutoff,
                     help="validation part at the end: a fraction or a timestamp (default 0.2)")
    fit.add_argument("--epochs", type=positive_int, help="default: the preset's (backtest: the model's), else 20")
    fit.add_argument("--batch-size", type=positive_int, help="default 64")
    fit.add_argument("--patience", type=non_negative_int, help="EarlyStopping's patience (default 5)")
    fit.add_argument("--steps-per-epoch", type=positive_int,
                     help="batches per epoch (the training windows repeated; default: one pass over them)")
    fit.add_argument("--verbose", type=int, default=verbose, choices=[0, 1, 2],
                     help=f"Keras progress: 0 silent, 1 bar, 2 one line per epoch (default {verbose})")


def add_forecaster_options(train):
    model = train.add_argument_group("Forecaster arguments (override --preset and --config)")
    model.add_argument("--target", nargs="+", metavar="COLUMN", help="column(s) to forecast")
    model.add_argument("--lookback", type=positive_int, help="input steps")
    model.add_argument("--horizon", type=positive_int, help="forecast steps")
    model.add_argument("--stride", type=positive_int, help="keep every n-th training window (default 1)")
    model.add_argument("--past-covariates", nargs="*", metavar="COLUMN", help="columns known up to the forecast origin")
    model.add_argument("--future-covariates", nargs="*", metavar="COLUMN",
                       help="columns known for the horizon too (`forecast --future` gives them)")
    model.add_argument("--static-covariates", nargs="*", metavar="COLUMN", help="columns constant within each series")
    model.add_argument("--calendar", nargs="*", metavar="FIELD",
                       help="calendar features from the timestamps: hour, dayofweek, day, month, quarter, "
                            "weekofyear, holiday, ...")
    model.add_argument("--holidays", nargs="+", metavar="DATE",
                       help="dates of the 'holiday' calendar field, or the name of a pandas holiday calendar "
                            "(e.g. USFederalHolidayCalendar)")
    model.add_argument("--categorical", nargs="*", metavar="COLUMN",
                       help="covariate columns of categories, one-hot encoded")
    model.add_argument("--quantiles", nargs="*", type=float, metavar="Q", help="e.g. 0.1 0.5 0.9 (must hold 0.5)")
    model.add_argument("--target-transform", choices=TRANSFORMS, help="applied before scaling, inverted after")
    model.add_argument("--non-negative", action=argparse.BooleanOptionalAction,
                       help="clip the forecast and its quantiles at 0")
    model.add_argument("--series-column", help="column of series ids, for many series in one file")
    model.add_argument("--freq", help="pandas frequency, e.g. h, D, B (default: inferred); "
                       "--preset takes its season from it")
    model.add_argument("--fill", choices=FILLS,
                       help="fill missing values as inputs; missing targets stay out of the loss "
                            "(default: NaN is an error)")
    model.add_argument("--na-values", nargs="+", type=float, metavar="VALUE",
                       help="values that mean missing, e.g. -9999")
    model.add_argument("--scaler", choices=SCALERS, help="default standard")
    model.add_argument("--scale-per-series", action=argparse.BooleanOptionalAction, help="a scaler per series")
    model.add_argument("--builder", choices=BUILDERS, help="the model: recurrent (default) or segment (SegRNN-style)")
    model.add_argument("--builder-option", type=key_value, action="append", metavar="KEY=VALUE",
                       help="a builder option, the value as JSON (repeat the option for more), e.g. dropout=0.1")
    model.add_argument("--cell", choices=CELLS, help="default gru")
    model.add_argument("--units", type=positive_int, help="default 32")
    model.add_argument("--layers", type=positive_int, help="recurrent layers (default 1)")
    model.add_argument("--loss", choices=LOSSES, help="default mse (a quantile head trains on the pinball loss)")
    model.add_argument("--learning-rate", type=positive_float, help="Adam's (default 3e-3)")
    model.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (default constant)")
    model.add_argument("--seed", type=non_negative_int, help="makes fitting repeatable (default 0)")
    model.add_argument("--dtype-policy", choices=DTYPE_POLICIES,
                       help="mixed_bfloat16: the model computes in bfloat16 (faster on CPUs with AMX; default float32)")


class Parser(argparse.ArgumentParser):
    """argparse's parser, its error message on one line whatever the user typed."""

    def error(self, message):
        super().error(one_line(message))


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

    evaluate = commands.add_parser("evaluate", help="metrics on the test part against the naive baselines",
                                   description="Scores the windows whose targets lie after the test cut-off.")
    add_data_options(evaluate)
    evaluate.add_argument("--test", type=cutoff,
                          help="test cut-off, a fraction or a timestamp (default: the one given to train)")
    add_scoring_options(evaluate)
    evaluate.add_argument("--output", type=table_path,
                          help="write the table here (.csv, .parquet or .pq; default: print it)")

    backtest = commands.add_parser("backtest", help="rolling-origin evaluation, refitting copies of the model",
                                   description="Fits copies of the saved model's configuration on each fold; "
                                               "the saved model is not changed.")
    add_data_options(backtest)
    backtest.add_argument("--folds", type=positive_int, default=3, help="default 3")
    backtest.add_argument("--test", type=fraction, default=0.2,
                          help="fraction of the span cut into folds (default 0.2)")
    backtest.add_argument("--refit", action=argparse.BooleanOptionalAction, default=True,
                          help="fit a copy for every fold (default), or only for the first")
    add_scoring_options(backtest)
    backtest.add_argument("--output", type=table_path,
                          help="write the metrics of every fold here (.csv, .parquet or .pq)")
    backtest.add_argument("--forecasts", type=table_path, metavar="FILE",
                          help="write every fold's forecasts here (.csv, .parquet or .pq)")
    add_fit_options(backtest, verbose=0)

    forecast = commands.add_parser("forecast", help="forecast the horizon after the end of each series",
                                   description="Forecasts in raw units after the last timestamp of each series.")
    add_data_options(forecast)
    forecast.add_argument("--future", metavar="FILE", help="CSV or Parquet of the future covariates for the horizon")
    forecast.add_argument("--output", type=table_path,
                          help="write the forecast here (.csv, .parquet or .pq; default: print it)")

    plot = commands.add_parser("plot", help="plot the forecast, or forecasts from rolling origins, against the data",
                               description="Draws the forecast after the end of the data or, with --start, the "
                                           "forecasts of rolling origins against the actual values.")
    add_data_options(plot)
    plot.add_argument("--output", required=True, help="image file: .png, .pdf, .svg, ...")
    plot.add_argument("--start", type=cutoff,
                      help="forecasts of the windows after this cut-off (a fraction or a timestamp)")
    plot.add_argument("--series", help="the series to draw (default: the first)")
    plot.add_argument("--target", help="the target column to draw (default: the first)")
    plot.add_argument("--history", type=positive_int, help="steps of history before the forecast (default 3 lookbacks)")
    plot.add_argument("--future", metavar="FILE", help="CSV or Parquet of the future covariates for the horizon")

    exporter = commands.add_parser("export", help="write a raw-unit SavedModel for TF Serving",
                                   description="Writes <output>/<version>/, a SavedModel that serves raw units.")
    exporter.add_argument("--model", required=True, help="directory of a saved Forecaster")
    exporter.add_argument("--output", required=True, help="the model base path; the version is a subdirectory")
    exporter.add_argument("--version", type=positive_int,
                          help="a positive integer, as TF Serving loads only those (default: the current Unix time)")
    exporter.add_argument("--xla", action="store_true", help="add the XLA-compiled `serving_xla` signature")
    return parser


# ---------------------------------------------------------------- commands
def main(argv=None):
    """Runs the command; a user mistake exits with status 2 and one line on stderr."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("tsgate: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        if not is_user_mistake(error):
            raise
        print(f"tsgate: {one_line(error)}", file=sys.stderr)
        raise SystemExit(USAGE_STATUS) from None


def show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning on one line of stderr, `tsgate: warning: ...`, without the code that raised it."""
    text = one_line(message)
    print(f"tsgate: warning: {text.removeprefix('tsgate: ')}", file=sys.stderr)


def demo(args):
    from tsgate import demo as demo_job

    demo_job.print_report(demo_job.run(args.output, epochs=args.epochs, verbose=args.verbose))


def forecaster_arguments(args, names, data_freq=None):
    """The Forecaster arguments: the preset's (for `--freq`, else the
    frequency `data_freq` of the data), then `--config`'s, then the options'."""
    config = presets.config(args.preset, args.freq or data_freq)["forecaster"] if args.preset else {}
    if args.config:
        config.update(read_config(args.config, names))
    options = {name: getattr(args, name) for name in (
        "target", "lookback", "horizon", "stride", "past_covariates", "future_covariates", "static_covariates",
        "calendar", "quantiles", "series_column", "freq", "fill", "na_values", "scaler", "scale_per_series",
        "builder", "cell", "units", "layers", "loss", "learning_rate", "schedule", "seed", "target_transform",
        "non_negative", "categorical", "dtype_policy")}
    config.update({name: value for name, value in options.items() if value is not None})
    if args.holidays:
        config["holidays"] = holiday_argument(args.holidays)
    if args.builder_option:
        config["builder_options"] = {**(config.get("builder_options") or {}), **dict(args.builder_option)}
    config["time_column"] = args.time_column or config.get("time_column") or "time"
    missing = [name for name in ("target", "lookback", "horizon") if name not in config]
    if missing:
        raise CommandError(f"train needs {missing}: give them as options (--{missing[0]} ...) or in --config.")
    return config


def holiday_argument(values):
    """`--holidays`: a list of dates, or an instance of the pandas holiday calendar named."""
    if len(values) > 1 or not values[0].isidentifier():
        return values
    from pandas.tseries import holiday

    calendar = getattr(holiday, values[0], None)
    if not (isinstance(calendar, type) and issubclass(calendar, holiday.AbstractHolidayCalendar)):
        raise CommandError(f"--holidays {values[0]}: not a holiday calendar of pandas.tseries.holiday "
                           "(e.g. USFederalHolidayCalendar); or give dates.")
    return calendar()


def fit_arguments(args, defaults=None):
    """`defaults` updated with the fit options given on the command line."""
    given = {name: getattr(args, name) for name in FIT_OPTIONS}
    return {**(defaults or {}), **{name: value for name, value in given.items() if value is not None}}


def train(args):
    from tsgate import distributed
    from tsgate.data import frame_times, infer_freq
    from tsgate.forecaster import Forecaster

    names = inspect.signature(Forecaster).parameters
    config = forecaster_arguments(args, names)
    fit = fit_arguments(args, presets.fit_options(args.preset) if args.preset else None)
    df = read_table(args.data, config["time_column"])
    if args.preset and not args.freq:  # the preset's lookback is 30 seasons of the data's frequency
        config = forecaster_arguments(args, names, infer_freq(frame_times(df, config["time_column"])))
    test = None
    if args.test is not None:
        times = frame_times(df, config["time_column"])
        test = cutoff_time(times, args.test, "--test")
        df = df[times < test]
        if df.empty:
            raise CommandError(f"--test {args.test} leaves no rows before {test} to train on.")
    strategy = distributed.strategy_from_tf_config() if args.distributed else None
    forecaster = Forecaster(**config).fit(df, verbose=args.verbose, checkpoint_dir=args.checkpoint_dir,
                                          strategy=strategy, **fit)
    if not distributed.is_chief(strategy):
        print(f"worker {distributed.worker(strategy)[0]}: trained; the chief saves the model")
        return
    forecaster.save(args.model)
    save_state(args.model, {"test": None if test is None else str(test)})
    held_out = "" if test is None else f"; test part from {test}"
    print(f"saved to {args.model}: {forecaster.windows_}{held_out}")


def evaluate(args):
    from tsgate.data import frame_times

    forecaster, state = load_model(args.model)
    df = read_for(forecaster, args.data, args.time_column)
    trained_until, times = state.get("test"), frame_times(df, forecaster.time_column)
    if args.test is None and trained_until is None:
        raise CommandError(f"{args.model} was trained without --test: give `evaluate --test` a cut-off after the "
                           "rows it was fitted and validated on (a fraction or a timestamp).")
    test = cutoff_time(times, trained_until if args.test is None else args.test, "--test")
    if trained_until is not None and test < cutoff_time(times, trained_until, "--test"):
        raise CommandError(f"--test {args.test} is before {trained_until}, where the model's training data ended: "
                           "the windows before it were fitted or validated on.")
    show(forecaster.evaluate(df, test=test, by=args.by, season=args.season), args.output)


def backtest(args):
    forecaster, _ = load_model(args.model)
    df = read_for(forecaster, args.data, args.time_column)
    result = forecaster.backtest(df, folds=args.folds, test=args.test, refit=args.refit, by=args.by,
                                 season=args.season, verbose=args.verbose, **fit_arguments(args))
    show(result.folds, None)
    show(result.metrics, args.output)
    if args.forecasts:
        write_table(result.forecasts, args.forecasts)


def forecast(args):
    forecaster, _ = load_model(args.model)
    df = read_for(forecaster, args.data, args.time_column)
    future = None if args.future is None else read_for(forecaster, args.future, args.time_column)
    show(forecaster.predict(df, future=future), args.output)


def plot(args):
    from matplotlib.figure import Figure

    from tsgate import plotting
    from tsgate.data import frame_times

    formats = Figure().canvas.get_supported_filetypes()
    suffix = os.path.splitext(args.output)[1].lower().lstrip(".")
    if suffix not in formats:
        raise CommandError(f"--output {args.output}: unknown image suffix {suffix or '(none)'!r}; "
                           f"write one of {sorted(formats)}.")
    forecaster, _ = load_model(args.model)
    df = read_for(forecaster, args.data, args.time_column)
    series = None
    if args.series is not None:
        ids = {str(sid): sid for sid in forecaster.series_}
        if args.series not in ids:
            raise CommandError(f"--series {args.series!r} is not a series of the model; it has {sorted(ids)[:20]}.")
        series = ids[args.series]
    future = None if args.future is None else read_for(forecaster, args.future, args.time_column)
    try:
        if args.start is None:
            forecaster.plot(df, args.output, history=args.history, series=series, target=args.target, future=future)
        else:
            start = cutoff_time(frame_times(df, forecaster.time_column), args.start, "--start")
            plotting.plot_historical_forecasts(forecaster, df, start, path=args.output, series=series,
                                               target=args.target)
    except OSError as error:
        raise CommandError(f"cannot write {args.output}: {error}") from error
    print(args.output)


def export(args):
    from tsgate.forecaster import Forecaster

    print(Forecaster.load(args.model).export(args.output, version=args.version, xla=args.xla))


COMMANDS = {"demo": demo, "train": train, "evaluate": evaluate, "backtest": backtest, "forecast": forecast,
            "plot": plot, "export": export}


if __name__ == "__main__":
    main()
