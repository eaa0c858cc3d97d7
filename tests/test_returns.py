"""Returns targets (`target_transform="log_return" | "pct_change" | "diff"`):
each window read from its origin in training and in the raw-unit model,
the scaler fitted on one-step returns, prices back exactly (predict, reload,
SavedModel in a fresh process, TF Lite), their domains and their units."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, clear_error
from tsgate import Forecaster
from tsgate.transforms import TargetTransform, returns_from, values_from

tensorflow_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
METHODS = ("log_return", "pct_change", "diff")
QUANTILES = (0.1, 0.5, 0.9)


def prices(n=240, seed=0, level=100.0, sites=None):
    """Daily prices: a geometric random walk from `level` (one per site of
    `sites`, each its own level, with a "site" column)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="D", name="time")
    if sites is None:
        return pd.DataFrame({"close": level * np.exp(np.cumsum(rng.normal(5e-4, 0.02, n)))}, index=index)
    return pd.concat([prices(n, seed + k, value).assign(site=site) for k, (site, value) in enumerate(sites.items())])


def one_step(method, values):
    """The one-step returns of a 1-d array (NumPy, written independently)."""
    return {"log_return": np.diff(np.log(values)), "pct_change": values[1:] / values[:-1] - 1,
            "diff": np.diff(values)}[method]


def from_origin(method, window):
    """Window `(lookback + horizon,)` as returns from its origin, its row `lookback - 1` (independently)."""
    return {"log_return": np.log(window / window[LOOKBACK - 1]), "pct_change": window / window[LOOKBACK - 1] - 1,
            "diff": window - window[LOOKBACK - 1]}[method]


LOOKBACK, HORIZON = 12, 4


def fitted(method, df=None, **options):
    df = prices() if df is None else df
    forecaster = Forecaster("close", lookback=LOOKBACK, horizon=HORIZON, units=4, freq="D", quantiles=QUANTILES,
                            target_transform=method, seed=3, **options)
    return forecaster.fit(df, validation=0.25, epochs=2, verbose=0), df


