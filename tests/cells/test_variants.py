"""ConvGRU, SRU, zoneout and layer-normalised GRU against NumPy references."""

import keras
import numpy as np
import pytest

import tsgate
from tests.cells import reference
from tests.helpers import max_diff, randomize, weights_by_name

TOL = 1e-5


CONV_CASES = {
    "2d_same": (tsgate.ConvGRU2D, (6, 5), dict(kernel_size=3, padding="same")),
    "2d_valid_strided": (tsgate.ConvGRU2D, (7, 6), dict(kernel_size=(3, 2), strides=2, reset_after=False)),
    "2d_dilated": (
        tsgate.ConvGRU2D,
        (7, 7),
        dict(kernel_size=3, dilation_rate=2, recurrent_kernel_size=5, recurrent_dilation_rate=2, padding="same"),
    ),
    "1d": (tsgate.ConvGRU1D, (9,), dict(kernel_size=4, padding="same", reset_after=False)),
    "3d": (tsgate.ConvGRU3D, (4, 5, 3), dict(kernel_size=2, recurrent_kernel_size=1)),
}


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_gru_matches_numpy_reference(case, data_format, record_property):
    layer_class, spatial, kwargs = CONV_CASES[case]
    x = np.random.default_rng(0).normal(size=(2, 4, *spatial, 2)).astype("float32")
    layer = layer_class(3, data_format=data_format, return_sequences=True, return_state=True, **kwargs)
    feed = np.moveaxis(x, -1, 2) if data_format == "channels_first" else x
    layer(feed)
    randomize(layer, seed=1)
    w = weights_by_name(layer)
    cell = layer.cell
    expected = reference.conv_gru(
        x.astype("float64"), w["kernel"], w["recurrent_kernel"], w["bias"], cell.reset_after,
        cell.strides, cell.padding, cell.dilation_rate, cell.recurrent_dilation_rate,
    )
    out, state = layer(feed)
    if data_format == "channels_first":
        out, state = np.moveaxis(np.asarray(out), 2, -1), np.moveaxis(np.asarray(state), 1, -1)
    assert out.shape == expected.shape
    assert layer.compute_output_shape(feed.shape)[0] == tuple(np.asarray(layer(feed)[0]).shape)
    diff = max(max_diff(out, expected), max_diff(state, expected[:, -1]))
    record_property("max_abs_diff", diff)
    assert diff <= TOL


@pytest.mark.parametrize("reset_after", [True, False])
def test_conv_gru_output_depends_on_reset_gate_weights(reset_after):
    """A widely copied ConvGRU2D computes r and never uses it: changing only the
    reset-gate blocks of the weights must change the output."""
    layer = tsgate.ConvGRU2D(3, 3, padding="same", reset_after=reset_after)
    x = np.random.default_rng(1).normal(size=(2, 5, 6, 6, 2)).astype("float32")
    layer(x)
    randomize(layer, seed=2)
    before = np.asarray(layer(x))
    kernel, recurrent, bias = layer.get_weights()
    rng = np.random.default_rng(3)
    for weight in (kernel, recurrent):  # block r is the middle third of the last axis
        weight[..., 3:6] = rng.normal(size=weight[..., 3:6].shape)
    layer.set_weights([kernel, recurrent, bias])
    assert max_diff(layer(x), before) > 1e-3


def test_conv_gru_computes_input_convolution_once_for_all_frames():
    """The fused path (one convolution over batch × time) equals the per-step
    cell in keras.layers.RNN."""
    x = np.random.default_rng(4).normal(size=(2, 5, 6, 6, 2)).astype("float32")
    layer = tsgate.ConvGRU2D(3, 3, padding="same", return_sequences=True)
    layer(x)
    randomize(layer, seed=5)
    per_step = keras.layers.RNN(tsgate.ConvGRU2DCell(3, 3, padding="same"), return_sequences=True)
    per_step(x)
    per_step.set_weights(layer.get_weights())
    assert max_diff(layer(x), per_step(x)) <= TOL


