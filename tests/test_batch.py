"""tsgate.batch: chunked forecasts equal `predict`; Ray Data forecasts from the
export equal it too, and Ray Train's TensorflowTrainer runs the two-worker
fit (both when the `ray` extra is installed)."""

import numpy as np
import pandas as pd
import pytest

from tests.distributed_worker import FORECASTER, panel, share
from tests.helpers import BACKEND
from tsgate import Forecaster
from tsgate.batch import forecast_chunks, predict_chunked, ray_forecast

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline runs on TensorFlow")


@pytest.fixture(scope="module")
def fitted():
    df = panel(n_series=6)
    return Forecaster(**FORECASTER).fit(df, validation=0.25, epochs=1, batch_size=16, verbose=0), df


def test_chunks_of_a_frame_and_of_parquet_equal_predict(fitted, tmp_path):
    forecaster, df = fitted
    expected = forecaster.predict(df)
    chunks = list(forecast_chunks(forecaster, df, series_per_chunk=4))
    assert [len(chunk) for chunk in chunks] == [4 * forecaster.horizon, 2 * forecaster.horizon]
    pd.testing.assert_frame_equal(pd.concat(chunks), expected)
    df.to_parquet(tmp_path / "panel.parquet")
    pd.testing.assert_frame_equal(predict_chunked(forecaster, str(tmp_path / "panel.parquet"), 5), expected)
    df.assign(site=pd.Categorical(df["site"])).to_parquet(tmp_path / "categorical.parquet")  # dictionary-encoded
    categorical = predict_chunked(forecaster, str(tmp_path / "categorical.parquet"), 4)
    np.testing.assert_array_equal(categorical.to_numpy(), expected.to_numpy())


def test_rows_without_a_series_id_are_named_not_dropped(fitted, tmp_path):
    forecaster, df = fitted
    bad = df.copy()
    bad.iloc[3, bad.columns.get_loc("site")] = None
    with pytest.raises(ValueError, match="no series id"):
        predict_chunked(forecaster, bad, 2)
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="no series id"):
        predict_chunked(forecaster, str(tmp_path / "bad.parquet"), 2)


def test_chunks_read_their_series_future_covariates_from_one_frame():
    """Rows of the series interleaved, `future` holding every series and one
    never forecast: each chunk reads its own series' rows of both."""
    times = pd.date_range("2024-01-01", periods=60, freq="h")
    df = pd.concat([pd.DataFrame({"time": times, "site": f"s{k}", "y": np.sin(np.arange(60) / 4 + k),
                                  "temp": np.cos(np.arange(60) / 5 + k)}) for k in range(5)])
    df = df.sort_values("time", kind="stable")
    forecaster = Forecaster(target="y", future_covariates=["temp"], lookback=8, horizon=3, units=4,
                            series_column="site", time_column="time", seed=0).fit(df, epochs=1, verbose=0)
    ahead = pd.date_range(times[-1], periods=4, freq="h")[1:]
    future = pd.DataFrame({"time": np.tile(ahead, 6), "site": np.repeat([f"s{k}" for k in (5, 4, 3, 2, 1, 0)], 3),
                           "temp": np.arange(18) / 18})
    expected = forecaster.predict(df, future=future)
    pd.testing.assert_frame_equal(predict_chunked(forecaster, df, 2, future=future), expected)
    with pytest.raises(ValueError, match="`future` has no series column 'site'"):
        predict_chunked(forecaster, df, 2, future=future.drop(columns="site"))


def test_bad_batch_arguments_are_named(fitted):
    forecaster, df = fitted
    with pytest.raises(ValueError, match="`series_per_chunk`"):
        predict_chunked(forecaster, df, 0)
    with pytest.raises(ValueError, match="`data`"):
        predict_chunked(forecaster, 42)
    with pytest.raises(ValueError, match="Parquet dataset"):
        predict_chunked(forecaster, "/nonexistent.parquet")


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_forecasts_from_the_export_equal_predict(fitted, ray_cluster, tmp_path):
    forecaster, df = fitted
    forecaster.save(str(tmp_path / "model"))
    export = forecaster.export(str(tmp_path / "export"), version=1)
    result = ray_forecast(ray_cluster.data.from_pandas(df), tmp_path / "model", export, "site", chunks=3).to_pandas()
    got = result.assign(time=pd.to_datetime(result["time"])).set_index(["site", "time"]).sort_index()
    expected = forecaster.predict(df).sort_index()
    np.testing.assert_allclose(got[expected.columns].to_numpy(), expected.to_numpy(), rtol=1e-5)
    assert got.index.equals(expected.index)


def train_loop(config):
    """Ray Train's loop on each worker: TensorflowTrainer has set TF_CONFIG."""
    import json
    import os

    from tsgate import distributed

    strategy = distributed.strategy_from_tf_config()
    index, count = distributed.worker(strategy)
    forecaster = Forecaster(**FORECASTER).fit(share(panel(), index, count), validation=0.25, epochs=2,
                                              batch_size=16, verbose=0, strategy=strategy)
    with open(os.path.join(config["out"], f"worker-{index}.json"), "w") as f:
        json.dump({"loss": forecaster.history_.history["loss"], "series": forecaster.series_,
                   "weights": [w.tolist() for w in forecaster.model_.get_weights()]}, f)


def test_ray_train_runs_the_two_worker_fit(ray_cluster, tmp_path):
    import json

    from ray.train import RunConfig, ScalingConfig
    from ray.train.tensorflow import TensorflowTrainer

    trainer = TensorflowTrainer(train_loop, train_loop_config={"out": str(tmp_path)},
                                scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 1}),
                                run_config=RunConfig(storage_path=str(tmp_path), name="fit"))
    assert trainer.fit().error is None
    workers = [json.loads((tmp_path / f"worker-{i}.json").read_text()) for i in range(2)]
    assert workers[0] == workers[1]  # the same weights, history and series on both
    assert workers[0]["series"] == ["s0", "s1", "s2", "s3"] and np.isfinite(workers[0]["loss"]).all()
