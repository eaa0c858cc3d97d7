import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="session")
def trained():
    """A forecaster fitted on `two_series` (covariates of every kind, a
    quantile head) and its frame; shared by the pipeline tests, never changed."""
    from tests.helpers import two_series
    from tsgate import Forecaster

    keras.utils.set_random_seed(1234)
    df = two_series()
    forecaster = Forecaster(
        "y", lookback=48, horizon=12, units=16, series_column="site", past_covariates=["x"],
        static_covariates=["elevation"], calendar=["hour"], quantiles=(0.1, 0.5, 0.9), learning_rate=1e-2,
    )
    return forecaster.fit(df, validation=0.25, epochs=12, verbose=0), df


@pytest.fixture(scope="session")
def saved_pair(tmp_path_factory):
    """Two forecasters of one configuration (seeds 0 and 1) saved, and their
    frame: `(df, [path0, path1])`; for the load and corruption tests."""
    from tests.helpers import hourly
    from tsgate import Forecaster

    df = hourly(160)
    root = tmp_path_factory.mktemp("saved")
    paths = []
    for seed in (0, 1):
        forecaster = Forecaster("y", lookback=12, horizon=3, units=4, past_covariates=["x"], seed=seed)
        paths.append(forecaster.fit(df, epochs=1, verbose=0).save(str(root / f"f{seed}")))
    return df, paths
