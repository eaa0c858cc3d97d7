"""Conformal calibration (`tsgate.calibration`, `Forecaster(calibration=...)`,
`Forecaster.calibrate`): the order statistics, the coverage they give on the
windows calibrated on, quantiles kept ordered, the point forecast unchanged,
the state saved, loaded and exported, and bad input named."""

import warnings

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, clear_error, hourly
from tsgate import Forecaster, serving
from tsgate.calibration import POINT_LEVELS, Calibrate, Calibration, conformal_shifts, track
from tsgate.distributed import check_forecaster

QUANTILES = (0.1, 0.5, 0.9)
needs_tf = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


def noisy(n=700, seed=3):
    """`hourly` with noise of std 1 on `y`, which a 2-epoch model's quantiles do not cover."""
    df = hourly(n, seed=seed)
    df["y"] += np.random.default_rng(seed).normal(0, 1.0, n)
    return df


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A quantile forecaster calibrated at fit, saved and reloaded; its frame."""
    df = noisy()
    forecaster = Forecaster("y", lookback=48, horizon=6, units=8, quantiles=QUANTILES, calibration="conformal",
                            learning_rate=1e-2, seed=1).fit(df, epochs=2, verbose=0)
    path = forecaster.save(str(tmp_path_factory.mktemp("calibrated") / "f"))
    return forecaster, Forecaster.load(path), df


# ------------------------------------------------------------- the numbers
def test_the_shift_is_the_conformal_order_statistic_of_each_level():
    rng = np.random.default_rng(0)
    residuals = rng.normal(size=(99, 4, 2, 3))  # n = 99: ranks ⌊100 · 0.1⌋ = 10 and ⌈100 · 0.9⌉ = 90
    shifts = conformal_shifts(residuals, QUANTILES)
    ordered = np.sort(residuals, axis=0)
    np.testing.assert_array_equal(shifts[..., 0], ordered[9, ..., 0])
    np.testing.assert_array_equal(shifts[..., 2], ordered[89, ..., 2])
    np.testing.assert_array_equal(shifts[..., 1], 0.0)  # the median, the point forecast, is not shifted


def test_missing_actuals_leave_their_step_with_fewer_windows():
    residuals = np.arange(20.0).reshape(20, 1, 1, 1).repeat(3, axis=-1)
    residuals[10:, ...] = np.nan  # 10 windows left: ranks ⌊11 · 0.1⌋ = 1 and ⌈11 · 0.9⌉ = 10
    shifts = conformal_shifts(residuals, QUANTILES)
    assert shifts[0, 0].tolist() == [0.0, 0.0, 9.0]


def test_too_few_windows_for_a_level_is_named():
    error = clear_error(lambda: conformal_shifts(np.zeros((8, 2, 1, 3)), QUANTILES), ["0.1", "8", "9"], every=True)
    assert "calibrate on more rows" in str(error)


def test_the_layer_keeps_the_quantiles_ordered_around_an_unchanged_median():
    shifts = np.array([[[2.0, 0.0, -3.0]]])  # the low level pushed above the median, the high one below it
    x = np.array([[[[-1.0, 0.0, 1.0]]], [[[-0.5, 0.5, 4.0]]]], "float32")
    out = np.asarray(Calibrate(shifts, median=1)(x))
    np.testing.assert_array_equal(out[..., 1], x[..., 1])
    np.testing.assert_array_equal(out, [[[[0.0, 0.0, 0.0]]], [[[0.5, 0.5, 1.0]]]])


def test_a_point_forecast_becomes_its_levels_with_the_median_the_forecast():
    shifts = np.array([[[-1.0, 0.0, 2.0]], [[-3.0, 0.0, 1.0]]])  # (horizon 2, 1 target, 3 levels)
    x = np.array([[[5.0], [7.0]]], "float32")
    out = np.asarray(Calibrate(shifts, median=1, point=True)(x))
    np.testing.assert_array_equal(out, [[[[4.0, 5.0, 7.0]], [[4.0, 7.0, 8.0]]]])


def tracker(rate=1.0, horizon=2, levels=(0.1, 0.5, 0.9)):
    shifts = np.zeros((horizon, 1, len(levels)))
    rates = np.where(np.asarray(levels) == 0.5, 0.0, np.full_like(shifts, rate))
    return Calibration("adaptive", levels, shifts, 10, "test", False, rates)


def test_the_tracker_hears_of_each_actual_only_once_its_time_has_come():
    n, horizon = 5, 2
    origins = np.arange(n) * 10
    targets = origins[:, None] + 10 * (1 + np.arange(horizon))  # step h's actual arrives h windows later
    predictions = np.zeros((n, horizon, 1, 3))
    labels = np.full((n, horizon, 1), 100.0)  # every actual above every quantile
    shifts, last = track(tracker(), predictions, labels, origins[::-1], targets[::-1])  # any order in
    shifts = shifts[::-1]
    np.testing.assert_allclose(shifts[:, 0, 0, 2], 0.9 * np.arange(n))  # step 1: the windows before
    np.testing.assert_allclose(shifts[:, 1, 0, 2], 0.9 * np.maximum(np.arange(n) - 1, 0))  # step 2: one later
    known = np.stack([np.arange(n), np.maximum(np.arange(n) - 1, 0)], axis=1)  # (window, step)
    np.testing.assert_allclose(shifts[:, :, 0, 0], 0.1 * known)  # the low level: τ − 1{y ≤ q̂} = 0.1 a miss
    np.testing.assert_array_equal(shifts[..., 1], 0.0)
    np.testing.assert_allclose(last.shifts[:, 0, 2], 0.9 * n)


def test_the_tracked_level_holds_its_share_whatever_the_drift():
    rng = np.random.default_rng(0)
    n = 2000
    labels = (rng.normal(size=n) * np.linspace(0.2, 5, n) + np.linspace(0, 20, n))[:, None, None]  # drifts away
    origins = np.arange(n)
    shifts, _ = track(tracker(rate=0.5, horizon=1), np.zeros((n, 1, 1, 3)), labels, origins, origins[:, None] + 1)
    below = (labels[..., None] <= shifts)[:, 0, 0]
    bound = (labels.max() - labels.min() + 0.5) / (0.5 * n)  # (B + η) / (η T)
    assert abs(below[:, 2].mean() - 0.9) <= bound and abs(below[:, 0].mean() - 0.1) <= bound


def test_missing_actuals_do_not_move_the_tracker():
    origins = np.arange(4)
    labels = np.full((4, 1, 1), np.nan)
    shifts, last = track(tracker(horizon=1), np.zeros((4, 1, 1, 3)), labels, origins, origins[:, None] + 1)
    np.testing.assert_array_equal(shifts, 0.0)
    np.testing.assert_array_equal(last.shifts, 0.0)


# ------------------------------------------------------------ the forecaster
@needs_tf
def test_fit_calibrates_on_its_validation_windows_and_covers_them(calibrated):
    forecaster, _, df = calibrated
    calibration = forecaster.calibration_
    assert calibration.levels == QUANTILES and calibration.shifts.shape == (6, 1, 3)
    assert calibration.windows == forecaster.windows_["validation"]
    assert calibration.source == "the validation windows of fit"
    cutoff = df.index[-forecaster.windows_["validation"] - 5]  # the first validation window's first target
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scored on the windows it was calibrated on: that is the point here
        frame = forecaster.historical_forecasts(df, start=cutoff, actuals=True)
    actual = frame["y_actual"].to_numpy()
    np.testing.assert_allclose(actual, df["y"].reindex(frame.index.get_level_values("time")), rtol=1e-6)  # float32
    assert frame["step"].tolist()[:7] == [1, 2, 3, 4, 5, 6, 1]
    n = calibration.windows
    below_high = np.mean(actual <= frame["y_q0.9"].to_numpy() + 1e-4)
    below_low = np.mean(actual < frame["y_q0.1"].to_numpy() - 1e-4)
    assert below_high >= 0.9 - 1 / n and below_low <= 0.1 + 1 / n


@needs_tf
def test_calibration_widens_a_band_that_under_covers(calibrated):
    forecaster, _, df = calibrated
    uncalibrated = Forecaster("y", lookback=48, horizon=6, units=8, quantiles=QUANTILES, learning_rate=1e-2,
                              seed=1).fit(df, epochs=2, verbose=0)
    assert uncalibrated.calibration_ is None
    inputs, _ = forecaster.serving_inputs(df)
    before = uncalibrated.raw_model_.predict(inputs, verbose=0)
    after = forecaster.raw_model_.predict(inputs, verbose=0)
    np.testing.assert_allclose(after["forecast"], before["forecast"], rtol=1e-6)  # same weights, same median
    width = np.diff(after["quantiles"][..., [0, 2]], axis=-1) - np.diff(before["quantiles"][..., [0, 2]], axis=-1)
    shifts = forecaster.calibration_.shifts[:, 0]  # scaled units: raw = scaled / scale
    np.testing.assert_allclose(width[0, :, 0, 0], (shifts[:, 2] - shifts[:, 0]) / forecaster.scaler_.scale_[0, 0],
                               rtol=1e-4, atol=1e-4)
    assert (forecaster.calibration_.shifts[:, 0, 2] > 0).any()


@needs_tf
def test_the_calibration_round_trips_save_load_and_the_export(calibrated, tmp_path):
    forecaster, loaded, df = calibrated
    np.testing.assert_array_equal(loaded.calibration_.shifts, forecaster.calibration_.shifts)
    assert loaded.calibration_.levels == QUANTILES
    np.testing.assert_array_equal(loaded.predict(df).to_numpy(), forecaster.predict(df).to_numpy())
    path = forecaster.export(tmp_path / "models", version=1)
    inputs, _ = forecaster.serving_inputs(df)
    served = serving.serve_in_fresh_process(path, inputs)
    expected = forecaster.predict(df)
    np.testing.assert_allclose(served["quantiles"][0, :, 0, 0], expected["y_q0.1"], rtol=1e-5)
    np.testing.assert_allclose(served["quantiles"][0, :, 0, 2], expected["y_q0.9"], rtol=1e-5)


@needs_tf
def test_the_calibrated_model_converts_to_tflite_as_predict(calibrated, tmp_path):
    import tensorflow as tf

    forecaster, _, df = calibrated
    runner = tf.lite.Interpreter(model_path=forecaster.export_tflite(str(tmp_path / "f.tflite"))).get_signature_runner()
    inputs, _ = forecaster.serving_inputs(df)
    served = runner(**{name: value[:1] for name, value in inputs.items()})
    np.testing.assert_allclose(served["quantiles"], forecaster.raw_model_.predict(inputs, verbose=0)["quantiles"][:1],
                               rtol=1e-4, atol=1e-4)


@needs_tf
def test_a_point_forecaster_calibrated_later_gets_ordered_quantiles_around_its_forecast(tmp_path):
    df = noisy(800)
    forecaster = Forecaster("y", lookback=48, horizon=6, units=8, learning_rate=1e-2, seed=1)
    forecaster.fit(df.iloc[:560], epochs=2, verbose=0)
    point = forecaster.predict(df)
    forecaster.calibrate(df, start=df.index[560])
    assert forecaster.layout_.quantiles == POINT_LEVELS and forecaster.calibration_.point
    assert forecaster.calibration_.source == f"calibrate(df, start={df.index[560]!r})"
    frame = forecaster.predict(df)
    np.testing.assert_allclose(frame["y"], point["y"], rtol=1e-6)
    quantiles = frame[[f"y_q{q:g}" for q in POINT_LEVELS]].to_numpy()
    assert (np.diff(quantiles, axis=1) >= 0).all() and (quantiles[:, 0] < quantiles[:, -1]).all()
    table = forecaster.evaluate(df, test=df.index[560])
    assert "coverage 0.1-0.9" in table.columns
    loaded = Forecaster.load(forecaster.save(str(tmp_path / "point")))
    np.testing.assert_array_equal(loaded.predict(df).to_numpy(), frame.to_numpy())


@needs_tf
def test_calibrating_on_the_rows_fitted_on_is_warned_about(calibrated, tmp_path):
    forecaster, _, df = calibrated
    copy = Forecaster.load(forecaster.save(str(tmp_path / "copy")))
    with pytest.warns(UserWarning, match="too narrow"):
        copy.calibrate(df, start=0.5)
    assert copy.calibration_.source == "calibrate(df, start=0.5)"


def drifting(n=1600, jump=1000):
    """`hourly` with noise of std 0.5 before row `jump` and 1.5 from it on."""
    df = hourly(n, seed=3)
    df["y"] += np.random.default_rng(5).normal(0, 1, n) * np.where(np.arange(n) < jump, 0.5, 1.5)
    return df


@needs_tf
def test_the_adaptive_band_follows_a_drift_that_the_conformal_one_misses(tmp_path):
    df = drifting()
    forecaster = Forecaster("y", lookback=48, horizon=6, units=8, quantiles=QUANTILES, calibration="adaptive",
                            learning_rate=1e-2, seed=1).fit(df.iloc[:1000], epochs=3, verbose=0)
    assert forecaster.calibration_.rates.shape == (6, 1, 3) and (forecaster.calibration_.rates[..., 1] == 0).all()
    static = Forecaster.load(forecaster.save(str(tmp_path / "static"))).calibrate(df.iloc[:1000], start=0.25,
                                                                                   method="conformal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adaptive = forecaster.evaluate(df, test=df.index[1000]).loc["tsgate", "coverage 0.1-0.9"]
        conformal = static.evaluate(df, test=df.index[1000]).loc["tsgate", "coverage 0.1-0.9"]
    assert conformal < 0.6 and adaptive > conformal + 0.15


@needs_tf
def test_the_replay_starts_from_the_calibrated_band_and_adapt_keeps_where_it_ends(tmp_path):
    df = drifting(1300)
    forecaster = Forecaster("y", lookback=48, horizon=6, units=8, quantiles=QUANTILES, calibration="adaptive",
                            learning_rate=1e-2, seed=1).fit(df.iloc[:1000], epochs=2, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        replayed = forecaster.historical_forecasts(df, start=df.index[1000])
    first = replayed.xs(replayed.index.get_level_values("origin")[0], level="origin")
    np.testing.assert_allclose(first.to_numpy(), forecaster.predict(df.iloc[:1000]).to_numpy(), rtol=1e-5)
    before = forecaster.calibration_.shifts
    forecaster.adapt(df, start=df.index[1000])
    assert not np.allclose(forecaster.calibration_.shifts, before)
    assert forecaster.calibration_.source == ("the validation windows of fit, adapted to the actuals up to "
                                              "2024-02-24 03:00:00")
    loaded = Forecaster.load(forecaster.save(str(tmp_path / "adapted")))
    np.testing.assert_array_equal(loaded.calibration_.shifts, forecaster.calibration_.shifts)
    np.testing.assert_array_equal(loaded.predict(df).to_numpy(), forecaster.predict(df).to_numpy())
    path = forecaster.export(tmp_path / "models", version=1)
    inputs, _ = forecaster.serving_inputs(df)
    served = serving.serve_in_fresh_process(path, inputs)
    np.testing.assert_allclose(served["quantiles"][0, :, 0, 2], forecaster.predict(df)["y_q0.9"], rtol=1e-5)


@needs_tf
def test_adapt_needs_an_adaptive_calibration(calibrated):
    forecaster, _, df = calibrated
    clear_error(lambda: forecaster.adapt(df), ["calibration='adaptive'", "'conformal'"], every=True)


# ------------------------------------------------------------------ mistakes
@pytest.mark.parametrize("bad", ["split", 1, True])
def test_an_unknown_calibration_is_named(bad):
    clear_error(lambda: Forecaster("y", lookback=24, horizon=6, calibration=bad).fit(hourly(300), verbose=0),
                ["calibration", repr(bad)], every=True)


def test_levels_without_a_central_pair_are_refused_before_fitting():
    clear_error(lambda: Forecaster("y", lookback=24, horizon=6, quantiles=(0.5, 0.9), calibration="conformal")
                .fit(hourly(300), verbose=0), ["central pair", "0.9"], every=True)


@needs_tf
def test_a_head_calibrated_at_other_levels_and_a_frame_too_short_are_named(calibrated):
    forecaster, _, df = calibrated
    before = forecaster.calibration_
    clear_error(lambda: forecaster.calibrate(df, start=0.5, levels=(0.2, 0.5, 0.8)), ["levels", "0.2"], every=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clear_error(lambda: forecaster.calibrate(df.iloc[-60:]), ["Too few windows", "0.1"], every=True)
        clear_error(lambda: forecaster.calibrate(df.iloc[-40:]), ["lookback 48"])
    assert forecaster.calibration_ is before  # a refused calibration changes nothing


@pytest.mark.parametrize("method", ["conformal", "adaptive"])
def test_calibration_across_workers_is_refused(method):
    clear_error(lambda: check_forecaster(Forecaster("y", lookback=24, horizon=6, quantiles=QUANTILES,
                                                    calibration=method)), ["calibration", method, "calibrate"],
                every=True)


# ------------------------------------------------------------------ the plot
@needs_tf
def test_the_calibration_plot_shows_each_level_and_each_steps_coverage(calibrated, tmp_path):
    from tsgate.plotting import plot_calibration

    forecaster, _, df = calibrated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = plot_calibration(forecaster, df, test=0.3, path=tmp_path / "calibration.png")
        table = forecaster.evaluate(df, test=0.3, by="horizon").xs("tsgate", level="model")
    assert (tmp_path / "calibration.png").stat().st_size > 0
    reliability, coverage = fig.axes
    pooled = next(line for line in reliability.lines if line.get_label() == "every step")
    np.testing.assert_allclose(pooled.get_xdata(), QUANTILES)
    np.testing.assert_allclose(pooled.get_ydata(), table[["below 0.1", "below 0.5", "below 0.9"]].mean(), rtol=1e-12)
    by_step = next(line for line in coverage.lines if line.get_label() == "0.1-0.9 interval")
    np.testing.assert_allclose(by_step.get_ydata(), table["coverage 0.1-0.9"])


@needs_tf
def test_the_calibration_plot_of_a_point_forecaster_asks_for_quantiles():
    from tsgate.plotting import plot_calibration

    df = hourly(300)
    forecaster = Forecaster("y", lookback=24, horizon=6, units=4).fit(df, epochs=1, verbose=0)
    clear_error(lambda: plot_calibration(forecaster, df), ["quantiles", "calibrate"], every=True)


# ------------------------------------------------------------- per series
def sites(n=2000):
    """Sites "calm" (noise std 0.1) and "wild" (std 1.5) of `n` rows and
    "short" (noise std 1, 260 rows), one global model's series."""
    rng = np.random.default_rng(5)
    frames = []
    for site, rows, noise in (("calm", n, 0.1), ("wild", n, 1.5), ("short", 260, 1.0)):
        start = "2024-01-01" if site != "short" else "2024-02-25"
        frame = hourly(rows, start=start, seed=len(frames)).assign(site=site)
        frame["y"] += rng.normal(0, noise, rows)
        frames.append(frame)
    return pd.concat(frames)


