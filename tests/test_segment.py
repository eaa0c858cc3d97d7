"""The segment-recurrent builder (`tsgate.models.segment`): shapes, channel
independence, normalisation, every cell, serialization and bad options."""

import keras
import numpy as np
import pytest

import tsgate
from tests.helpers import gradients
from tsgate.layout import ModelSpec
from tsgate.models import BUILDERS, SegmentForecast

segment_model = BUILDERS["segment"]
EVERY_INPUT = ModelSpec(lookback=50, horizon=30, n_target=3, n_past=2, n_future=2, n_static=1,
                        quantiles=(0.1, 0.5, 0.9))


def inputs_of(spec, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    return {name: rng.normal(size=(batch, *shape)).astype("float32") for name, shape in spec.input_shapes().items()}


@pytest.mark.parametrize("spec", [ModelSpec(48, 24, 1), ModelSpec(50, 30, 3), EVERY_INPUT])
@pytest.mark.parametrize("options", [{}, {"normalization": "revin", "linear": True, "channel_embedding": False},
                                     {"linear": "residual"}])
def test_output_shape_for_lengths_that_segments_do_not_divide(spec, options):
    model = segment_model(spec, units=8, segment_length=12, **options)
    assert np.asarray(model(inputs_of(spec))).shape == (4, *spec.output_shape())
    stacked = 2 if options.get("linear") == "residual" else 1  # the linear forecast too, in training
    assert np.asarray(model(inputs_of(spec), training=True)).shape == (4 * stacked, *spec.output_shape())


def test_a_residual_linear_path_is_trained_on_its_own_and_the_recurrent_one_on_what_it_leaves():
    spec = ModelSpec(lookback=24, horizon=12, n_target=2)
    model = segment_model(spec, units=8, segment_length=6, linear="residual")
    x = inputs_of(spec)
    layer = model.get_layer("segment_forecast")
    rng = np.random.default_rng(3)
    for weight in layer.linear_map.weights:  # a trained-looking linear path (it starts at zero)
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.1)
    kernel = [i for i, w in enumerate(model.trainable_variables) if w is layer.linear_map.kernel][0]
    # The forecast's gradient never reaches the linear path: it learns from its own forecast only.
    assert not np.any(gradients(model, x["past_target"])[1 + kernel])
    linear, forecast = np.split(np.asarray(model(x, training=True)), 2)  # in training: the linear one first
    last = x["past_target"][:, -1:, :]
    by_hand = np.asarray(layer.linear_map(np.transpose(x["past_target"] - last, (0, 2, 1)))).transpose(0, 2, 1)
    np.testing.assert_allclose(linear, last + by_hand, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(model(x)), forecast, rtol=1e-6)
    assert not np.allclose(forecast, linear, atol=1e-3)  # the recurrent path adds its own
    for weight in layer.project.weights:  # no recurrent contribution: the forecast is the linear one
        weight.assign(np.zeros(weight.shape, "float32"))
    np.testing.assert_allclose(np.asarray(model(x)), linear, rtol=1e-5, atol=1e-6)


