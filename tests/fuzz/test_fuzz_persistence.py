"""Generated damage to a saved forecaster: `Forecaster.load` either refuses
it with a clear error naming the damaged file (`SavedForecasterError`, a
ValueError, or FileNotFoundError) or, when the damage left the meaning
intact (a JSON whitespace byte swapped for another), loads a forecaster
that predicts exactly what the original does. Never a raw JSONDecodeError,
BadZipFile or KeyError, never a load that predicts something else.

Per run: 40 truncated and 60 byte-flipped forecaster.json, 25 truncated and
40 byte-flipped model.keras, 30 edited scaler values, 30 renamed columns, 60
JSON values replaced and 30 keys deleted anywhere in forecaster.json, plus
another forecaster's model.keras and a scaler with a column too few: 317
damaged files."""

import json
import os
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import fuzz
from tests.helpers import BACKEND, json_leaves
from tsgate import Forecaster
from tsgate.persistence import SavedForecasterError

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline trains with TensorFlow")



@pytest.fixture(scope="module")
def saved(saved_pair):
    """The saved pair's paths, frame and the first one's forecast."""
    df, paths = saved_pair
    return paths, df, Forecaster.load(paths[0]).predict(df)


def damaged_load(saved, damage):
    """Copies the first saved forecaster, applies `damage(directory)` and
    checks what `Forecaster.load` makes of it."""
    paths, df, expected = saved
    with tempfile.TemporaryDirectory() as scratch:
        directory = shutil.copytree(paths[0], os.path.join(scratch, "saved"))
        damage(directory)
        try:
            loaded = Forecaster.load(directory)
        except (SavedForecasterError, FileNotFoundError) as error:
            assert type(error) in (SavedForecasterError, FileNotFoundError), repr(error)
            assert directory in str(error) and ("forecaster.json" in str(error) or "model.keras" in str(error))
            assert "\n" not in str(error)
            return error
        np.testing.assert_array_equal(loaded.predict(df).to_numpy(), expected.to_numpy())
        return None


def rewrite(directory, name, change):
    path = os.path.join(directory, name)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(change(data))


def edit_json(directory, change):
    path = os.path.join(directory, "forecaster.json")
    with open(path) as f:
        meta = json.load(f)
    change(meta)
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)


def parent_of(meta, path):
    node = meta
    for key in path[:-1]:
        node = node[key]
    return node


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@pytest.mark.parametrize("name", ["forecaster.json", "model.keras"])
def test_truncated_files(saved, name):
    @fuzz(40 if name == "forecaster.json" else 25)
    @given(fraction=st.floats(0, 1, exclude_max=True))
    def check(fraction):
        error = damaged_load(saved, lambda d: rewrite(d, name, lambda data: data[: int(len(data) * fraction)]))
        assert error is not None and name in str(error)

    check()


def test_a_compression_method_zipfile_lacks_is_a_corrupted_model_file(saved):
    def unknown_method(data):  # the first central directory entry's compression method (offset 10) set to 99
        at = data.index(b"PK\x01\x02") + 10
        return data[:at] + (99).to_bytes(2, "little") + data[at + 2 :]

    error = damaged_load(saved, lambda d: rewrite(d, "model.keras", unknown_method))
    assert "corrupted" in str(error)


@pytest.mark.parametrize("name", ["forecaster.json", "model.keras"])
def test_flipped_bytes(saved, name):
    @fuzz(60 if name == "forecaster.json" else 40)
    @given(position=st.floats(0, 1, exclude_max=True), mask=st.integers(1, 255))
    def check(position, mask):
        def flip(data):
            i = int(len(data) * position)
            return data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]

        error = damaged_load(saved, lambda d: rewrite(d, name, flip))
        if name == "model.keras":
            assert error is not None and "model.keras" in str(error)

    check()


def test_another_forecasters_model(saved):
    other = os.path.join(saved[0][1], "model.keras")
    error = damaged_load(saved, lambda d: shutil.copy(other, os.path.join(d, "model.keras")))
    assert isinstance(error, SavedForecasterError) and "another forecaster" in str(error)


def test_a_scaler_with_a_column_too_few(saved):
    def drop(meta):
        for key in ("scale", "offset"):
            meta["scaler"][key][0].pop()
        meta["scaler"]["feature_names"].pop()

    error = damaged_load(saved, lambda d: edit_json(d, drop))
    assert "shape (1, 1), it was fitted with (1, 2)" in str(error)


@fuzz(30)
@given(key=st.sampled_from(["scale", "offset"]), column=st.integers(0, 1),
       value=st.floats(allow_nan=True, allow_infinity=True))
def test_edited_scaler_values(saved, key, column, value):
    error = damaged_load(saved, lambda d: edit_json(d, lambda m: m["scaler"][key][0].__setitem__(column, value)))
    if error is None:  # the same value written again
        return
    assert "forecaster.json: changed after it was saved" in str(error)


@fuzz(30)
@given(argument=st.sampled_from(["target", "past_covariates"]), name=st.text(min_size=1, max_size=6))
def test_renamed_columns(saved, argument, name):
    error = damaged_load(saved, lambda d: edit_json(d, lambda m: m["config"].__setitem__(argument, [name])))
    if error is not None:
        assert f"`{argument}` is ['{name}']" in str(error) or "changed after it was saved" in str(error)


@fuzz(60)
@given(pick=st.floats(0, 1, exclude_max=True), value=JSON_VALUES)
def test_replaced_json_values(saved, pick, value):
    def replace(meta):
        paths = [path for path, _ in json_leaves(meta) if path]
        path = paths[int(len(paths) * pick)]
        parent_of(meta, path)[path[-1]] = value

    damaged_load(saved, lambda d: edit_json(d, replace))


@fuzz(30)
@given(pick=st.floats(0, 1, exclude_max=True))
def test_deleted_json_keys(saved, pick):
    def delete(meta):
        paths = [path for path, _ in json_leaves(meta) if path and isinstance(path[-1], str)]
        path = paths[int(len(paths) * pick)]
        del parent_of(meta, path)[path[-1]]

    assert damaged_load(saved, lambda d: edit_json(d, delete)) is not None
