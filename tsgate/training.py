"""Keras training for `Forecaster.fit`: the fit options, the dtype policy,
build, compile, the learning-rate schedule, the masked loss and the callbacks.

`fit_model` builds the model, compiles it with Adam and `MaskedLoss`, and
trains it on a preprocessor's `TrainingWindows` (in a `tf.distribute`
strategy's scope when given); `FitOptions` checks fit's options.

`MaskedLoss` averages a loss over the observed targets only (NaN in the
targets marks a missing one). `train` runs Keras `fit` with EarlyStopping
(best weights restored), `StopOnNaN`, with a `checkpoint_dir` the crash-safe
`tsgate.checkpoints.Checkpoints`, and the user's callbacks; the epoch's
`loss` and `val_loss` they see are the mean over every observed target of
the epoch (`ObservedLoss`), not Keras' mean of the batch losses weighted by
batch size.
"""

import contextlib
import math
import numbers
import os
import sys
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from keras import ops

from tsgate import distributed
from tsgate._quiet import keras_retracing_quiet
from tsgate.checkpoints import Checkpoints
from tsgate.lookback import is_auto
from tsgate.validation import LARGEST, check_choice, check_non_negative_int, check_positive_int, invalid


EPOCH_STEPS = (32, 128)  # steps_per_epoch="auto": one pass over the training windows, held within these batches