@pytest.fixture(scope="module")
def by_site():
    df = sites()
    forecaster = Forecaster("y", lookback=48, horizon=6, units=8, quantiles=QUANTILES, series_column="site",
                            calibration="conformal", learning_rate=1e-2, seed=1).fit(df, epochs=2, validation=0.3,
                                                                                   verbose=0)
    return forecaster, df


@needs_tf
def test_each_series_with_enough_windows_gets_its_own_band_and_a_short_one_the_pooled(by_site):
    forecaster, df = by_site
    calibration = forecaster.calibration_
    assert calibration.per_series and calibration.series_shifts.shape == (3, 6, 1, 3)
    row = {sid: calibration.series.index(sid) for sid in ("calm", "wild", "short")}
    np.testing.assert_array_equal(calibration.series_shifts[row["short"]], calibration.shifts)  # 0 windows
    calm, wild = calibration.series_shifts[row["calm"]], calibration.series_shifts[row["wild"]]
    assert (wild[..., 2] - wild[..., 0] > calm[..., 2] - calm[..., 0]).all()  # wild widens more at each step
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the windows calibrated on: covered by construction
        forecasts = forecaster.historical_forecasts(df, start=0.3, actuals=True)  # fit's validation=0.3
    covered = (forecasts["y_q0.1"] <= forecasts["y_actual"]) & (forecasts["y_actual"] <= forecasts["y_q0.9"])
    by = covered.groupby([forecasts.index.get_level_values("site"), forecasts["step"]]).mean()
    assert (by.loc[["calm", "wild"]] >= 0.79).all(), by  # each series at each step, not only pooled


