"""tsgate.training and fit's Keras options: the user's callbacks, verbose
"auto" (one line per epoch off a terminal), the fit options kept and saved;
the masked loss (missing targets out of the loss and of the epoch's loss);
the dtype policy (mixed_bfloat16: bfloat16 compute, float32 weights, built
and loaded under the policy without changing the global one, float32 raw
units in the export)."""

import io
import json
import os
import threading

import keras
import numpy as np
import pandas as pd
import pytest

from tests.helpers import BACKEND, hourly, two_series
from tsgate import Forecaster, serving, training
from tsgate.models import PinballLoss
from tsgate.scaling import Affine
from tsgate.training import MaskedLoss, compile_masked, resolve_verbose

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the pipeline feeds Keras through tf.data")


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, sorted(logs)))


def test_callbacks_run_with_tsgates_and_fit_options_are_kept(tmp_path):
    recorder = Recorder()
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4)
    forecaster.fit(hourly(120), validation=0.25, epochs=2, batch_size=16, patience=4, verbose=0,
                   callbacks=[recorder, keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))])
    assert recorder.epochs == [(0, ["loss", "val_loss"]), (1, ["loss", "val_loss"])]
    assert (tmp_path / "log.csv").read_text().count("\n") == 3  # a header and one row per epoch
    options = {"validation": 0.25, "epochs": 2, "batch_size": 16, "patience": 4, "steps_per_epoch": None}
    assert forecaster.fit_options_ == options
    assert Forecaster.load(forecaster.save(tmp_path / "f")).fit_options_ == options
    timed = Forecaster("y", lookback=12, horizon=3, units=4).fit(hourly(120), validation="2024-01-05", epochs=1,
                                                                 verbose=0)
    assert timed.fit_options_["validation"] == "2024-01-05"


@pytest.mark.parametrize("steps_per_epoch,steps", [(None, 5), (2, 2), (12, 12), ("auto", 32)])
def test_steps_per_epoch_sets_the_batches_of_an_epoch_and_the_schedule(steps_per_epoch, steps):
    """None: an epoch is one pass (76 training windows, batches of 16: 5
    steps); else that many batches, fewer than a pass or more (the windows
    repeated); "auto": one pass, but at least 32 steps. The cosine schedule
    reaches 0 at the last step either way."""
    recorder = Recorder()
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, schedule="cosine")
    forecaster.fit(hourly(120), validation=0.25, epochs=3, batch_size=16, patience=5, verbose=0,
                   steps_per_epoch=steps_per_epoch, callbacks=[recorder])
    assert forecaster.windows_["train"] == 76 and len(recorder.epochs) == 3
    assert int(forecaster.model_.optimizer.iterations) == 3 * steps
    assert float(forecaster.model_.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-7)
    assert forecaster.fit_options_["steps_per_epoch"] == steps_per_epoch


def test_an_auto_epoch_is_one_pass_held_within_32_and_128_batches():
    assert training.epoch_steps("auto", 7825, 64) == 123  # ETTh1's training windows at lookback 720, H 96
    assert training.epoch_steps("auto", 31585, 64) == 128  # ETTm1's: early stopping looks every 128 steps
    assert training.epoch_steps("auto", 385, 64) == 32  # a weekly series: 7 batches a pass, 32 steps an epoch
    assert training.epoch_steps(None, 385, 64) is None and training.epoch_steps(7, 385, 64) == 7


@pytest.mark.parametrize("callbacks", [keras.callbacks.History(), [print], "tensorboard"])
def test_callbacks_that_are_not_a_list_of_keras_callbacks_are_named(callbacks):
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4)
    with pytest.raises(ValueError, match="argument `callbacks`, expected None or a list of keras.callbacks.Callback"):
        forecaster.fit(hourly(120), epochs=1, verbose=0, callbacks=callbacks)
    assert not hasattr(forecaster, "model_")


