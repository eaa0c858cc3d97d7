"""Generated bad command lines, data files, `--config` files and saved
forecasters through `tsgate.cli.main`, in process.

Every run must end in SystemExit: status 2 with exactly one line on stderr,
`tsgate: ...` (or argparse's usage and `error:` line), or status 0 for a
command that turned out valid. Any other exception is a traceback a user
would see: a bug.

Per run: 60 mutated command lines (train, forecast, evaluate, export, backtest, plot), 50 generated data files, 30 `--config`
files, 30 damaged saved forecasters: 170 bad inputs."""

import contextlib
import io
import json
import os
import re
import shutil
import tempfile

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import fuzz
from tests.helpers import BACKEND, hourly
from tsgate import Forecaster, cli

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the CLI trains with TensorFlow")

ARGPARSE_ERROR = re.compile(r"^tsgate( \w+)?: error: ")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A valid CSV, one too short to train on, a saved forecaster and an export base holding version 1."""
    root = tmp_path_factory.mktemp("fuzz_cli")
    paths = {name: str(root / name) for name in ("data.csv", "short.csv", "model", "serving", "new_model")}
    hourly(120).reset_index().to_csv(paths["data.csv"], index=False)
    hourly(20).reset_index().to_csv(paths["short.csv"], index=False)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, past_covariates=["x"])
    forecaster.fit(pd.read_csv(paths["data.csv"], index_col="time", parse_dates=True), epochs=1, verbose=0)
    forecaster.save(paths["model"])
    forecaster.export(paths["serving"], version=1)
    return paths


def run(argv):
    """(exit status, stderr lines) of `tsgate argv`, in process, in a scratch
    working directory (a generated relative path must not land in the repository)."""
    err, cwd = io.StringIO(), os.getcwd()
    with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stderr(err), \
            contextlib.redirect_stdout(io.StringIO()):
        os.makedirs(os.path.join(scratch, "a", "b", "c"))
        os.chdir(os.path.join(scratch, "a", "b", "c"))  # a generated "../.." stays in the scratch directory
        try:
            cli.main([str(a) for a in argv])
            status = 0
        except SystemExit as exit:
            status = exit.code
        finally:
            os.chdir(cwd)
    return status, err.getvalue().strip().split("\n")


def assert_clean_exit(argv):
    """A status-2 exit with one `tsgate:` line (or argparse's error), or a success."""
    status, lines = run(argv)
    if status == 0:
        return None
    assert status == 2, (argv, status, lines)
    if lines and ARGPARSE_ERROR.match(lines[-1]):
        return lines[-1]
    assert len(lines) == 1 and lines[0].startswith("tsgate: "), (argv, lines)
    return lines[0]


def templates(paths):
    """Valid-looking command lines that fail fast when they are valid (the
    training data is too short) or succeed fast (forecast, evaluate)."""
    train = ["train", paths["short.csv"], "--model", paths["new_model"], "--target", "y",
             "--lookback", "12", "--horizon", "3", "--units", "4", "--epochs", "1", "--verbose", "0",
             "--past-covariates", "x", "--validation", "0.2", "--time-column", "time"]
    forecast = ["forecast", paths["data.csv"], "--model", paths["model"], "--time-column", "time"]
    evaluate = ["evaluate", paths["data.csv"], "--model", paths["model"], "--test", "0.3", "--output", "m.parquet"]
    export = ["export", "--model", paths["model"], "--output", paths["serving"], "--version", "1"]
    backtest = ["backtest", paths["short.csv"], "--model", paths["model"], "--folds", "2", "--epochs", "1",
                "--output", "b.csv"]
    plot = ["plot", paths["data.csv"], "--model", paths["model"], "--output", "p.png", "--start", "0.5"]
    return [train, forecast, evaluate, export, backtest, plot]


# Relative paths only: a token may become an output path, and nothing is written outside the scratch directory.
BAD_VALUES = st.sampled_from(["0", "-1", "abc", "", "1.5", "nan", "inf", "-inf", "1e400", "99999999999999999999",
                              "z", "time", "no/such/file.csv", ".", "..", "--", "-", "y", "x", "h", "None"])
TEXT = st.text(max_size=6).filter(lambda text: "/" not in text and "\\" not in text and "~" not in text)
TOKENS = st.one_of(BAD_VALUES, TEXT, st.sampled_from([
    "--lookback", "--quantiles", "--freq", "--calendar", "--series-column", "--builder", "--learning-rate", "--config",
    "--cell", "--test", "--future", "--output", "--start", "--series", "--folds", "--na-values", "--builder-option",
    "--future-covariates", "--static-covariates", "--fill", "--scaler", "f.parquet", "f.txt", "p.xyz",
    "2024-01-03", "2024-01-03 05:00", "dropout=0.1", "\n"]))


@fuzz(60)
@given(which=st.integers(0, 5), position=st.floats(0, 1, exclude_max=True),
       action=st.sampled_from(["replace", "delete", "insert"]), token=TOKENS)
def test_mutated_command_lines(files, which, position, action, token):
    argv = templates(files)[which]
    i = 1 + int((len(argv) - 1) * position)  # keep the command
    if action == "replace":
        argv[i] = token
    elif action == "delete":
        del argv[i]
    else:
        argv.insert(i, token)
    assert_clean_exit(argv)


def frames():
    """Small generated tables: too short, NaN, duplicated or unsorted times, text, missing columns."""
    times = st.lists(st.sampled_from(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00", "yesterday", "",
                                      "2024-13-01", "1", "NaT"]), min_size=0, max_size=8)
    values = st.lists(st.one_of(st.floats(), st.sampled_from(["a", "", "1,5"])), min_size=0, max_size=8)
    return st.builds(lambda t, y, x, drop: {k: v for k, v in {"time": t, "y": y, "x": x}.items() if k != drop},
                     times, values, values, st.sampled_from([None, "time", "y", "x"]))


