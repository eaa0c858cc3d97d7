"""The files the commands read and write: the data tables (CSV or Parquet),
`--config`, the saved forecaster and what `train` stores beside it."""

import json
import os
import sys
import warnings

from tsgate.cli.errors import CommandError

STATE_FILE = "cli.json"  # beside model.keras and forecaster.json
TABLE_SUFFIXES = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}


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


def read_for(saved, path, time_column=None):
    """The table at `path` laid out as a forecaster whose time column is
    `saved` reads it: that column (`time_column`, the file's name for it, if
    the file differs), or, for a forecaster saved without one, a
    DatetimeIndex from `time_column` (default "time")."""
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


def in_user_names(frame, forecaster):
    """A forecast frame with its "time" level named as the user's time column."""
    column = forecaster.time_column
    return frame if column is None else frame.rename_axis(index={"time": column})


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


def model_and_table(args):
    """(the saved forecaster at `--model`, what `train` stored beside it,
    the table `args.data` laid out for it). The table is read, and the
    columns the model reads are checked in it, before TensorFlow loads
    (seconds), so that a wrong file or column is said at once."""
    config = saved_config(args.model)
    df = read_for(config.get("time_column"), args.data, args.time_column)
    columns = []
    for name in ("target", "past_covariates", "future_covariates", "static_covariates"):
        names = config.get(name) or []
        names = names.get("__tuple__", []) if isinstance(names, dict) else names  # a tuple, as argument_json writes it
        columns += [names] if isinstance(names, str) else [c for c in names if isinstance(c, str)]
    columns += [config["series_column"]] if config.get("series_column") else []
    missing = [c for c in dict.fromkeys(columns) if c not in df.columns]
    if missing:
        raise CommandError(f"column(s) {missing} that {args.model} reads are missing from {args.data}; its columns "
                           f"are {[str(c) for c in df.columns][:20]}.")
    forecaster, state = load_model(args.model)
    return forecaster, state, df


def saved_config(path):
    """The Forecaster arguments in `path`/forecaster.json as JSON wrote them,
    read without TensorFlow ({} if unreadable: the full load names why)."""
    try:
        with open(os.path.join(path, "forecaster.json"), encoding="utf-8") as f:
            config = json.load(f).get("config")
    except (OSError, ValueError, AttributeError):
        return {}
    return config if isinstance(config, dict) else {}


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