@needs_tf
def test_per_series_shifts_round_trip_save_load_and_the_export_and_a_new_series_gets_the_pooled(by_site, tmp_path):
    forecaster, df = by_site
    loaded = Forecaster.load(forecaster.save(str(tmp_path / "f")))
    np.testing.assert_array_equal(loaded.calibration_.series_shifts, forecaster.calibration_.series_shifts)
    assert loaded.calibration_.series == forecaster.calibration_.series
    np.testing.assert_allclose(loaded.predict(df).to_numpy(), forecaster.predict(df).to_numpy(), rtol=1e-6)
    inputs, index = forecaster.serving_inputs(df)
    served = serving.serve_in_fresh_process(forecaster.export(tmp_path / "models", version=1), inputs)
    expected = forecaster.predict(df)[["y_q0.1", "y_q0.5", "y_q0.9"]].to_numpy()
    np.testing.assert_allclose(served["quantiles"][..., 0, :].reshape(-1, 3), expected, rtol=1e-5)
    calm = df[df["site"] == "calm"]
    new = forecaster.predict(calm.assign(site="new"))
    np.testing.assert_allclose(new["y_q0.5"].to_numpy(), forecaster.predict(calm)["y_q0.5"].to_numpy(), rtol=1e-6)
    pooled_width = new["y_q0.9"] - new["y_q0.1"]
    calm_width = forecaster.predict(calm)["y_q0.9"] - forecaster.predict(calm)["y_q0.1"]
    assert (pooled_width.to_numpy() > calm_width.to_numpy()).all()
    with pytest.raises(Exception, match="series_index"):  # the export refuses a row past the pooled one
        serving.serve_in_fresh_process(tmp_path / "models" / "1", {**inputs, "series_index": inputs["series_index"] + 3})


@needs_tf
def test_an_adaptive_per_series_calibration_tracks_each_series_on_its_own(by_site, tmp_path):
    forecaster, df = by_site
    end = forecaster.fit_end_.min()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # calibrated and adapted on windows fitted on: fine for this check
        adaptive = Forecaster.load(forecaster.save(str(tmp_path / "f"))).calibrate(df, start=0.3, method="adaptive")
        before = adaptive.calibration_
        shifted = df.assign(y=df["y"] + np.where(df["site"] == "wild", 5.0, 0.0) * (df.index > end))
        adaptive.adapt(shifted, start=end)
    after = adaptive.calibration_
    row = {sid: after.series.index(sid) for sid in ("calm", "wild")}
    moved = np.abs(after.series_shifts - before.series_shifts).max(axis=(1, 2, 3))
    assert moved[row["wild"]] > 5 * moved[row["calm"]]  # the drift of "wild" moved its tracker, not calm's
    loaded = Forecaster.load(adaptive.save(str(tmp_path / "adapted")))
    np.testing.assert_array_equal(loaded.calibration_.series_shifts, after.series_shifts)
    np.testing.assert_allclose(loaded.predict(df).to_numpy(), adaptive.predict(df).to_numpy(), rtol=1e-6)
