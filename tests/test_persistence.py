"""Saved forecasters: model.keras and forecaster.json tied by a fingerprint;
every corrupted, edited or mismatched file is a clear error naming it."""

import json
import os
import shutil

import keras
import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly
from tsgate import Forecaster, persistence
from tsgate.persistence import SavedForecasterError

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline trains with TensorFlow")


@pytest.fixture(scope="module")
def saved(saved_pair):
    return saved_pair


@pytest.fixture
def copy(saved, tmp_path):
    """A fresh copy of the first saved forecaster, to damage."""
    return shutil.copytree(saved[1][0], tmp_path / "copy")


def edit_meta(path, change):
    with open(path / "forecaster.json") as f:
        meta = json.load(f)
    change(meta)
    with open(path / "forecaster.json", "w") as f:
        json.dump(meta, f)


def test_round_trip_carries_a_fingerprint(saved, tmp_path):
    df, (path, _) = saved
    loaded = Forecaster.load(path)
    assert sorted(os.listdir(path)) == ["forecaster.json", "model.keras"]  # no staging file left
    with open(os.path.join(path, "forecaster.json")) as f:
        meta = json.load(f)
    assert meta["format"] == persistence.FORMAT
    fingerprint = meta["fingerprint"]
    assert fingerprint["model"]["inputs"] == {"past_covariates": [None, 12, 1], "past_target": [None, 12, 1]}
    assert fingerprint["scaler"]["shape"] == [1, 2] and fingerprint["scaler"]["columns"] == ["y", "x"]
    again = Forecaster.load(loaded.save(str(tmp_path / "again")))
    np.testing.assert_array_equal(again.predict(df).to_numpy(), loaded.predict(df).to_numpy())