def test_each_window_is_forecast_on_its_own():
    # Batch = horizon = channels = 3: the shapes where keras.ops.add broadcasts wrongly.
    spec = ModelSpec(lookback=12, horizon=3, n_target=3, n_past=1, n_static=1, quantiles=(0.1, 0.5, 0.9))
    model = segment_model(spec, units=4, segment_length=4)
    x = inputs_of(spec, batch=3)
    together = np.asarray(model(x))
    alone = np.concatenate([np.asarray(model({k: v[i : i + 1] for k, v in x.items()})) for i in range(3)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("channel_embedding", [True, False])
def test_a_channels_forecast_ignores_the_other_channels(channel_embedding):
    spec = ModelSpec(lookback=24, horizon=12, n_target=3)
    model = segment_model(spec, units=8, segment_length=6, channel_embedding=channel_embedding)
    x = inputs_of(spec)
    changed = {"past_target": x["past_target"].copy()}
    changed["past_target"][:, :, 1:] += np.random.default_rng(1).normal(size=(4, 24, 2)) * 5
    np.testing.assert_allclose(np.asarray(model(changed))[..., 0], np.asarray(model(x))[..., 0], rtol=1e-5, atol=1e-5)
    if not channel_embedding:  # shared weights, nothing channel-specific: swapping channels swaps forecasts
        swapped = {"past_target": x["past_target"][:, :, ::-1]}
        np.testing.assert_allclose(np.asarray(model(swapped)), np.asarray(model(x))[:, :, ::-1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("normalization,scale", [("last", 1.0), ("revin", 3.0)])
def test_normalization_makes_forecasts_follow_the_windows_level(normalization, scale):
    spec = ModelSpec(lookback=24, horizon=12, n_target=2)
    model = segment_model(spec, units=8, segment_length=6, normalization=normalization, linear=True)
    x = inputs_of(spec)["past_target"]
    moved = np.asarray(model({"past_target": scale * x + 100.0}))
    np.testing.assert_allclose(moved, scale * np.asarray(model({"past_target": x})) + 100.0, rtol=1e-4, atol=1e-3)
    unnormalized = segment_model(spec, units=8, segment_length=6, normalization="none")
    shifted, plain = unnormalized({"past_target": x + 100.0}), unnormalized({"past_target": x})
    assert not np.allclose(np.asarray(shifted), np.asarray(plain) + 100.0, atol=1e-2)


def test_normalization_stays_in_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        spec = ModelSpec(lookback=24, horizon=12, n_target=1)
        model = segment_model(spec, units=8, segment_length=6)
        x = inputs_of(spec)
        level = np.float32(1000.37)  # bfloat16 would round it to 1000
        out = np.asarray(model({"past_target": x["past_target"] + level}))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out - level, np.asarray(model(x)), atol=2e-3)


@pytest.mark.parametrize("cell", ["gru", "lstm", "sru", "memory_gru", "keras_lstm"])
def test_every_cell_serves_as_the_core_and_round_trips(cell, tmp_path):
    cell = tsgate.LSTM(6, layer_norm=True) if cell == "keras_lstm" else cell
    model = segment_model(EVERY_INPUT, cell=cell, units=6, segment_length=12, linear=True)
    x = inputs_of(EVERY_INPUT)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
    core = loaded.get_layer("segment_forecast").recurrent
    assert core.return_state and (cell == "gru" or not isinstance(core, tsgate.GRU))


def test_a_template_cell_is_copied_not_trained():
    template = tsgate.GRU(5)
    model = segment_model(ModelSpec(24, 12, 1), cell=template, segment_length=6)
    assert not template.built and not template.return_state
    assert model.get_layer("segment_forecast").recurrent is not template


@pytest.mark.parametrize(
    "options,argument",
    [({"layers": 2}, "layers"), ({"segment_length": 0}, "segment_length"), ({"normalization": "z"}, "normalization"),
     ({"dropout": 1.0}, "dropout"), ({"linear": "yes"}, "linear"), ({"linear": 1}, "linear"), ({"cell": keras.layers.Dense(3)}, "cell"),
     ({"cell": "rnn"}, "cell")],
)
def test_bad_options_are_named(options, argument):
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        segment_model(ModelSpec(24, 12, 1), units=4, **options)


def test_layer_config_round_trip():
    layer = SegmentForecast(12, tsgate.GRU(4, return_state=True), segment_length=6, normalization="revin",
                            linear="residual", cycle=True)
    copy = SegmentForecast.from_config(layer.get_config())
    assert (copy.linear, copy.cycle) == ("residual", True)
    assert copy.get_config()["recurrent"] == layer.get_config()["recurrent"]
    assert (copy.horizon, copy.segment_length, copy.normalization) == (12, 6, "revin")


@pytest.mark.parametrize("normalization", ["last", "revin"])  # "none" leaves the level to the model
@pytest.mark.parametrize("quantiles", [None, (0.1, 0.5, 0.9)])
def test_with_cycle_an_exactly_periodic_window_is_forecast_as_its_continuation(normalization, quantiles):
    """Lookback 30 (not a multiple of the 8-step segment), horizon 20 (more than two cycles): a model whose
    recurrent path outputs zeros forecasts the window's own cycle on, whatever its phase at the end."""
    spec = ModelSpec(lookback=30, horizon=20, n_target=2, quantiles=quantiles)
    model = segment_model(spec, units=4, segment_length=8, normalization=normalization, cycle=True)
    for weight in model.get_layer("segment_forecast").project.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    rng = np.random.default_rng(0)
    profile = rng.normal(size=(3, 8, 2)).astype("float32") * 5 + np.array([10.0, -3.0], "float32")
    steps = np.arange(50) + rng.integers(0, 8, size=(3, 1))  # each window its own phase
    series = np.take_along_axis(profile, (steps % 8)[:, :, None].repeat(2, axis=2), axis=1)
    out = np.asarray(model({"past_target": series[:, :30]}))
    median = out if quantiles is None else out[..., 1]
    np.testing.assert_allclose(median, series[:, 30:], rtol=1e-4, atol=1e-4)
    assert quantiles is None or (np.diff(out, axis=-1) >= 0).all()


def test_a_cycle_needs_a_lookback_of_one_segment():
    with pytest.raises(ValueError, match="argument `cycle`"):
        segment_model(ModelSpec(6, 12, 1), units=4, segment_length=8, cycle=True)