def test_conv_gru_masking_stateful_and_initial_state():
    x = np.random.default_rng(6).normal(size=(2, 6, 5, 5, 1)).astype("float32")
    layer = tsgate.ConvGRU2D(2, 3, padding="same", return_state=True)
    layer(x)
    randomize(layer, seed=7)
    mask = np.array([[True] * 6, [True] * 3 + [False] * 3])
    _, masked_state = layer(x, mask=mask)
    _, short_state = layer(x[1:, :3])
    assert max_diff(masked_state[1:], short_state) <= TOL
    _, resumed = layer(x[:, 3:], initial_state=[layer(x[:, :3])[1]])
    assert max_diff(resumed, layer(x)[1]) <= TOL
    stateful = tsgate.ConvGRU2D(2, 3, padding="same", stateful=True)
    stateful(x[:, :1])
    stateful.set_weights(layer.get_weights())
    stateful.reset_state()
    stateful(x[:, :3])
    assert max_diff(stateful(x[:, 3:]), layer(x)[1]) <= TOL


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        (dict(kernel_size=0), "kernel_size"),
        (dict(kernel_size=(3, 3, 3)), "kernel_size"),
        (dict(kernel_size=3, recurrent_kernel_size=2), "recurrent_kernel_size"),
        (dict(kernel_size=3, padding="causal"), "padding"),
        (dict(kernel_size=3, data_format="NHWC"), "data_format"),
        (dict(kernel_size=3, strides=2, dilation_rate=2), "strides"),
        (dict(kernel_size=3, filters=0), "filters"),
    ],
)
def test_conv_gru_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        tsgate.ConvGRU2D(**{"filters": 4, **kwargs})


@pytest.mark.parametrize("argument", ["layer_norm", "norm_epsilon"])
def test_conv_gru_has_no_layer_norm(argument):
    """The ConvGRU cells do not take the dense cells' layer normalisation:
    unknown arguments, refused as Keras refuses any."""
    with pytest.raises(ValueError, match=f"Unrecognized keyword arguments.*{argument}"):
        tsgate.ConvGRU2D(4, 3, **{argument: True if argument == "layer_norm" else 1e-3})
    with pytest.raises(ValueError, match=f"Unrecognized keyword arguments.*{argument}"):
        tsgate.ConvGRU2DCell(4, 3, **{argument: True if argument == "layer_norm" else 1e-3})


def test_conv_gru_wrong_input_rank():
    with pytest.raises(ValueError, match=r"\(batch, timesteps, size, size, channels\).*got shape"):
        tsgate.ConvGRU2D(4, 3)(np.zeros((2, 5, 8, 1), "float32"))


@pytest.mark.parametrize("loop", ["unrolled", "symbolic"])
@pytest.mark.parametrize("features", [8, 5])  # identity skip, projected skip
@pytest.mark.parametrize("cell_connections", [True, False])
@pytest.mark.parametrize("layer_norm", [False, True])
def test_sru_matches_numpy_reference(features, cell_connections, layer_norm, loop, record_property):
    x = np.random.default_rng(8).normal(size=(3, 7, features)).astype("float32")
    layer = tsgate.SRU(
        8,
        cell_connections=cell_connections,
        layer_norm=layer_norm,
        return_sequences=True,
        return_state=True,
        unroll=loop == "unrolled",
    )
    layer(x)
    randomize(layer, seed=9)
    w = weights_by_name(layer)
    assert w["kernel"].shape == (features, (3 if features == 8 else 4) * 8)
    h_seq, c_last = reference.sru(
        x.astype("float64"), w["kernel"], w["bias"], w.get("cell_kernel"), w.get("input_norm_gamma")
    )
    out, c = layer(x)
    diff = max(max_diff(out, h_seq), max_diff(c, c_last))
    record_property("max_abs_diff", diff)
    assert diff <= TOL


