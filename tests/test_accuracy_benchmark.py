"""The long-horizon accuracy harness (`benchmarks/accuracy.py`): published
Repeat numbers, split borders, a tiny Forecaster run, resume, bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks import accuracy

LOOKBACK, HORIZON = 24, 24
TINY = '{"forecaster": {"builder": "recurrent", "units": 4, "lookback": 24}, "fit": {"epochs": 1}}'


def write_csv(path, rows=400):
    """An hourly CSV of `rows` rows: `date`, `a`, `OT`."""
    rng = np.random.default_rng(0)
    phase = np.arange(rows) / 24 * 2 * np.pi
    pd.DataFrame({
        "date": pd.date_range("2020-01-01", periods=rows, freq="h").strftime("%Y-%m-%d %H:%M:%S"),
        "a": np.sin(phase) + rng.normal(0, 0.1, rows),
        "OT": np.cos(phase) + rng.normal(0, 0.1, rows),
    }).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("accuracy") / "tiny.csv")


@pytest.mark.parametrize("drop_last, expected", [
    (None, {96: 1.294, 192: 1.325, 336: 1.330, 720: 1.335}),  # every test window
    (32, {96: 1.295, 192: 1.325, 336: 1.323, 720: 1.339}),    # the DLinear paper's table
])
def test_repeat_reproduces_published_etth1_numbers(drop_last, expected):
    df = accuracy.load_frame(accuracy.BUNDLED_ETTH1, "OT")
    borders = accuracy.split_borders("ETTh1", len(df))
    for horizon, mse in expected.items():
        result = accuracy.run(df, borders, "M", "OT", horizon, "repeat", None, None, drop_last)
        assert round(result["mse"], 3) == mse, horizon
        windows = 2880 - horizon + 1
        assert result["test_windows"] == (windows if drop_last is None else windows // 32 * 32)


def test_self_check_passes(capsys):
    accuracy.main(["--self-check", "--horizons", "96", "720"])
    assert capsys.readouterr().out.strip().endswith("self-check passed")


def test_split_borders():
    assert accuracy.split_borders("ETTh1", 17420) == (8640, 11520, 14400)
    assert accuracy.split_borders("ETTh2", 14400) == (8640, 11520, 14400)
    assert accuracy.split_borders("ETTm1", 69680) == (34560, 46080, 57600)
    assert accuracy.split_borders("vix-daily", 1000) == (700, 800, 1000)
    assert accuracy.split_borders("custom", 1001) == (700, 801, 1001)  # int(n*0.7), n - int(n*0.2), n
    with pytest.raises(SystemExit, match="ETTm2 has 14400 rows; the ETT protocol needs 57600"):
        accuracy.split_borders("ETTm2", 14400)


def test_custom_split_windows_and_lookback_border(tmp_path):
    df = accuracy.load_frame(write_csv(tmp_path / "custom.csv", rows=1000), "OT")
    borders = accuracy.split_borders("custom", len(df))
    assert borders == (700, 800, 1000)
    values = df[["OT"]].to_numpy()
    actual = accuracy.target_windows(values, 800, 1000, HORIZON)
    repeat = accuracy.repeat_forecasts(values, 800, 1000, HORIZON)
    assert actual.shape == repeat.shape == (200 - HORIZON + 1, HORIZON, 1)
    assert actual[0, 0, 0] == values[800, 0] and actual[-1, -1, 0] == values[999, 0]
    assert (repeat[0] == values[799]).all()  # the first test input is the last validation row
    result = accuracy.run(df, borders, "S", "OT", HORIZON, "repeat", None, None, None)
    assert result["test_windows"] == 200 - HORIZON + 1


def test_the_seasonal_baseline_takes_the_same_phase_of_the_last_season_before_the_targets():
    values = np.arange(40.0)[:, None]
    forecasts = accuracy.seasonal_forecasts(values, 20, 40, horizon=6, season=4)
    assert forecasts.shape == (40 - 20 - 6 + 1, 6, 1)
    assert forecasts[0, :, 0].tolist() == [16, 17, 18, 19, 16, 17]  # targets 20..25: rows 16..19, then 16, 17 again
    assert forecasts[3, :, 0].tolist() == [19, 20, 21, 22, 19, 20]


def test_task_columns():
    columns = ["a", "b", "OT"]
    assert accuracy.task_columns(columns, "M", "OT") == (columns, columns)
    assert accuracy.task_columns(columns, "S", "OT") == (["OT"], ["OT"])
    assert accuracy.task_columns(columns, "MS", "OT") == (columns, ["OT"])


def test_forecaster_test_windows_reach_back_lookback_rows(tiny_csv):
    df = accuracy.load_frame(tiny_csv, "OT")
    borders = accuracy.split_borders("tiny", len(df))
    config = accuracy.load_config(None, TINY, [])
    forecaster, seconds = accuracy.fit_forecaster(df, borders, ["a", "OT"], ["OT"], HORIZON, config, seed=1)
    assert seconds > 0 and forecaster.windows_["validation"] == borders[1] - borders[0] - HORIZON + 1
    forecasts = accuracy.forecaster_forecasts(forecaster, df, *accuracy.scored_rows(borders, "test"), ["OT"])
    assert forecasts.shape == (borders[2] - borders[1] - HORIZON + 1, HORIZON, 1)
    # The first test window's inputs are the last `lookback` validation rows: what predict sees there.
    first = forecaster.predict(df.iloc[: borders[1]])
    np.testing.assert_allclose(forecasts[0, :, 0], first["OT"].to_numpy(), rtol=1e-5, atol=1e-5)
    # Validation windows: targets in the validation rows, inputs reaching back into the train rows.
    assert accuracy.scored_rows(borders, "validation") == borders[:2]
    forecasts = accuracy.forecaster_forecasts(forecaster, df, *accuracy.scored_rows(borders, "validation"), ["OT"])
    assert forecasts.shape == (forecaster.windows_["validation"], HORIZON, 1)
    first = forecaster.predict(df.iloc[: borders[0]])
    np.testing.assert_allclose(forecasts[0, :, 0], first["OT"].to_numpy(), rtol=1e-5, atol=1e-5)


def test_forecaster_run_writes_json_and_markdown_and_resumes(tiny_csv, tmp_path, capsys):
    out, table = tmp_path / "runs.json", tmp_path / "runs.md"
    argv = ["--data", str(tiny_csv), "--task", "MS", "--config", TINY, "--set", "forecaster.units=3",
            "--horizons", str(HORIZON), "--seeds", "1", "--out", str(out), "--markdown", str(table)]
    accuracy.main(argv)
    runs = json.loads(out.read_text())["runs"]
    assert len(runs) == 1
    run = runs[0]
    assert run["config"]["forecaster"]["units"] == 3 and run["seed"] == 1 and run["epochs"] == 1
    assert run["test_windows"] == 80 - HORIZON + 1 and run["fit_seconds"] > 0
    assert 0 < run["mae"] and 0 < run["mse"]
    assert run["split"] == "test"
    assert "| tiny | test | MS | 24 | forecaster | 24 | 57 | 1 |" in table.read_text()
    assert "| tiny | test | MS | 24 |" in capsys.readouterr().out

    accuracy.main(argv + ["--resume"])
    assert "done before, skipped" in capsys.readouterr().out
    assert json.loads(out.read_text())["runs"] == runs

    # The validation split is another run of the same configuration, kept beside the test run.
    accuracy.main(argv + ["--resume", "--split", "validation"])
    runs = json.loads(out.read_text())["runs"]
    assert [r["split"] for r in runs] == ["test", "validation"]
    assert runs[1]["test_windows"] == 40 - HORIZON + 1  # the tiny file's 40 validation rows
    assert "| tiny | validation | MS | 24 | forecaster | 24 | 17 | 1 |" in table.read_text()


def test_records_written_before_splits_resume_as_test_runs(tiny_csv, tmp_path, capsys):
    out = tmp_path / "runs.json"
    argv = ["--data", str(tiny_csv), "--config", TINY, "--horizons", str(HORIZON), "--out", str(out)]
    accuracy.main(argv)
    document = json.loads(out.read_text())
    for record in document["runs"]:
        del record["split"]
    out.write_text(json.dumps(document))
    accuracy.main(argv + ["--resume"])
    assert "done before, skipped" in capsys.readouterr().out


def test_config_layers_and_overrides(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"forecaster": {"lookback": 96, "units": 8}, "fit": {"epochs": 2}}')
    overrides = ["forecaster.units=64", "forecaster.cell=lstm", "fit.patience=3",
                 "forecaster.builder_options.segment_length=12"]
    config = accuracy.load_config(None, str(path), overrides)
    assert config == {"forecaster": {"lookback": 96, "units": 64, "cell": "lstm",
                                     "builder_options": {"segment_length": 12}},
                      "fit": {"epochs": 2, "patience": 3}}
    with pytest.raises(SystemExit, match="forecaster.lookback"):
        accuracy.load_config(None, '{"forecaster": {"units": 8}}', [])
    with pytest.raises(SystemExit, match="set by the harness"):
        accuracy.load_config(None, TINY, ["forecaster.horizon=12"])
    with pytest.raises(SystemExit, match="not forecaster.KEY=VALUE"):
        accuracy.load_config(None, TINY, ["units=8"])
    with pytest.raises(SystemExit, match="neither JSON text nor a file"):
        accuracy.load_config(None, str(tmp_path / "absent.json"), [])


def test_bad_input_is_one_clear_line(tmp_path, tiny_csv):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(SystemExit, match=f"data file {missing} does not exist"):
        accuracy.main(["--data", str(missing), "--model", "repeat"])
    with pytest.raises(SystemExit, match=r"target column 'load' is not in .*tiny.csv"):
        accuracy.main(["--data", str(tiny_csv), "--model", "repeat", "--target", "load"])


def test_preset_follows_the_data_frequency():
    hourly = accuracy.load_config("long_horizon", None, [], "h")["forecaster"]
    quarter_hourly = accuracy.load_config("long_horizon", None, ["forecaster.units=8"], "15min")["forecaster"]
    assert (hourly["lookback"], hourly["builder_options"]["segment_length"]) == (720, 24)
    assert (quarter_hourly["lookback"], quarter_hourly["builder_options"]["segment_length"]) == (2880, 96)
    assert quarter_hourly["units"] == 8


def test_a_preset_plans_its_lookback_at_fit_and_select_records_the_winner(tiny_csv, tmp_path):
    from tsgate import presets

    out = tmp_path / "runs.json"
    argv = ["--data", str(tiny_csv), "--preset", "long_horizon", "--set", "forecaster.units=3", "--set",
            "fit.epochs=1", "--set", "fit.steps_per_epoch=2", "--horizons", str(HORIZON), "--out", str(out)]
    accuracy.main(argv + ["--select"])
    run = json.loads(out.read_text())["runs"][0]
    # 400 rows: 280 train; a lookback of whole days that leaves half of the training positions as windows
    assert run["config"]["forecaster"]["lookback"] == "auto" and run["lookback"] == 120
    assert run["select"] and run["selected"] in map(repr, presets.candidates("long_horizon"))
    assert 0 < run["selection_seconds"] < run["fit_seconds"]
    with pytest.raises(SystemExit, match="give --preset too"):
        accuracy.main(["--data", str(tiny_csv), "--config", TINY, "--select", "--out", str(out)])
