"""Updating a fitted forecaster with new data (`Forecaster.update`): its
Keras model trained on from its current weights, with the fitted encoder,
target transform, scaler and layout kept, so that the weights keep their
meaning.

The windows trained on are the new ones, those with a target after the end
of the data their series was fitted on (`fit_end_`; every window of a
series never fitted on), plus, with `replay`, a random share of windows
fitted on before (against forgetting; only those of the frame given). The
new windows are split in time: the last `validation` share of their span
validates (early stopping, best weights restored), the windows whose
targets all lie before it train. An update that leaves the validation loss
worse than the weights before it is undone, and says so in its record:

    update kept  ⇔  min over epochs of L_val(θ_e) < L_val(θ_0)

Refitting the scaler is not an update (the weights would no longer mean what
they learned): values far outside the fitted range are warned about, and
`fit` on all the data is the way to rescale. New series join a global
model (its scaling serves them); with per-series scaling they are refused.
A calibration is kept as it is (its shifts were measured on the weights
before): `calibrate` or `adapt` on later rows renew it.
"""

import math
import time

import keras
import numpy as np
import pandas as pd

from tsgate.data import plain
from tsgate.guards import fitted_ends
from tsgate.models import training_loss
from tsgate.training import compile_masked, train
from tsgate.validation import LARGEST, check_fitted, check_non_negative_int, check_positive_float, \
    check_positive_int, invalid, warn

DRIFT = ("the update learns them under the scaler fitted before (which it keeps, so that the weights keep their "
         "meaning); if the data moved for good, fit on all of it to rescale.")
UPDATE_RATE = 0.1  # the default learning rate of an update: this share of the forecaster's `learning_rate`


def update(forecaster, df, epochs=5, learning_rate=None, replay=0.0, validation=0.2, patience=2, batch_size=None,
           verbose=0):
    """Trains `forecaster`'s model on from its weights on the new windows of
    `df` (module docstring) and records it in `forecaster.updates_`;
    `fit_end_` moves to the end of `df`'s rows. Returns the record (a dict:
    the windows trained on, replayed and validated, the epochs, the
    learning rate, the validation loss before and after, whether it was
    kept, the series added, the wall time in seconds).

    learning_rate: default `UPDATE_RATE` times the forecaster's. replay: the
    share of the windows trained on drawn from the older windows of `df`.
    validation: the last share of each series' new span that validates
    (early stopping). batch_size: default fit's."""
    check_fitted(forecaster)
    epochs = check_positive_int("epochs", epochs, LARGEST)
    patience = check_non_negative_int("patience", patience)
    rate = forecaster.learning_rate * UPDATE_RATE if learning_rate is None else \
        check_positive_float("learning_rate", learning_rate)
    if not isinstance(replay, (int, float)) or isinstance(replay, bool) or not 0 <= replay < 1:
        raise invalid("replay", "a share in [0, 1) of the windows trained on that are older ones", replay)
    if not isinstance(validation, (int, float)) or isinstance(validation, bool) or not 0 < validation < 1:
        raise invalid("validation", "a fraction in (0, 1) of the new windows' span", validation)
    fitted_batch = (forecaster.fit_options_ or {}).get("batch_size", 32)  # None: saved before fit options were kept
    batch_size = check_positive_int("batch_size", batch_size or fitted_batch, LARGEST)
    begun = time.perf_counter()
    preprocessor = forecaster.preprocessor_
    panel = preprocessor.panel(df)
    added = new_series(preprocessor, panel)
    fresh, seen, val_starts = split_windows(preprocessor, panel, validation)
    replayed = np.random.default_rng(forecaster.seed).permutation(seen)[: round(len(fresh) * replay / (1 - replay))]
    if replay and len(replayed) == 0:
        warn("tsgate: update(replay=...) found no window fitted on before in `df`: pass the older rows too to replay "
             "them; trained on the new windows only.")
    preprocessor.warn_far_outside(panel, np.concatenate([fresh, val_starts]), consequence=DRIFT)
    datasets = [preprocessor.scaled_windows(panel, starts, batch_size, shuffle)
                for starts, shuffle in ((np.concatenate([fresh, replayed]), True), (val_starts, False))]
    losses, epochs_run, kept = _train(forecaster, datasets, rate, epochs, patience, verbose)
    preprocessor.extend_fitted(panel)
    record = {"through": str(panel.timestamp(panel.time.max())), "windows": int(len(fresh)),
              "replayed": int(len(replayed)), "validation": int(len(val_starts)), "epochs": epochs_run,
              "learning_rate": rate, "validation_loss": losses, "kept": kept, "new_series": added,
              "seconds": round(time.perf_counter() - begun, 3)}
    forecaster.updates_ = [*forecaster.updates_, record]
    return record