def test_verbose_auto_is_one_line_per_epoch_off_a_terminal(monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", Terminal())
    assert resolve_verbose("auto") == 1
    monkeypatch.undo()
    assert resolve_verbose("auto") == 2 and resolve_verbose(0) == 0  # pytest captures stdout: not a terminal
    Forecaster("y", lookback=12, horizon=3, units=4).fit(hourly(120), epochs=2, patience=4)
    out = capsys.readouterr().out
    assert out.count("val_loss") == 2 and "━" not in out and "\r" not in out  # no progress bar


def test_an_outage_in_the_validation_period_does_not_make_the_validation_loss_look_better(monkeypatch):
    """With missing targets (`fill`), `val_loss` (what EarlyStopping and the
    checkpoints pick the best epoch by) is the mean over the observed
    validation targets, not Keras' mean of batch losses by batch size, in
    which the batches of the outage would count as 0."""
    datasets, train = [], training.train

    def recording_train(model, train_data, validation, *args):
        datasets.append(validation)
        return train(model, train_data, validation, *args)

    monkeypatch.setattr(training, "train", recording_train)
    df = hourly(200)
    df.iloc[165:185, 0] = np.nan  # in the validation period (the last 50 rows)
    forecaster = Forecaster("y", lookback=12, horizon=3, units=4, fill="ffill")
    forecaster.fit(df, validation=0.25, epochs=1, batch_size=8, verbose=0)
    squares, batch_means, sizes = [], [], []
    for inputs, labels in datasets[0]:
        error = (labels.numpy() - np.asarray(forecaster.model_(inputs, training=False))) ** 2
        observed = error[np.isfinite(error)]
        squares.append(observed)
        batch_means.append(observed.mean() if observed.size else 0.0)
        sizes.append(len(labels))
    expected = np.concatenate(squares).mean()
    assert any(size == 0 for size in map(len, squares))  # a batch of the outage has no observed target
    assert not np.isclose(np.average(batch_means, weights=sizes), expected, rtol=0.05)
    np.testing.assert_allclose(forecaster.history_.history["val_loss"], [expected], rtol=1e-5)



@pytest.mark.parametrize("loss,quantiles", [("mse", None), ("huber", None), (PinballLoss([0.1, 0.5, 0.9]), 3)])
def test_the_masked_loss_ignores_missing_targets_and_equals_the_loss_without_them(loss, quantiles):
    rng = np.random.default_rng(0)
    y_pred = rng.normal(size=(4, 3, 2) + ((quantiles,) if quantiles else ())).astype("float32")
    y_true = rng.normal(size=(4, 3, 2)).astype("float32")
    masked = MaskedLoss(loss)
    plain = keras.losses.get(loss) if isinstance(loss, str) else loss
    np.testing.assert_allclose(float(masked(y_true, y_pred)), float(keras.ops.mean(plain(y_true, y_pred))), rtol=1e-6)

    import tensorflow as tf

    def value_and_gradient(targets):
        prediction = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            value = masked(targets, prediction)
        return float(value), tape.gradient(value, prediction).numpy()

    missing = y_true.copy()
    missing[1, 2, 0] = np.nan
    other = missing.copy()
    other[1, 2, 0] = 1e3  # any value in its place: the loss must not see it
    value, gradient = value_and_gradient(missing)
    assert np.isfinite(value) and np.isfinite(gradient).all() and not gradient[1, 2, 0].any()
    observed = np.delete(np.arange(24), 1 * 6 + 2 * 2)  # the mean over the 23 observed values
    flat_true, flat_pred = y_true.reshape(24, 1, 1), y_pred.reshape(24, 1, 1, *y_pred.shape[3:])
    expected = float(keras.ops.mean(plain(flat_true[observed], flat_pred[observed])))
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert value_and_gradient(other)[0] != value


def test_a_missing_target_trains_the_same_whatever_it_is_filled_with():
    # Series a ends in the training part: its last value is only ever a target.
    df = pd.concat([hourly(150, seed=1).assign(site="a"), hourly(300, seed=2).assign(site="b")])
    df.loc[(df.site == "a") & (df.index == df[df.site == "a"].index[-1]), "y"] = np.nan
    fits = [Forecaster("y", lookback=12, horizon=3, units=4, series_column="site", fill=fill)
            .fit(df, epochs=2, verbose=0) for fill in ("zero", "ffill")]
    for zero, ffill in zip(*(f.model_.get_weights() for f in fits)):
        np.testing.assert_array_equal(zero, ffill)
    np.testing.assert_array_equal(fits[0].scaler_.offset_, fits[1].scaler_.offset_)  # scaled on observed values


def _fixed_forecast_model(shape, loss, seed=0):
    """A model whose forecast is the same random array for every window,
    compiled to stay so (SGD at learning rate 0), and that forecast."""
    inputs = keras.Input((1,))
    dense = keras.layers.Dense(int(np.prod(shape)))
    model = keras.Model(inputs, keras.layers.Reshape(shape)(dense(inputs)))
    forecast = np.random.default_rng(seed).normal(size=shape).astype("float32")
    dense.set_weights([np.zeros((1, forecast.size), "float32"), forecast.ravel()])
    compile_masked(model, keras.optimizers.SGD(0.0), loss)
    return model, forecast


def _dataset(x, labels, batch_size):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, labels)).batch(batch_size)


