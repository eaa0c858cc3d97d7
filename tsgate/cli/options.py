"""The command line's options: argparse types that refuse a bad value while
parsing, what a cut-off option means for the data, and the option groups
that several commands share. The choices are tsgate.choices' names."""

import argparse
import json
import math
import os

from tsgate.choices import (BUILDERS, CALIBRATIONS, CELLS, DTYPE_POLICIES, DUPLICATES, FILLS, GROUPS, POINT_LOSSES, SCALERS,
                            SCHEDULES, TRANSFORMS, UNITS)
from tsgate.cli.errors import CommandError
from tsgate.cli.files import TABLE_SUFFIXES


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


def positive_int_or_auto(text):
    """argparse type: a positive integer or "auto"."""
    return text if text == "auto" else _number(int, text, lambda v: v > 0, "a positive integer or 'auto'")


def non_negative_int(text):
    """argparse type: an integer >= 0."""
    return _number(int, text, lambda v: v >= 0, "an integer >= 0")


def positive_float(text):
    """argparse type: a finite number > 0."""
    return _number(float, text, lambda v: math.isfinite(v) and v > 0, "a positive number")


def fraction(text):
    """argparse type: a fraction in (0, 1)."""
    return _number(float, text, lambda v: 0 < v < 1, "a fraction in (0, 1)")


def share(text):
    """argparse type: a share in [0, 1)."""
    return _number(float, text, lambda v: 0 <= v < 1, "a share in [0, 1)")


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


def add_table_output(command, option, what, printed=False, metavar=None):
    """`option` of `command`: the table path (`table_path`) that `what` is
    written to; `printed`: printed when the option is left out."""
    default = "; default: print it" if printed else ""
    command.add_argument(option, type=table_path, metavar=metavar,
                         help=f"write {what} here (.csv, .parquet or .pq{default})")


def key_value(text):
    """argparse type: KEY=VALUE, the value read as JSON (else kept as text)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with a Python name as KEY, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


# ----------------------------------------------------------------- cut-offs
def cutoff_time(times, value, option):
    """The timestamp where the held-out part of `times` (a DatetimeIndex)
    starts: `value` a fraction of the span at the end, or a timestamp (read
    in the data's zone when it has none)."""
    import pandas as pd

    from tsgate.data import fraction_cutoff

    if isinstance(value, float):
        distinct = times.unique().sort_values()
        return fraction_cutoff(distinct[0], distinct[-1], value, distinct)
    stamp = pd.Timestamp(value)
    if (stamp.tz is None) != (times.tz is None):
        if times.tz is None:
            raise CommandError(f"{option} {value}: the data's timestamps have no time zone; give one without.")
        stamp = stamp.tz_localize(times.tz)
    return stamp


# ------------------------------------------------------------ option groups
def add_data_options(command, model_help="directory of a saved Forecaster (from `tsgate train`)"):
    command.add_argument("data", help="CSV or Parquet file (.parquet or .pq), one row per time step [and series]")
    command.add_argument("--model", required=True, help=model_help)
    command.add_argument("--time-column", help="the file's time column (default: the model's, else 'time')")


def add_scoring_options(command):
    command.add_argument("--by", nargs="+", choices=GROUPS,
                         help="metrics per series, target and/or forecast step (default: pooled)")
    command.add_argument("--season", type=positive_int,
                         help="the seasonal-naive baseline's lag in steps (default: from the frequency)")
    command.add_argument("--units", choices=UNITS, default="raw",
                         help="metrics in raw units (default), or scaled: in the units the model was fitted in "
                              "(z-scores with the standard scaler)")


def add_fit_options(command, verbose=2):
    fit = command.add_argument_group("fit options")
    fit.add_argument("--validation", type=cutoff,
                     help="validation part at the end: a fraction or a timestamp (default 0.2)")
    fit.add_argument("--epochs", type=positive_int, help="default: the preset's (backtest: the model's), else 20")
    fit.add_argument("--batch-size", type=positive_int, help="default 64")
    fit.add_argument("--patience", type=non_negative_int, help="EarlyStopping's patience (default 5)")
    fit.add_argument("--steps-per-epoch", type=positive_int_or_auto,
                     help="batches per epoch (the training windows repeated; default: one pass over them; "
                     "auto: one pass held within 32 to 128 batches)")
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
    model.add_argument("--calibration", choices=CALIBRATIONS,
                       help="calibrate the quantiles (a point model gets them) on the validation windows")
    model.add_argument("--target-transform", choices=TRANSFORMS,
                       help="log1p, boxcox: applied before scaling, inverted after; log_return, pct_change, diff: "
                            "returns from each forecast origin, turned back into prices")
    model.add_argument("--non-negative", action=argparse.BooleanOptionalAction,
                       help="clip the forecast and its quantiles at 0")
    model.add_argument("--series-column", help="column of series ids, for many series in one file")
    model.add_argument("--freq", help="pandas frequency, e.g. h, D, B, or an exchange's trading days, e.g. XNYS "
                       "(default: inferred); "
                       "--preset takes its season from it")
    model.add_argument("--fill", choices=FILLS,
                       help="fill missing values as inputs; missing targets stay out of the loss "
                            "(default: NaN is an error)")
    model.add_argument("--na-values", nargs="+", type=float, metavar="VALUE",
                       help="values that mean missing, e.g. -9999")
    model.add_argument("--sort", action=argparse.BooleanOptionalAction,
                       help="sort the rows by time (e.g. a newest-first download; default: unsorted is an error)")
    model.add_argument("--duplicates", choices=DUPLICATES,
                       help="rows of one series at one timestamp: error (default), or keep the first, the last "
                            "or their mean")
    model.add_argument("--scaler", choices=SCALERS, help="default standard")
    model.add_argument("--scale-per-series", action=argparse.BooleanOptionalAction, help="a scaler per series")
    model.add_argument("--builder", choices=BUILDERS, help="the model: recurrent (default) or segment (SegRNN-style)")
    model.add_argument("--builder-option", type=key_value, action="append", metavar="KEY=VALUE",
                       help="a builder option, the value as JSON (repeat the option for more), e.g. dropout=0.1")
    model.add_argument("--cell", choices=CELLS, help="default gru")
    model.add_argument("--units", type=positive_int, help="default 32")
    model.add_argument("--layers", type=positive_int, help="recurrent layers (default 1)")
    model.add_argument("--loss", choices=POINT_LOSSES, help="default mse (a quantile head trains on the pinball loss)")
    model.add_argument("--learning-rate", type=positive_float, help="Adam's (default 3e-3)")
    model.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (default constant)")
    model.add_argument("--seed", type=non_negative_int, help="makes fitting repeatable (default 0)")
    model.add_argument("--members", type=positive_int, dest="n_members",
                       help="an ensemble of this many models, averaged in one (default 1)")
    model.add_argument("--dtype-policy", choices=DTYPE_POLICIES,
                       help="mixed_bfloat16: the model computes in bfloat16 (faster on CPUs with AMX; default float32)")
