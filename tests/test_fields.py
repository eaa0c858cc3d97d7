"""tsgate.fields: gridded series in (arrays, xarray-like, long frames), windows
of frames by index, per-channel scaling on training frames, missing pixels out
of the loss, the encoder–forecaster's verbs, metrics by lead time against
persistence and climatology, save/load, the SavedModel and TF Lite, plots,
the moving-digits generator, and bad input named."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, clear_error
from tsgate import datasets
from tsgate.fields import Field, FieldForecaster
from tsgate.fields import metrics

tensorflow_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")
LOOKBACK, HORIZON = 3, 2


def waves(frames=40, size=12, channels=2, seed=0):
    """A field of travelling waves: channel c is sin(x + y/2 − t/3) scaled by 10^c plus noise."""
    rng = np.random.default_rng(seed)
    t, y, x = np.meshgrid(np.arange(frames), np.arange(size), np.arange(size), indexing="ij")
    base = np.sin(0.6 * x + 0.3 * y - t / 3.0)
    values = np.stack([10.0**c * base + rng.normal(0, 0.05, base.shape) for c in range(channels)], axis=-1)
    time = pd.date_range("2024-01-01", periods=frames, freq="h")
    return Field.from_array(values.astype("float32"), time=time, channels=[f"c{c}" for c in range(channels)])


@pytest.fixture(scope="module")
def fitted():
    field = waves()
    forecaster = FieldForecaster(LOOKBACK, HORIZON, filters=(4,), seed=1).fit(field, epochs=2, verbose=0)
    return forecaster, field


# ----------------------------------------------------------------- data
def test_arrays_xarray_like_and_long_frames_make_the_same_grid():
    values = np.arange(3 * 2 * 4, dtype="float32").reshape(3, 2, 4)
    time = pd.date_range("2024-01-01", periods=3, freq="D")
    plain = Field.from_array(values, time=time)
    assert plain.values.shape == (3, 2, 4, 1) and plain.channels == ("value",)

    class DataArray:  # what xarray gives: values, dims, coords
        dims = ("time", "lat", "lon")
        coords = {"time": type("Coord", (), {"values": time.to_numpy()})()}

    DataArray.values = values
    np.testing.assert_array_equal(Field.from_array(DataArray()).time, plain.time)
    rows = [(stamp, r, c, values[t, r, c]) for t, stamp in enumerate(time) for r in range(2) for c in range(4)]
    long = pd.DataFrame(rows, columns=["time", "row", "col", "temp"]).iloc[1:]  # one cell missing
    field = Field.from_frame(long, "row", "col", time_column="time")
    assert field.channels == ("temp",) and np.isnan(field.values[0, 0, 0, 0])
    np.testing.assert_array_equal(field.values[1:], plain.values[1:])


def test_bad_grids_are_named():
    clear_error(lambda: Field.from_array([np.zeros((4, 4)), np.zeros((4, 5))]), ["ragged", "frame 1", "(4, 5)"], every=True)
    clear_error(lambda: Field.from_sequences([np.zeros((5, 4, 4)), np.zeros((5, 4, 3))]),
                ["ragged", "sequence 1", "(4, 3, 1)"], every=True)
    clear_error(lambda: Field.from_array(np.zeros((4, 4))), ["shape (4, 4)", "(time, height, width)"], every=True)
    infinite = np.zeros((3, 2, 2))
    infinite[2, 1, 1] = np.inf
    clear_error(lambda: Field.from_array(infinite), ["Frame 2", "inf"], every=True)
    long = pd.DataFrame({"time": pd.to_datetime(["2024-01-01"] * 2), "row": [0, 0], "col": [1, 1], "v": [1.0, 2.0]})
    clear_error(lambda: Field.from_frame(long, "row", "col", time_column="time"),
                ["(row=0, col=1)", "2 times", "2024-01-01"], every=True)
    clear_error(lambda: Field.from_frame(long, "lat", "col", time_column="time"), ["'lat'", "'row'"], every=True)


@tensorflow_only
def test_nan_frames_need_a_mask_and_a_lookback_needs_the_frames():
    field = waves()
    values = field.values.copy()
    values[[5, 9], 1, 2, 0] = np.nan
    holey = Field.from_array(values, time=field.time)
    clear_error(lambda: FieldForecaster(LOOKBACK, HORIZON, filters=(4,)).fit(holey, epochs=1, verbose=0),
                ["2 frame(s)", "2024-01-01 05:00:00", "missing='mask'"], every=True)
    clear_error(lambda: FieldForecaster(30, 20, filters=(4,)).fit(field, epochs=1, verbose=0),
                ["lookback 30 + horizon 20", "50 frames", "longest has 40"], every=True)


# ------------------------------------------------------------- pipeline
@tensorflow_only
def test_windows_are_frames_by_index_scaled_per_channel_on_training_frames_only(fitted):
    forecaster, field = fitted
    training = field.values[field.clock() < field.cutoff(0.2, "validation")]  # fit's default validation=0.2
    np.testing.assert_allclose(forecaster.scale_, 1 / training.reshape(-1, 2).std(axis=0), rtol=1e-4)
    np.testing.assert_allclose(-forecaster.offset_ / forecaster.scale_, training.reshape(-1, 2).mean(axis=0),
                               atol=1e-5)
    np.testing.assert_allclose(forecaster.climatology_, training.mean(axis=0), atol=1e-5)
    starts = field.window_starts(LOOKBACK, HORIZON)
    inputs, labels = next(iter(forecaster._dataset(field, starts, len(starts), False, forecaster.scale_,
                                                   forecaster.offset_)))
    frames = field.values[starts[:, None] + np.arange(LOOKBACK + HORIZON)] * forecaster.scale_ + forecaster.offset_
    np.testing.assert_allclose(inputs["frames"], frames[:, :LOOKBACK], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(labels, frames[:, LOOKBACK:], rtol=1e-5, atol=1e-5)


@tensorflow_only
def test_windows_never_span_two_sequences_and_missing_pixels_leave_the_loss():
    sequences = np.random.default_rng(0).normal(size=(3, 6, 8, 8)).astype("float32")
    sequences[1, [2, 4], 2, 3] = np.nan  # frames 8 (an input of windows 6 and 7) and 10 (a target of both)
    field = Field.from_sequences(sequences)
    starts = field.window_starts(LOOKBACK, HORIZON)
    np.testing.assert_array_equal(starts, [0, 1, 6, 7, 12, 13])  # 2 windows of 5 frames in each sequence of 6
    forecaster = FieldForecaster(LOOKBACK, HORIZON, filters=(4,), missing="mask").fit(
        field, validation=12, epochs=1, verbose=0)
    inputs, labels = next(iter(forecaster._dataset(field, starts, len(starts), False, forecaster.scale_,
                                                   forecaster.offset_)))
    assert np.isfinite(inputs["frames"]).all()
    assert inputs["frames"][2, 2, 2, 3, 0] == inputs["frames"][3, 1, 2, 3, 0] == 0  # the channel's mean, scaled
    assert np.isnan(labels[2, 1, 2, 3, 0]) and np.isnan(labels[3, 0, 2, 3, 0]) and np.isnan(labels).sum() == 2
    assert np.isfinite(forecaster.history_.history["loss"]).all()
    forecast = forecaster.predict(field)
    for k, (start, stop) in enumerate(zip(field.offsets[:-1], field.offsets[1:])):  # each sequence on its own
        alone = Field.from_array(np.nan_to_num(field.values[start:stop], nan=float(forecaster._mean()[0])))
        np.testing.assert_allclose(forecast[k], forecaster.predict(alone)[0], rtol=1e-5, atol=1e-6)


@tensorflow_only
def test_historical_windows_read_their_inputs_and_score_their_targets(fitted):
    forecaster, field = fitted
    before = forecaster.historical_forecasts(field, start=0.5)
    values = field.values.copy()
    values[-HORIZON:] += 100.0  # the last window's targets
    after = forecaster.historical_forecasts(Field.from_array(values, time=field.time), start=0.5)
    np.testing.assert_array_equal(after.forecasts[-1], before.forecasts[-1])
    np.testing.assert_array_equal(after.actuals[-1], before.actuals[-1] + 100.0)


@tensorflow_only
def test_predict_forecasts_after_each_sequence_and_refuses_another_grid(fitted):
    forecaster, field = fitted
    forecast = forecaster.predict(field)
    assert forecast.shape == (1, HORIZON, 12, 12, 2)
    last = forecaster.historical_forecasts(field, start=len(field) - HORIZON)
    np.testing.assert_allclose(last.forecasts[-1], forecaster.predict(field.values[:-HORIZON])[0], rtol=1e-6)
    clear_error(lambda: forecaster.predict(field.values[:, :10]), ["(10, 12, 2)", "(12, 12, 2)"], every=True)


@tensorflow_only
def test_evaluate_scores_by_lead_against_persistence_and_climatology(fitted):
    forecaster, field = fitted
    table = forecaster.evaluate(field, test=0.3, thresholds=(0.5,))
    assert list(table.index.names) == ["lead", "model"]
    assert set(table.index.get_level_values("model")) == {"tsgate", "persistence", "climatology"}
    assert list(table.columns) == ["MSE", "MAE", "SSIM", "CSI@0.5", "HSS@0.5"]
    scored = forecaster.historical_forecasts(field, start=0.3)
    for lead in range(1, HORIZON + 1):
        persistence = ((scored.inputs[:, -1] - scored.actuals[:, lead - 1]) ** 2).mean()
        assert table.loc[(lead, "persistence"), "MSE"] == pytest.approx(persistence, rel=1e-6)
        climatology = ((forecaster.climatology_ - scored.actuals[:, lead - 1]) ** 2).mean()
        assert table.loc[(lead, "climatology"), "MSE"] == pytest.approx(climatology, rel=1e-6)


def test_metrics_against_hand_worked_values():
    rng = np.random.default_rng(3)
    actual = rng.uniform(0, 1, (4, 2, 9, 9, 1))
    assert metrics.scores(actual, actual, [1.0])["SSIM"] == pytest.approx([1.0, 1.0])
    flat_a, flat_f = np.full((1, 1, 9, 9, 1), 300.4), np.full((1, 1, 9, 9, 1), 300.2)  # no variance: luminance only
    c1 = (0.01 * 2.0) ** 2
    assert metrics.scores(flat_a, flat_f, [2.0])["SSIM"][0] == pytest.approx(
        (2 * 300.4 * 300.2 + c1) / (300.4**2 + 300.2**2 + c1), rel=1e-9)  # float64: large values stay exact
    assert metrics.scores(actual, 1 - actual, [1.0])["SSIM"].max() < 0  # the pattern reversed
    # events "≥ 0.5" in 8 pixels: 2 hits, 1 false alarm, 1 miss, 4 correct negatives
    a = np.array([0.9, 0.8, 0.1, 0.7, 0.2, 0.3, 0.1, 0.0]).reshape(1, 1, 2, 4, 1)
    f = np.array([0.6, 0.9, 0.7, 0.2, 0.1, 0.0, 0.4, 0.3]).reshape(1, 1, 2, 4, 1)
    table = metrics.scores(a, f, [1.0], thresholds=(0.5,))
    assert table["CSI@0.5"][0] == pytest.approx(2 / 4) and table["HSS@0.5"][0] == pytest.approx(14 / 30)
    assert metrics.scores(a, a, [1.0], thresholds=(0.5,))["HSS@0.5"][0] == pytest.approx(1.0)
    assert metrics.scores(a, np.zeros_like(a), [1.0], thresholds=(0.5,))["HSS@0.5"][0] == 0
    forecast = actual + rng.normal(0, 0.2, actual.shape)
    actual[0, 1, 3, 3, 0] = np.nan  # a missing actual: out of MSE; its frame out of SSIM
    errors = np.where(np.isnan(actual), 0, forecast - np.nan_to_num(actual)) ** 2
    assert metrics.scores(actual, forecast, [1.0])["MSE"][1] == pytest.approx(errors[:, 1].sum() / (4 * 81 - 1))
    actual[:, 1] = np.nan  # a lead with no actual: NaN, not a perfect 0
    assert np.isnan(metrics.scores(actual, forecast, [1.0])["MSE"][1])


@tensorflow_only
def test_the_masked_loss_of_fields_is_the_mean_over_observed_pixels():
    from tsgate.training import MaskedLoss

    rng = np.random.default_rng(5)
    y_true, y_pred = rng.normal(size=(3, 2, 5, 6, 2)), rng.normal(size=(3, 2, 5, 6, 2))
    y_true[rng.uniform(size=y_true.shape) < 0.3] = np.nan
    expected = np.nanmean((y_pred - y_true) ** 2)
    assert float(MaskedLoss("mse")(y_true.astype("float32"), y_pred.astype("float32"))) == \
        pytest.approx(expected, rel=1e-5)


# --------------------------------------------------------- save, export
@tensorflow_only
def test_save_load_savedmodel_and_tflite_forecast_as_predict(fitted, tmp_path):
    import tensorflow as tf

    from tsgate import serving

    forecaster, field = fitted
    expected = forecaster.predict(field)
    loaded = FieldForecaster.load(forecaster.save(str(tmp_path / "saved")))
    np.testing.assert_array_equal(loaded.predict(field), expected)
    assert loaded.get_params() == forecaster.get_params() and loaded.channels_ == ("c0", "c1")
    frames = field.values[None, -LOOKBACK:]
    served = serving.serve_in_fresh_process(forecaster.export(str(tmp_path / "models"), version=1), {"frames": frames})
    np.testing.assert_allclose(served["forecast"], expected, rtol=1e-4, atol=1e-4)
    runner = tf.lite.Interpreter(model_path=forecaster.export_tflite(str(tmp_path / "f.tflite"))).get_signature_runner()
    np.testing.assert_allclose(runner(frames=frames)["forecast"], expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(FileNotFoundError, match="field_forecaster.json does not exist"):
        FieldForecaster.load(str(tmp_path / "nothing"))


@tensorflow_only
def test_plots_draw_frames_and_leads(fitted, tmp_path):
    from tsgate.fields.plotting import plot_frames, plot_leads

    forecaster, field = fitted
    fig = plot_frames(forecaster.historical_forecasts(field, start=0.3), channel=1, path=tmp_path / "frames.png")
    assert (tmp_path / "frames.png").stat().st_size > 0 and len(fig.axes[0].images) == 1
    fig = plot_leads(forecaster.evaluate(field, test=0.3), "MAE", path=tmp_path / "leads.png")
    assert [line.get_label() for line in fig.axes[0].lines] == ["tsgate", "persistence", "climatology"]
    clear_error(lambda: plot_leads(forecaster.evaluate(field, test=0.3), "CRPS"), ["metric", "'MSE'"], every=True)


# ------------------------------------------------------------- datasets
def test_moving_digits_are_seeded_bounded_and_differ_between_seeds():
    one, again = datasets.moving_digits(6, frames=5, size=32, seed=4), datasets.moving_digits(6, frames=5, size=32, seed=4)
    other = datasets.moving_digits(6, frames=5, size=32, seed=5)
    assert one.values.shape == (30, 32, 32, 1) and list(one.offsets) == [0, 5, 10, 15, 20, 25, 30]
    np.testing.assert_array_equal(one.values, again.values)
    assert not np.array_equal(one.values, other.values)
    assert one.values.min() == 0 and 0.9 < one.values.max() <= 1
    moved = np.abs(np.diff(one.values[:5], axis=0)).sum(axis=(1, 2, 3))
    assert (moved > 0).all()  # the digits move every frame


@tensorflow_only
def test_a_residual_model_adds_its_change_to_the_last_frame_and_reloads(tmp_path):
    field = waves(frames=24)
    forecaster = FieldForecaster(LOOKBACK, HORIZON, filters=(4,), residual=True).fit(field, epochs=1, verbose=0)
    out = forecaster.model_.get_layer("frames_out")
    out.set_weights([np.zeros_like(w) for w in out.get_weights()])  # no change: persistence exactly
    forecast = forecaster.predict(field)
    np.testing.assert_allclose(forecast[0], np.repeat(field.values[None, -1], HORIZON, axis=0), rtol=1e-5, atol=1e-5)
    loaded = FieldForecaster.load(forecaster.save(str(tmp_path / "residual")))
    assert loaded.residual and np.array_equal(loaded.predict(field), forecast)


@tensorflow_only
def test_bfloat16_training_forecasts_in_float32_raw_units():
    field = waves(frames=24)
    forecaster = FieldForecaster(LOOKBACK, HORIZON, filters=(4,), dtype_policy="mixed_bfloat16")
    forecaster.fit(field, epochs=1, verbose=0)
    assert forecaster.model_.get_layer("encoder_0").compute_dtype == "bfloat16"
    forecast = forecaster.predict(field)
    assert forecast.dtype == np.float32 and np.isfinite(forecast).all()
    clear_error(lambda: FieldForecaster(LOOKBACK, HORIZON, missing="drop").fit(field, epochs=1, verbose=0),
                ["missing", "'drop'"], every=True)


def test_cut_offs_read_numbers_and_times_in_the_clocks_terms():
    field = Field.from_array(np.zeros((10, 2, 2)), time=pd.date_range("2024-01-01", periods=10, tz="Europe/Berlin"))
    assert field.cutoff(np.float32(0.2), "validation") == field.time[8]  # any real number in (0, 1): a fraction
    assert field.cutoff(np.int64(3), "validation") == field.time[3]
    assert field.cutoff(pd.Timestamp("2024-01-04", tz="UTC"), "test") == np.datetime64("2024-01-04")
    for bad in (1.0, 0.0, 1.5, True, "soon", 10):
        clear_error(lambda: field.cutoff(bad, "validation"), ["validation"], every=True)
    dst = Field.from_array(np.zeros((5, 2, 2)), time=pd.date_range("2024-10-27", periods=5, freq="h",
                                                                     tz="Europe/Berlin"))
    assert (np.diff(dst.time) == np.timedelta64(1, "h")).all()  # naive UTC: the repeated wall hour is no step back


def test_frames_in_the_wrong_shape_or_order_are_named():
    class DataArray:
        dims, values = ("step", "y", "x"), np.zeros((3, 2, 2))
        coords = {"step": type("Coord", (), {"values": np.array([0, 6, 12])})()}

    clear_error(lambda: Field.from_array(DataArray()), ["'step'", "int64", "time="], every=True)
    times = [pd.date_range("2024-02-01", periods=4), pd.date_range("2024-01-01", periods=4)]
    clear_error(lambda: Field.from_sequences(np.zeros((2, 4, 3, 3)), times=times), ["Sequence 1", "time order"],
                every=True)
    long = pd.DataFrame({"row": [0, 1], "col": [0, 0], "v": [1.0, 2.0]})
    clear_error(lambda: Field.from_frame(long, "row", "col"), ["DatetimeIndex", "time_column"], every=True)
    clear_error(lambda: Field.from_frame(long, "row", "row"), ["'row'", "two position columns"], every=True)
    text = long.assign(time=pd.Timestamp("2024-01-01"), v=["a", "b"])
    clear_error(lambda: Field.from_frame(text, "row", "col", values="v", time_column="time"), ["'v'"], every=True)


@tensorflow_only
def test_a_fitted_forecaster_names_swapped_channels_bad_options_and_saves_numpy_numbers(fitted, tmp_path):
    forecaster, field = fitted
    swapped = Field.from_array(field.values[..., ::-1], time=field.time, channels=["c1", "c0"])
    clear_error(lambda: forecaster.predict(swapped), ["['c1', 'c0']", "['c0', 'c1']"], every=True)
    clear_error(lambda: forecaster.evaluate(field, thresholds=0.5), ["thresholds"], every=True)
    clear_error(lambda: forecaster.evaluate(field, test=1000), ["test"], every=True)
    clear_error(lambda: FieldForecaster(LOOKBACK, HORIZON, cell_options={"padding": "valid"}).fit(field, epochs=1),
                ["'padding'", "cell_options"], every=True)
    numpy_args = FieldForecaster(np.int64(LOOKBACK), np.int64(HORIZON), filters=(np.int64(2),))
    numpy_args.fit(field, epochs=1, verbose=0)
    assert FieldForecaster.load(numpy_args.save(str(tmp_path / "numpy"))).lookback == LOOKBACK


@tensorflow_only
def test_an_array_is_read_in_the_fitted_channels_order(fitted):
    forecaster, field = fitted
    np.testing.assert_array_equal(forecaster.predict(field.values), forecaster.predict(field))


def test_the_air_temperature_field_holds_one_frame_a_year_in_kelvin():
    """The bundled netCDF read with h5py (the `fields` extra): 240 annual
    means on the 37x49 grid, 1860 to 2099, in time order."""
    field = datasets.load_air_temperature()
    assert field.values.shape == (240, 37, 49, 1) and field.channels == ("air_temperature",)
    years = pd.DatetimeIndex(field.time).year
    assert years[0] == 1860 and years[-1] == 2099 and (np.diff(years) == 1).all()
    assert 250 < field.values.min() < field.values.max() < 310  # kelvin, never a fill value