@pytest.mark.parametrize("loss,quantiles", [("mse", None), ("mae", None), (PinballLoss([0.1, 0.5, 0.9]), 3)])
def test_the_epoch_loss_is_the_mean_over_every_observed_target_of_the_epoch(loss, quantiles):
    from tsgate.training import train

    horizon, n_target, quantile_axis = 3, 2, ((quantiles,) if quantiles else ())
    model, forecast = _fixed_forecast_model((horizon, n_target) + quantile_axis, loss)
    labels = np.random.default_rng(1).normal(size=(10, horizon, n_target)).astype("float32")
    labels[:4] = np.nan  # batches of 4: the first has 1 observed value, the second 24, the last (2 windows) none
    labels[2, 1, 0] = 0.5
    labels[8:] = np.nan
    error = labels[..., None] - (forecast if quantiles else forecast[..., None])
    if quantiles:
        q = np.asarray(loss.quantiles)
        values = np.maximum(q * error, (q - 1) * error).mean(-1)
    else:
        values = error[..., 0] ** 2 if loss == "mse" else np.abs(error[..., 0])
    expected = np.nanmean(values)  # over the 25 observed values
    batch_means = [np.nansum(values[i:i + 4]) / max(np.isfinite(values[i:i + 4]).sum(), 1) for i in (0, 4, 8)]
    keras_mean = np.average(batch_means, weights=[4, 4, 2])  # Keras' mean of batch losses: by batch size
    assert not np.isclose(keras_mean, expected, rtol=0.05)
    x = np.zeros((10, 1), "float32")
    history, _ = train(model, _dataset(x, labels, 4), _dataset(x, labels, 4), epochs=1, patience=1, verbose=0)
    assert sorted(history.history) == ["loss", "val_loss"]
    np.testing.assert_allclose(history.history["loss"], [expected], rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], [expected], rtol=1e-5)
    # An outage (a validation without any observed target in its last batch) no longer pulls the value to 0.
    outage = labels.copy()
    outage[4:8] = np.nan
    history, _ = train(model, _dataset(x, labels, 4), _dataset(x, outage, 4), epochs=1, patience=1, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"], [np.nanmean(np.where(np.isnan(outage), np.nan, values))],
                               rtol=1e-5)


@pytest.mark.parametrize("missing", [False, True])
def test_training_is_keras_own_and_without_missing_targets_so_is_the_loss(missing):
    """The weights train as with a plain Keras fit (the gradients are the
    batch means over observed targets); without missing targets the History
    is Keras' own, bit for bit."""
    from tsgate.training import train

    rng = np.random.default_rng(2)
    x = rng.normal(size=(22, 4)).astype("float32")
    labels = rng.normal(size=(22, 3, 2)).astype("float32")
    if missing:
        labels[3:9, 1] = np.nan
        labels[16:] = np.nan

    def fit(ours):
        keras.utils.set_random_seed(3)
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Reshape((3, 2))(keras.layers.Dense(6)(inputs)))
        data = _dataset(x, labels, 8), _dataset(x[::-1].copy(), labels[::-1].copy(), 8)
        if ours:
            compile_masked(model, keras.optimizers.Adam(0.05), "mse")
            history, _ = train(model, *data, epochs=3, patience=5, verbose=0)
        else:
            model.compile(optimizer=keras.optimizers.Adam(0.05), loss=MaskedLoss("mse"))
            stopping = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
            history = model.fit(data[0], validation_data=data[1], epochs=3, callbacks=[stopping], verbose=0,
                                shuffle=False)
        return history.history, model.get_weights()

    (history, weights), (keras_history, keras_weights) = fit(True), fit(False)
    for ours, theirs in zip(weights, keras_weights):
        np.testing.assert_array_equal(ours, theirs)
    if missing:
        assert not np.allclose(history["val_loss"], keras_history["val_loss"], rtol=1e-3)
    else:
        assert history == keras_history


def _policies(model):
    """{layer name: dtype policy name} of every layer, nested ones included."""
    return {layer.name: layer.dtype_policy.name for layer in model._flatten_layers(include_self=False)}