@pytest.mark.parametrize("method", METHODS)
def test_returns_math_inverts_on_every_array_module(method):
    import keras

    rng = np.random.default_rng(1)
    values, origin = rng.uniform(1, 50, (3, 5, 2)), rng.uniform(1, 50, (3, 1, 2))
    returns = returns_from(method, values, origin, np)
    np.testing.assert_allclose(values_from(method, returns, origin, np), values, rtol=1e-12)
    layer_returns = keras.ops.convert_to_numpy(returns_from(method, values.astype("float32"),
                                                            origin.astype("float32"), keras.ops))
    np.testing.assert_allclose(layer_returns, returns, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_transform_layer_reads_lookback_and_forecast_from_the_origin(method):
    import keras

    rng = np.random.default_rng(2)
    past = rng.uniform(1, 50, (3, LOOKBACK, 2)).astype("float32")  # (b, lookback, n_target)
    returns = rng.normal(0, 0.1, (3, HORIZON, 2, 3)).astype("float32")  # quantiles (b, horizon, n_target, q)
    transform = TargetTransform(method)
    read = keras.ops.convert_to_numpy(transform.layer()(past))
    np.testing.assert_allclose(read, returns_from(method, past, past[:, -1:], np), rtol=1e-5, atol=1e-6)
    assert np.all(read[:, -1] == 0)  # the origin itself
    back = keras.ops.convert_to_numpy(transform.layer(inverse=True, axis=-2)(returns, past_target=past))
    np.testing.assert_allclose(back, values_from(method, returns, past[:, -1:, :, None], np), rtol=1e-5)


@tensorflow_only
@pytest.mark.parametrize("method, scale_per_series", [("log_return", False), ("pct_change", False), ("diff", True)])
def test_training_windows_are_returns_from_their_origin_scaled_by_one_step_returns(method, scale_per_series):
    df = prices(sites={"low": 10.0, "high": 5000.0})
    forecaster, _ = fitted(method, df, series_column="site", scale_per_series=scale_per_series)
    scaler, cut = forecaster.scaler_, df.index[0] + (df.index[-1] - df.index[0]) * 0.75
    for g, site in enumerate(scaler.groups_):  # the scaler is fitted on the training rows' one-step returns
        rows = df[(df.site == site) | (site is None)]
        steps = np.concatenate([one_step(method, part["close"].to_numpy("float32").astype("float64"))
                                for _, part in rows[rows.index < cut].groupby("site")])
        np.testing.assert_allclose(scaler.scale_[g, 0], 1 / steps.std(), rtol=1e-4)
        np.testing.assert_allclose(scaler.offset_[g, 0], -steps.mean() / steps.std(), rtol=1e-4, atol=1e-7)
    panel = forecaster.panel(df)
    starts, _ = panel.windows(LOOKBACK, HORIZON)
    inputs, labels = next(iter(forecaster.preprocessor_.scaled_windows(panel, starts, batch_size=len(starts))))
    site_of = np.asarray(panel.series, dtype=object)[panel.series_index()[starts]]
    group = scaler.group_positions(site_of)
    windows = panel.values[starts[:, None] + np.arange(LOOKBACK + HORIZON), 0].astype("float64")
    expected = np.stack([from_origin(method, w) for w in windows]) * scaler.scale_[group, :1] + \
        scaler.offset_[group, :1]
    np.testing.assert_allclose(inputs["past_target"][..., 0], expected[:, :LOOKBACK], rtol=1e-4, atol=2e-4)
    np.testing.assert_allclose(labels[..., 0], expected[:, LOOKBACK:], rtol=1e-4, atol=2e-4)


@tensorflow_only
@pytest.mark.parametrize("method", ["log_return", "diff"])
def test_price_forecasts_are_the_origin_moved_by_the_summed_return_forecasts(method):
    forecaster, df = fitted(method)
    forecast = forecaster.predict(df)
    past = df["close"].to_numpy("float32")[-LOOKBACK:].astype("float64")
    scale, offset = forecaster.scaler_.scale_[0, 0], forecaster.scaler_.offset_[0, 0]
    x = {"past_target": (from_origin(method, np.r_[past, np.ones(HORIZON)])[:LOOKBACK] * scale + offset)
         .astype("float32")[None, :, None]}
    cumulative = (np.asarray(forecaster.model_.predict(x, verbose=0))[0, :, 0] - offset) / scale  # (horizon, q)
    steps = np.diff(cumulative, axis=0, prepend=0.0)  # the one-step return forecasts
    expected = past[-1] * np.exp(np.cumsum(steps, axis=0)) if method == "log_return" else \
        past[-1] + np.cumsum(steps, axis=0)
    columns = [f"close_q{q:g}" for q in QUANTILES]
    np.testing.assert_allclose(forecast[columns].to_numpy(), expected, rtol=1e-5)
    assert (np.diff(forecast[columns].to_numpy(), axis=1) >= 0).all()  # quantiles keep their order


@tensorflow_only
def test_returns_model_reloads_and_serves_prices_without_tsgate(tmp_path):
    import tensorflow as tf

    from tsgate import serving

    forecaster, df = fitted("log_return")
    expected = forecaster.predict(df)
    forecaster.save(tmp_path / "saved")
    np.testing.assert_allclose(Forecaster.load(tmp_path / "saved").predict(df).to_numpy(), expected.to_numpy(),
                               rtol=1e-6)
    inputs, _ = forecaster.serving_inputs(df)
    path = forecaster.export(tmp_path / "models", version=1)
    served = serving.serve_in_fresh_process(path, inputs)
    np.testing.assert_allclose(served["quantiles"][0, :, 0], expected[[f"close_q{q:g}" for q in QUANTILES]],
                               rtol=1e-5)
    runner = tf.lite.Interpreter(model_path=forecaster.export_tflite(str(tmp_path / "f.tflite"))).get_signature_runner()
    np.testing.assert_allclose(runner(**inputs)["forecast"][0, :, 0], expected["close"], rtol=1e-5)


@tensorflow_only
@pytest.mark.parametrize("method", ["log_return", "pct_change"])
def test_prices_a_returns_transform_cannot_take_are_named(method):
    df = prices()
    df.loc[df.index[40], "close"] = -1.5
    forecaster = Forecaster("close", lookback=LOOKBACK, horizon=HORIZON, units=4, target_transform=method)
    clear_error(lambda: forecaster.fit(df, epochs=1, verbose=0),
                ["'close'", "positive values", "-1.5", "2024-02-10", repr(method)], every=True)


@tensorflow_only
@pytest.mark.filterwarnings("ignore:tsgate. .* windows that evaluate scores have targets at or before")
def test_diff_takes_prices_of_any_sign_and_scaled_units_are_refused():
    df = prices()
    df["close"] -= df["close"].mean()  # a spread, crossing zero
    forecaster, _ = fitted("diff", df)
    assert np.isfinite(forecaster.predict(df).to_numpy()).all()
    clear_error(lambda: forecaster.evaluate(df, test=0.25, units="scaled"),
                ["units='scaled'", "target_transform='diff'", "returns", "units='raw'"], every=True)


@tensorflow_only
def test_a_one_step_return_far_outside_training_is_warned_in_return_units():
    forecaster, df = fitted("log_return")
    later = df.copy()
    later.iloc[-3:, 0] *= 20  # a twentyfold jump: a one-step log return of 3
    with pytest.warns(UserWarning, match=r"'close' has 1 one-step log_return value\(s\) far outside .* e\.g\. 2\.9"):
        forecaster.predict(later)