def new_series(preprocessor, panel):
    """The ids of `panel`'s series never fitted on (refused, naming them,
    with per-series scaling: their scaler would have to be fitted under
    weights trained without them)."""
    fitted = set(preprocessor.series_)
    added = [sid for sid in panel.series if sid not in fitted]
    if added and preprocessor.scale_per_series:
        raise ValueError(f"Series {added[:3]} were not fitted on, and this forecaster scales each series on its own "
                         "(scale_per_series=True): update cannot add them; fit on every series instead.")
    return [plain(sid) for sid in added]


def split_windows(preprocessor, panel, validation):
    """(the new windows to train on, the windows fitted on before, the new
    windows that validate) of `panel`, start rows: a window is new when a
    target lies after its series' `fit_end_`; in each series, the new ones
    whose targets start in the last `validation` share of its new targets'
    span (or, when that share is shorter than a horizon, the last new
    window) validate, those whose targets all lie before that train. Too
    few of either is an error saying how many rows are needed."""
    lookback, horizon = preprocessor.lookback_, preprocessor.horizon
    starts, dropped = panel.windows(lookback, horizon)
    ends = np.full(len(panel.series), np.datetime64("NaT"), "datetime64[ns]") if preprocessor.series_ends_ is None \
        else fitted_ends(panel, preprocessor.series_ends_)
    series_end = ends[panel.series_index()[starts]]
    last_target = panel.time[starts + lookback + horizon - 1]
    new = np.isnat(series_end) | (last_target > series_end)
    seen, fresh = starts[~new], starts[new]
    first_target, last_target = panel.time[fresh + lookback], panel.time[fresh + lookback + horizon - 1]
    series = panel.series_index()[fresh]
    begin, end, last_start = (pd.Series(times).groupby(series).transform(how).to_numpy()
                              for times, how in ((first_target, "min"), (last_target, "max"), (first_target, "max")))
    cut = np.minimum(begin + (end - begin) * (1 - validation), last_start)  # each series' own, a window at least
    train_starts, val_starts = fresh[last_target < cut], fresh[first_target >= cut]
    if len(train_starts) == 0 or len(val_starts) == 0:
        last = "" if preprocessor.series_ends_ is None else f" (the data fitted on ends {preprocessor.series_ends_.max()})"
        raise ValueError(f"Not enough new data to update on: {len(train_starts)} new windows to train on and "
                         f"{len(val_starts)} to validate of lookback {lookback} + horizon {horizon}{last}; each "
                         f"series needs its last {lookback} rows fitted on and new rows for at least "
                         f"{2 * horizon} window targets (pass the rows before the new ones too). "
                         f"{panel.shortage(dropped)}")
    return train_starts, seen, val_starts


def _train(forecaster, datasets, rate, epochs, patience, verbose):
    """Trains the forecaster's model on `datasets` (train, validation) from
    its weights with Adam at `rate`: ([validation loss before, best after],
    the epochs run, whether the new weights were kept). An update stopped
    part-way (an error, Ctrl-C) leaves the weights as they were."""
    model = forecaster.model_
    before = model.get_weights()
    compile_masked(model, keras.optimizers.Adam(rate),
                   training_loss(forecaster.loss, forecaster.preprocessor_.layout.quantiles))
    initial = float(model.evaluate(datasets[1], verbose=0, return_dict=True)["observed_loss"])
    try:
        history, early_stopping = train(model, *datasets, epochs, patience, verbose)
    except BaseException:
        model.set_weights(before)
        raise
    best = early_stopping.best
    diverged = best is None or not math.isfinite(best) or not all(np.isfinite(w).all() for w in model.get_weights())
    kept = not diverged and best < initial
    if not kept:
        model.set_weights(before)
    if diverged:
        raise ValueError(f"The update diverged (validation loss {best}); the weights are unchanged. Lower "
                         f"`learning_rate` (got {rate!r}).")
    return [initial, float(best)], len(history.epoch), bool(kept)