def epoch_steps(steps_per_epoch, windows, batch_size):
    """The batches of an epoch for fit's `steps_per_epoch`: an int is
    itself, None one pass (`None` returned: Keras counts it), "auto" one
    pass over the `windows` training windows at `batch_size` held within
    `EPOCH_STEPS`: on long data early stopping and the checkpoints look
    every 128 steps, not once per long pass; on short data (a weekly series
    of a few hundred windows) an epoch is at least 32 steps, so a schedule
    of `epochs` epochs still trains."""
    if not is_auto(steps_per_epoch):
        return steps_per_epoch
    low, high = EPOCH_STEPS
    return min(max(-(-windows // batch_size), low), high)


def resolve_verbose(verbose):
    """Keras' `verbose` for fit's: "auto" is 1 (a progress bar) on a
    terminal and 2 (one line per epoch) when stdout is a file or pipe."""
    if verbose != "auto":
        return verbose
    return 1 if sys.stdout is not None and sys.stdout.isatty() else 2


@keras.saving.register_keras_serializable(package="tsgate")
class MaskedLoss(keras.losses.Loss):
    """`loss` averaged over the observed targets: a NaN in `y_true`
    `(b, horizon, n_target)` (or a field's `(b, horizon, *grid, channels)`) is a missing target that adds nothing to the
    loss or its gradient, whatever the forecast there.

    loss: a Keras loss that reduces the last axis ("mse", "mae", "huber", or
    a `Loss` such as `tsgate.models.PinballLoss` whose `y_pred` has a
    trailing quantile axis); it is applied to each target value on its own,
    then the values are averaged over the observed ones of the batch.
    `y_pred` may hold k forecasts of each window stacked along the batch
    axis, `(k·b, ...)` (in training, an ensemble's members,
    `tsgate.models.ensemble`, or the segment builder's residual linear
    path and its sum): each is scored against the same targets.
    """

    def __init__(self, loss, name="masked", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = keras.losses.get(loss) if isinstance(loss, (str, dict)) else loss

    def call(self, y_true, y_pred):
        return self.mean_and_count(y_true, y_pred)[0]

    def mean_and_count(self, y_true, y_pred):
        """The batch's loss (the mean over its observed targets, 0 without
        any) and the number of observed targets (of every member), a float."""
        observed = ops.logical_not(ops.isnan(y_true))  # (b, h, n), or (b, h, *grid, channels) of fields
        y_true = ops.expand_dims(ops.where(observed, y_true, ops.zeros_like(y_true)), (0, -1))  # (1, b, h, n, 1)
        y_pred = ops.reshape(y_pred, (-1, ops.shape(observed)[0], *y_pred.shape[1:]))  # (k, b, h, n[, q])
        y_pred = ops.expand_dims(y_pred, len(observed.shape) + 1)  # (k, b, h, n, 1[, q])
        loss = self.loss.call if isinstance(self.loss, keras.losses.Loss) else self.loss
        values = ops.reshape(loss(y_true, y_pred), (-1, *ops.shape(observed)))  # (k, b, h, n)
        weights = ops.cast(ops.broadcast_to(observed, ops.shape(values)), values.dtype)
        count = ops.sum(weights)
        return ops.sum(values * weights) / ops.maximum(count, 1.0), count

    def get_config(self):
        return {**super().get_config(), "loss": keras.losses.serialize(self.loss)}


@keras.saving.register_keras_serializable(package="tsgate")
class ObservedLoss(keras.metrics.Mean):
    """A `MaskedLoss`'s mean over all the observed targets seen (an epoch's):
    the sum of the loss over every observed target value / their number.

    Keras' own `loss` is the mean of the batch losses weighted by batch size:
    with missing targets a batch of few observed values counts as much as a
    full one, and a batch without any counts as a 0. Here each batch's loss
    (the mean over its observed targets, as trained on) is weighted by its
    observed targets per window (observed / values in a window): the batch
    size when none is missing (k times it with k forecasts stacked per
    window, alike for every batch), so that without missing targets this is
    Keras' `loss`, computed the same way.
    """

    def __init__(self, loss, name="observed_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.loss = loss if isinstance(loss, MaskedLoss) else keras.losses.get(loss)
        if not isinstance(self.loss, MaskedLoss):
            self.loss = MaskedLoss(self.loss)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds a batch; `sample_weight` is not supported (tsgate's datasets have none)."""
        y_true = ops.convert_to_tensor(y_true, dtype=self.loss.dtype)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.loss.dtype)
        mean, count = self.loss.mean_and_count(y_true, y_pred)
        per_window = ops.cast(ops.prod(ops.shape(y_true)[1:]), count.dtype)  # horizon * targets
        super().update_state(mean, sample_weight=count / per_window)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "loss": keras.losses.serialize(self.loss)}


class ObservedLossLogs(keras.callbacks.Callback):
    """Puts `ObservedLoss`' value in the place of Keras' `loss` (and
    `val_loss`) in the logs every later callback, History included, sees.
    Must come first."""

    async_safe = True  # it only renames keys of the logs it is given

    @staticmethod
    def _rename(logs):
        if logs is None:
            return
        for prefix in ("", "val_"):
            value = logs.pop(prefix + "observed_loss", None)
            if value is not None:
                logs[prefix + "loss"] = value

    def on_train_batch_end(self, batch, logs=None):
        self._rename(logs)

    def on_test_batch_end(self, batch, logs=None):
        self._rename(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._rename(logs)

    def on_test_end(self, logs=None):
        self._rename(logs)

    def on_train_end(self, logs=None):
        self._rename(logs)


def compile_masked(model, optimizer, loss):
    """Compiles `model` to train on `loss` over the observed targets only
    (`MaskedLoss`, of each member of an ensemble) and to report, as the
    epoch's `loss` and `val_loss` in `train`, their mean over every observed
    target (`ObservedLoss`)."""
    masked = MaskedLoss(loss)
    model.compile(optimizer=optimizer, loss=masked, metrics=[ObservedLoss(masked)])


def train(model, train, validation, epochs, patience, verbose, callbacks=(), checkpoint_dir=None, fingerprint=None,
          strategy=None):
    """Keras fit of `model` on the `train` dataset with EarlyStopping on
    `validation` (best weights restored), `callbacks` after tsgate's, and,
    with `checkpoint_dir`, the crash-safe checkpoints (resuming an
    interrupted fit of the same `fingerprint`; with a `strategy`, one
    directory per worker). Returns the History of every epoch (those before
    a resume included) and the EarlyStopping callback.
    For a model compiled by `compile_masked`, `loss` and `val_loss` (in the
    History, and what EarlyStopping, the checkpoints and `callbacks` see)
    are `ObservedLoss`'."""
    early_stopping = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    ours, initial_epoch, stopped = [ObservedLossLogs(), StopOnNaN(), early_stopping], 0, False
    if checkpoint_dir is not None:
        checkpoints = Checkpoints(os.fspath(checkpoint_dir), early_stopping, fingerprint, strategy)
        initial_epoch, stopped = checkpoints.restore(model)
        ours.append(checkpoints)
    with keras_retracing_quiet():  # each new model traces its own steps; TensorFlow counts them together
        history = model.fit(
            train, validation_data=validation, callbacks=ours + list(callbacks), verbose=resolve_verbose(verbose),
            initial_epoch=initial_epoch,
            epochs=initial_epoch if stopped else epochs,  # stopped before a kill: only the best weights come back
            shuffle=False,  # the dataset reshuffles the training windows every epoch
        )
    if checkpoint_dir is not None:
        checkpoints.finish()  # the fit is over: a later fit with this directory starts afresh
        if initial_epoch:
            history.history, history.epoch = checkpoints.history, list(range(len(checkpoints.history["loss"])))
    return history, early_stopping


@dataclass(frozen=True)
class FitOptions:
    """The options of one `Forecaster.fit` (its arguments, defaults and
    docstring), checked when made; `batch_size` is the global batch,
    `replica_batch` each replica's."""

    validation: object
    epochs: int
    batch_size: int
    patience: int
    checkpoint_dir: object
    verbose: object
    callbacks: object
    strategy: object
    steps_per_epoch: object

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            check_positive_int(name, getattr(self, name), LARGEST)
        check_non_negative_int("patience", self.patience)
        if self.steps_per_epoch is not None and not is_auto(self.steps_per_epoch):
            check_positive_int("steps_per_epoch", self.steps_per_epoch, LARGEST)
        directory = self.checkpoint_dir
        if directory is not None and not (isinstance(directory, (str, os.PathLike)) and os.fspath(directory)):
            raise invalid("checkpoint_dir", "None or a directory path", directory)
        if isinstance(self.verbose, float):
            raise invalid("verbose", "0, 1, 2 or 'auto'", self.verbose)
        check_choice("verbose", self.verbose, (0, 1, 2, "auto"))
        callbacks = self.callbacks
        if callbacks is not None and (not isinstance(callbacks, (list, tuple))
                                      or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks)):
            raise invalid("callbacks", "None or a list of keras.callbacks.Callback instances", callbacks)
        if self.strategy is not None:
            distributed.check_strategy(self.strategy)

    @property
    def replica_batch(self):
        """The batch of each replica (the global batch split among a strategy's replicas)."""
        return self.batch_size if self.strategy is None else distributed.replica_batch(self.strategy, self.batch_size)

    def to_json(self):
        """`fit_options_`: validation (a fraction, or the time as ISO text),
        epochs, batch_size, patience, steps_per_epoch."""
        validation = self.validation
        if isinstance(validation, numbers.Integral):  # a field's frame position
            validation = int(validation)
        elif isinstance(validation, numbers.Real):
            validation = float(validation)
        elif not isinstance(validation, str):
            validation = pd.Timestamp(validation).isoformat()
        return {"validation": validation, "epochs": self.epochs, "batch_size": self.batch_size,
                "patience": self.patience, "steps_per_epoch": self.steps_per_epoch}


def with_dtype_policy(policy, fn, *args, **kwargs):
    """`fn(*args, **kwargs)` with `policy` as the Keras dtype policy of the
    layers it creates (building or loading a model); the caller's policy
    (thread-local in Keras) is restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        return fn(*args, **kwargs)
    finally:
        keras.config.set_dtype_policy(previous)


def learning_rate(rate, schedule, steps):
    """Adam's learning rate: `rate` ("constant"), or decayed to 0 over
    `steps` training steps ("cosine")."""
    return keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps) if schedule == "cosine" else rate


def fit_model(build, loss, rate, schedule, windows, options, config):
    """The model `build()` makes (in the options' strategy scope), compiled
    with `loss` (`MaskedLoss` of it) and Adam at `learning_rate(rate,
    schedule, ...)`, trained by `train` on the `TrainingWindows` `windows`
    with `options` (a `FitOptions`); `config` (the plain arguments) goes
    into the checkpoints' fingerprint. Returns the model and its History;
    a diverged fit is an error."""
    strategy = options.strategy
    steps_per_epoch = epoch_steps(options.steps_per_epoch, windows.counts["train"], options.batch_size)
    train_data, validation = windows.train, windows.validation
    steps = steps_per_epoch or -(-windows.n_train // options.replica_batch)
    if strategy is not None:
        (train_data, validation), (steps, _) = distributed.distribute(
            strategy, [train_data, validation], (windows.n_train, windows.n_validation), options.replica_batch,
            steps_per_epoch)
    elif steps_per_epoch is not None:
        train_data = train_data.repeat().take(steps_per_epoch)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = build()
        compile_masked(model, keras.optimizers.Adam(learning_rate(rate, schedule, options.epochs * steps)), loss)
        if strategy is not None:
            distributed.work_around_keras(model, windows.train)
        fingerprint = {"weights": [list(w.shape) for w in model.weights],
                       "windows": [windows.n_train, windows.n_validation],
                       "fit": [str(options.validation), options.epochs, options.replica_batch, options.patience,
                               steps_per_epoch],
                       "config": repr(config)}
        history, early_stopping = train(model, train_data, validation, options.epochs, options.patience,
                                        options.verbose, options.callbacks or [], options.checkpoint_dir,
                                        fingerprint, strategy)
    best = early_stopping.best
    if best is None or not math.isfinite(best) or not all(np.isfinite(w).all() for w in model.get_weights()):
        raise ValueError(f"Training diverged: the best validation loss is {best} and the weights are not all "
                         f"finite; lower `learning_rate` (got {rate!r}) or check the data.")
    return model, history


class StopOnNaN(keras.callbacks.Callback):
    """Stops training, silently, after an epoch whose loss is NaN or inf (fit then reports it)."""

    def on_epoch_end(self, epoch, logs=None):
        if not math.isfinite(float((logs or {}).get("loss", 0.0))):
            self.model.stop_training = True