@fuzz(50)
@given(table=frames(), raw=st.one_of(st.none(), st.binary(max_size=64), st.text(max_size=64)),
       command=st.sampled_from(["forecast", "evaluate", "train"]), parquet=st.booleans())
def test_generated_data_files(files, table, raw, command, parquet):
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "data.parquet" if parquet else "data.csv")
        if raw is not None:
            with open(path, "wb") as f:
                f.write(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))
        else:
            n = max([len(v) for v in table.values()] + [0])
            frame = pd.DataFrame({k: pd.Series(v + [None] * (n - len(v)), dtype=object) for k, v in table.items()})
            if parquet:
                frame.astype(str).to_parquet(path)
            else:
                frame.to_csv(path, index=False)
        argv = [command, path, "--model", files["model"] if command != "train" else os.path.join(scratch, "m")]
        if command == "train":
            argv += ["--target", "y", "--lookback", "12", "--horizon", "3", "--epochs", "1", "--verbose", "0"]
        assert_clean_exit(argv)


@fuzz(30)
@given(config=st.one_of(st.text(max_size=30),
                        st.dictionaries(st.sampled_from(["lookback", "horizon", "target", "units", "cell", "quantiles",
                                                         "fill", "freq", "scaler", "seed", "stride", "foo"]),
                                        st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.floats(),
                                                  st.text(max_size=4), st.lists(st.floats(0, 1), max_size=3)),
                                        max_size=4).map(json.dumps)))
def test_generated_config_files(files, config):
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "config.json")
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(config)
        assert_clean_exit(["train", files["short.csv"], "--model", os.path.join(scratch, "m"), "--config", path,
                           "--target", "y", "--epochs", "1", "--verbose", "0"])


@fuzz(30)
@given(name=st.sampled_from(["forecaster.json", "model.keras"]), position=st.floats(0, 1, exclude_max=True),
       damage=st.sampled_from(["truncate", "flip", "delete"]), command=st.sampled_from(["forecast", "export"]))
def test_damaged_saved_forecasters(files, name, position, damage, command):
    with tempfile.TemporaryDirectory() as scratch:
        model = shutil.copytree(files["model"], os.path.join(scratch, "model"))
        path = os.path.join(model, name)
        with open(path, "rb") as f:
            data = f.read()
        i = int(len(data) * position)
        if damage == "delete":
            os.remove(path)
        else:
            with open(path, "wb") as f:
                f.write(data[:i] if damage == "truncate" else data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1 :])
        argv = (["forecast", files["data.csv"], "--model", model] if command == "forecast"
                else ["export", "--model", model, "--output", os.path.join(scratch, "serving"), "--version", "1"])
        status, lines = run(argv)
        if status == 0:  # a JSON whitespace byte swapped for another: the same forecaster
            assert damage == "flip" and name == "forecaster.json"
            return
        assert status == 2 and len(lines) == 1 and name in lines[0], lines


def test_exporting_twice_to_a_version(files):
    line = assert_clean_exit(["export", "--model", files["model"], "--output", files["serving"], "--version", "1"])
    assert "already exists; nothing was overwritten" in line
    assert "1" in os.listdir(files["serving"]) and not [n for n in os.listdir(files["serving"]) if n.startswith(".")]