def test_another_forecasters_model_is_refused(saved, copy):
    shutil.copy(os.path.join(saved[1][1], "model.keras"), copy / "model.keras")
    with pytest.raises(SavedForecasterError, match="model.keras: not the model saved with .*another forecaster"):
        Forecaster.load(copy)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_garbled_model_file_is_refused_naming_it(copy, damage):
    model = copy / "model.keras"
    data = model.read_bytes()
    data = {"truncate": data[: len(data) // 2], "flip": data[:300] + bytes([data[300] ^ 1]) + data[301:],
            "garbage": b"not a zip", "empty": b""}[damage]
    model.write_bytes(data)
    with pytest.raises(SavedForecasterError, match=f"{model}: not the model saved with .*corrupted"):
        Forecaster.load(copy)


@pytest.mark.parametrize(("change", "message"), [
    (lambda m: m["scaler"]["scale"][0].__setitem__(0, 2.0), "its scaler's values were edited"),
    (lambda m: [m["scaler"][k][0].pop() for k in ("scale", "offset")] + [m["scaler"]["feature_names"].pop()],
     r"its scaler has shape \(1, 1\), it was fitted with \(1, 2\)"),
    (lambda m: m["config"].__setitem__("target", "z"), r"`target` is \['z'\], the model was fitted with \['y'\]"),
    (lambda m: m["config"].__setitem__("lookback", 24), "its contents are not those Forecaster.save wrote"),
    (lambda m: m.__setitem__("freq", "D"), "Restore the file"),
])
def test_an_edited_forecaster_json_is_refused(copy, change, message):
    edit_meta(copy, change)
    with pytest.raises(SavedForecasterError, match=f"forecaster.json: changed after it was saved.*{message}"):
        Forecaster.load(copy)


def test_truncated_or_foreign_json_is_refused_naming_it(copy):
    meta = copy / "forecaster.json"
    text = meta.read_text()
    for broken, message in ((text[: len(text) // 2], "not valid JSON"), ("", "not valid JSON"),
                            (b"\xff\xfe".decode("latin-1"), "not valid JSON"), ("[1, 2]", "not a file written by"),
                            ('{"format": 7}', "unknown format 7")):
        meta.write_text(broken)
        with pytest.raises(SavedForecasterError, match=f"{meta}: {message}"):
            Forecaster.load(copy)


def test_missing_files_and_directories(copy, tmp_path):
    with pytest.raises(FileNotFoundError, match="No saved forecaster at .*nowhere"):
        Forecaster.load(tmp_path / "nowhere")
    with pytest.raises(SavedForecasterError, match="is a file"):
        Forecaster.load(copy / "model.keras")
    os.remove(copy / "model.keras")
    with pytest.raises(FileNotFoundError, match="model.keras is missing"):
        Forecaster.load(copy)
    os.remove(copy / "forecaster.json")
    with pytest.raises(FileNotFoundError, match="forecaster.json is missing"):
        Forecaster.load(copy)
    with pytest.raises(TypeError, match="argument `path`"):
        Forecaster.load(None)


def test_files_of_format_1_are_refused_with_the_reason(copy):
    edit_meta(copy, lambda m: [m.pop("fingerprint"), m.pop("digest"), m.__setitem__("format", 1)])
    with pytest.raises(SavedForecasterError, match="format 1 .* fit and save the forecaster again"):
        Forecaster.load(copy)


def test_keras_failures_and_weight_mismatches_name_the_model_file(saved, copy, monkeypatch):
    def unreadable(path):
        raise ValueError("Unknown layer: 'Custom'")

    other = Forecaster.load(saved[1][1]).model_
    same_layout = keras.models.clone_model(Forecaster.load(saved[1][0]).model_)  # other weights
    monkeypatch.setattr(keras.saving, "load_model", unreadable)
    with pytest.raises(SavedForecasterError, match="model.keras: Keras cannot load it: ValueError: Unknown layer"):
        Forecaster.load(copy)
    monkeypatch.setattr(keras.saving, "load_model", lambda path: other)  # a loader that mixes up models
    with pytest.raises(SavedForecasterError, match="model.keras: its model has outputs"):
        Forecaster.load(copy)
    monkeypatch.setattr(keras.saving, "load_model", lambda path: same_layout)
    with pytest.raises(SavedForecasterError, match="model.keras: its weights differ"):
        Forecaster.load(copy)


def test_the_training_time_zone_is_saved(tmp_path):
    df = hourly(160).tz_localize("Europe/Berlin")
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, calendar=["hour"]).fit(df, epochs=1, verbose=0)
    loaded = Forecaster.load(forecaster.save(str(tmp_path / "zoned")))
    assert loaded.tz_ == "Europe/Berlin"
    there = loaded.predict(df.tz_convert("Asia/Tokyo"))  # converted to the training zone, as before saving
    np.testing.assert_allclose(there.to_numpy(), forecaster.predict(df).to_numpy(), rtol=1e-6)
    assert str(there.index.tz) == "Europe/Berlin"


def test_the_ends_of_zoned_series_across_daylight_saving_are_saved(tmp_path):
    # "a" ends in winter (+01:00), "b" in summer (+02:00): the ends have different UTC offsets.
    df = pd.concat([hourly(80).assign(site="a"), hourly(80, start="2024-07-01").assign(site="b")])
    df = df.tz_localize("Europe/Berlin")
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, series_column="site").fit(df, epochs=1, verbose=0)
    loaded = Forecaster.load(forecaster.save(str(tmp_path / "dst")))
    pd.testing.assert_series_equal(loaded.fit_end_, forecaster.fit_end_)
    assert str(loaded.fit_end_.dt.tz) == "Europe/Berlin"


def test_an_undecodable_fitted_state_names_the_file(copy):
    def garble(meta):
        meta["fit_end"] = ["not a time"]
        meta["digest"] = persistence._json_digest({k: v for k, v in meta.items() if k != "digest"})

    edit_meta(copy, garble)
    with pytest.raises(SavedForecasterError, match="forecaster.json: cannot decode its fitted state"):
        Forecaster.load(copy)