def _policy_counts(model):
    """The sorted (layer class, dtype policy) pairs of every layer (names are numbered per process)."""
    return sorted((type(layer).__name__, layer.dtype_policy.name) for layer in model._flatten_layers(include_self=False))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A bf16 segment forecaster (level ~1000: bfloat16 alone would lose its
    decimals), saved and reloaded; and its frame."""
    df = hourly(500, level=1000.0)
    forecaster = Forecaster("y", lookback=48, horizon=12, units=16, builder="segment", past_covariates=["x"],
                            builder_options={"segment_length": 12}, learning_rate=1e-2,
                            dtype_policy="mixed_bfloat16")
    forecaster.fit(df, epochs=2, verbose=0)
    path = forecaster.save(str(tmp_path_factory.mktemp("bf16") / "f"))
    return forecaster, Forecaster.load(path), path, df


def test_the_model_computes_in_bfloat16_and_the_global_policy_is_left_alone(fitted):
    forecaster, _, _, _ = fitted
    assert keras.config.dtype_policy().name == "float32"
    policies = _policies(forecaster.model_)
    assert policies["segment_embedding"] == "mixed_bfloat16" and policies["segment_projection"] == "mixed_bfloat16"
    assert all(w.dtype == "float32" for w in forecaster.model_.weights)  # float32 master weights
    raw = forecaster.raw_model_
    assert [layer.dtype_policy.name for layer in raw.layers if isinstance(layer, Affine)] == ["float32"] * 3
    assert all(o.dtype == "float32" for o in raw.outputs)


def test_the_option_round_trips_save_and_load(fitted):
    forecaster, loaded, path, df = fitted
    assert loaded.dtype_policy == "mixed_bfloat16"
    with open(os.path.join(path, "forecaster.json")) as f:
        assert json.load(f)["config"]["dtype_policy"] == "mixed_bfloat16"
    # loaded under the saved policy: the sublayers SegmentForecast makes in __init__ are bf16 again
    assert _policy_counts(loaded.model_) == _policy_counts(forecaster.model_)
    assert _policies(loaded.model_)["segment_embedding"] == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    ours, theirs = forecaster.predict(df), loaded.predict(df)
    np.testing.assert_array_equal(theirs.to_numpy(), ours.to_numpy())
    assert np.all(np.abs(ours["y"].to_numpy() - 1000) < 20)  # raw units, level kept in float32


def test_plain_keras_load_model_restores_the_policy_of_every_layer(fitted):
    forecaster, _, path, df = fitted
    model = keras.saving.load_model(os.path.join(path, "model.keras"))  # under the global float32 policy
    computing = lambda m: [pair for pair in _policy_counts(m) if pair[0] != "InputLayer"]  # noqa: E731
    assert computing(model) == computing(forecaster.model_)
    rng = np.random.default_rng(0)
    batch = {name: rng.normal(size=(4, *i.shape[1:])).astype("float32") for name, i in forecaster.model_.input.items()}
    np.testing.assert_array_equal(model.predict(batch, verbose=0), forecaster.model_.predict(batch, verbose=0))


def test_the_bf16_export_serves_float32_raw_units(fitted, tmp_path):
    forecaster, _, _, df = fitted
    path = forecaster.export(tmp_path / "models", version=1)
    inputs, _ = forecaster.serving_inputs(df)
    served = serving.serve_in_fresh_process(path, inputs)
    assert served["forecast"].dtype == np.float32
    np.testing.assert_allclose(served["forecast"][:, :, 0].ravel(), forecaster.predict(df)["y"], rtol=1e-4)


def test_bf16_forecasts_are_close_to_float32_ones():
    """The same fit in both policies: bfloat16 inside the model changes the
    forecast by a small fraction of the series' spread, not its level."""
    df = two_series()
    kwargs = dict(lookback=24, horizon=6, units=8, series_column="site", learning_rate=1e-2, seed=3)
    forecasts = [Forecaster("y", dtype_policy=policy, **kwargs).fit(df, epochs=2, verbose=0).predict(df)["y"]
                 for policy in ("float32", "mixed_bfloat16")]
    np.testing.assert_allclose(forecasts[1], forecasts[0], atol=0.5)  # the series swing by ±3


def test_a_caller_policy_is_restored_even_when_the_build_fails():
    from tsgate.training import with_dtype_policy

    keras.config.set_dtype_policy("mixed_float16")
    try:
        with pytest.raises(RuntimeError, match="boom"):
            with_dtype_policy("mixed_bfloat16", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
        assert keras.config.dtype_policy().name == "mixed_float16"
        seen = []
        with_dtype_policy("mixed_bfloat16", lambda: seen.append(keras.config.dtype_policy().name))
        assert seen == ["mixed_bfloat16"] and keras.config.dtype_policy().name == "mixed_float16"
        other = []  # Keras' policy is per thread: another thread never sees ours
        thread = threading.Thread(target=lambda: other.append(keras.config.dtype_policy().name))
        with_dtype_policy("mixed_bfloat16", lambda: (thread.start(), thread.join()))
        assert other == ["float32"]
    finally:
        keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("bad", ["bfloat16", "mixed_float16", "float64", "", None, 16])
def test_a_bad_policy_is_refused_with_a_clear_message(bad):
    with pytest.raises(ValueError, match=r"argument `dtype_policy`, expected one of \['float32', 'mixed_bfloat16'\]"):
        Forecaster("y", lookback=12, horizon=3, dtype_policy=bad).fit(hourly(100), epochs=1, verbose=0)