@pytest.mark.parametrize("reset_after", [True, False])
def test_layer_norm_gru_matches_numpy_reference(reset_after, record_property):
    x = (np.random.default_rng(10).normal(size=(3, 6, 4)) * 3).astype("float32")
    layer = tsgate.GRU(5, layer_norm=True, reset_after=reset_after, return_sequences=True)
    layer(x)
    randomize(layer, seed=11)
    w = weights_by_name(layer)
    expected = reference.gru(
        x.astype("float64"), w["kernel"], w["recurrent_kernel"], w["bias"], reset_after,
        norm=(w["input_norm_gamma"], w["recurrent_norm_gamma"]),
    )
    diff = max_diff(layer(x), expected)
    record_property("max_abs_diff", diff)
    assert diff <= TOL


ZONEOUT_LAYERS = {
    "gru": lambda **kw: tsgate.GRU(6, **kw),
    "lstm": lambda **kw: tsgate.LSTM(6, **kw),
    "memory_gru": lambda **kw: tsgate.MemoryGRU(6, **kw),
    "sru": lambda **kw: tsgate.SRU(6, **kw),
    "conv_gru": lambda **kw: tsgate.ConvGRU1D(6, 3, padding="same", **kw),
}


def test_zoneout_inference_is_the_expectation():
    x = np.random.default_rng(12).normal(size=(3, 6, 4)).astype("float32")
    layer = tsgate.GRU(5, zoneout=0.3, return_sequences=True)
    layer(x)
    randomize(layer, seed=13)
    expected = reference.gru(x.astype("float64"), *[w.astype("float64") for w in layer.get_weights()], True, zoneout=0.3)
    assert max_diff(layer(x), expected) <= TOL
    np.testing.assert_array_equal(layer(x), layer(x))


@pytest.mark.parametrize("name", ["gru", "lstm", "memory_gru", "conv_gru"])
def test_zoneout_keeps_the_expected_fraction_while_training(name):
    """Units kept at a step repeat the previous output exactly (for MemoryGRU
    through h = tanh(c))."""
    p = 0.3
    layer = ZONEOUT_LAYERS[name](zoneout=p, return_sequences=True, seed=5)
    shape = (64, 12, 4, 1) if name == "conv_gru" else (64, 12, 4)
    x = np.random.default_rng(14).normal(size=shape).astype("float32")
    layer(x)
    randomize(layer, seed=15)
    outputs = np.asarray(layer(x, training=True))
    kept = np.mean(outputs[:, 1:] == outputs[:, :-1])
    # At least 64 × 11 × 6 draws: the standard error of the fraction is below 0.007.
    assert abs(kept - p) < 0.04
    assert not np.array_equal(outputs, np.asarray(layer(x, training=True)))


def test_sru_zoneout_keeps_the_expected_fraction_of_c():
    """Step by step through the cell, which draws its own noise at each step."""
    p = 0.3
    cell = tsgate.SRUCell(6, zoneout=p, seed=2)
    cell.build((None, 4))
    randomize(cell, seed=16)
    x = np.random.default_rng(17).normal(size=(64, 12, 4)).astype("float32")
    c = [np.zeros((64, 6), "float32")]
    for t in range(12):
        _, (new_c,) = cell(x[:, t], [c[-1]], training=True)
        c.append(np.asarray(new_c))
    c = np.stack(c[1:], 1)
    assert abs(np.mean(c[:, 1:] == c[:, :-1]) - p) < 0.04


def test_conv_gru_and_sru_round_trip_through_keras_files(tmp_path):
    frames = keras.Input((4, 3, 6, 6))  # channels-first frames
    grid = tsgate.ConvGRU2D(2, 3, padding="same", data_format="channels_first", zoneout=0.1)(frames)
    series = keras.Input((4, 5))
    encoded = tsgate.SRU(5, layer_norm=True, return_sequences=True)(series)
    encoded = tsgate.SRU(3, cell_connections=False)(encoded)
    out = keras.layers.Concatenate()([keras.layers.Flatten()(grid), encoded])
    model = randomize(keras.Model([frames, series], keras.layers.Dense(1)(out)))
    rng = np.random.default_rng(18)
    inputs = [rng.normal(size=(2, 4, 3, 6, 6)).astype("float32"), rng.normal(size=(2, 4, 5)).astype("float32")]
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded(inputs), model(inputs))
    conv = model.layers[1]
    assert type(conv).from_config(conv.get_config()).get_config() == conv.get_config()
