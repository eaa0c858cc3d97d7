"""The crash-safe checkpoints of `fit(checkpoint_dir=...)`: the `Checkpoints`
callback that `tsgate.training.train` adds after EarlyStopping, and the
resume of an interrupted fit from them."""

import json
import os
import shutil

import keras
import numpy as np

from tsgate import distributed
from tsgate.files import TEMPORARY_PREFIX, write_atomically, write_text_atomically
from tsgate.validation import warn


def _failure(messages):
    """A ValueError naming each worker whose message (an error's) is not None, or None."""
    failures = [f"worker {index}: {message}" for index, message in enumerate(messages) if message]
    return ValueError("Cannot resume the workers' fit: " + " | ".join(failures)) if failures else None


class Checkpoints(keras.callbacks.Callback):
    """`fit(checkpoint_dir=...)`: the best model and a training state that
    survive a kill at any moment.

        checkpoint_dir/best.keras            the model at the best validation loss so far
        checkpoint_dir/backup/state.json     epoch, weights file, EarlyStopping's state, history
        checkpoint_dir/backup/epoch-N.weights.h5   model and optimizer after epoch N
        checkpoint_dir/backup/best-N.npz     EarlyStopping's best weights (epoch N)

    Every file is written by `tsgate.files.write_atomically` (a temporary,
    flushed and renamed into place); `state.json` is renamed last and is the commit point: it names only
    complete files, and files it does not name are leftovers, removed. The
    state carries a fingerprint of the configuration, the data's windows and
    the fit arguments: a directory holding another fit's state is an error,
    never a silent resume. Must follow the EarlyStopping callback it restores.

    With a `tf.distribute` `strategy` of more than one worker, each worker
    keeps its own checkpoints in `checkpoint_dir/worker-<i>/` (no file is
    written by two; saving reads mirrored variables through collectives, so
    every worker saves), its state also names the files of the epoch before
    (`previous`), and the workers resume at the same epoch (`_agree`).
    """

    STATE = "state.json"
    KEYS = ("fingerprint", "epoch", "weights", "stopped", "history", "early_stopping")

    def __init__(self, directory, early_stopping, fingerprint, strategy=None):
        super().__init__()
        index, count = (0, 1) if strategy is None else distributed.worker(strategy)
        if count > 1:
            directory = os.path.join(directory, f"worker-{index}")
        self.directory, self.backup = directory, os.path.join(directory, "backup")
        self.early_stopping, self.fingerprint = early_stopping, fingerprint
        self.strategy = strategy if count > 1 else None
        self.state, self.history = None, {}
        self.last = None  # the state last written or resumed, without its `previous`

    def restore(self, model):
        """Loads the state of an interrupted fit, if any, into `model`; returns
        the epoch to resume at and whether training had already stopped
        (early stopping or NaN). `history` then holds the epochs before."""
        try:
            state = self._read_state()
        except ValueError as error:
            if self.strategy is None:
                raise
            state = error
        if self.strategy is not None:
            state = self._agree(state)
        self._remove_leftovers(state)
        error = None
        if state is not None:
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            try:
                model.load_weights(os.path.join(self.backup, state["weights"]))
            except (OSError, ValueError) as failure:
                error = ValueError(f"Cannot load the checkpoint {state['weights']!r} in {self.backup!r} ({failure}); "
                                   f"delete {self.backup!r} to start afresh.")
        if self.strategy is not None:  # every worker gathers, so that none is left waiting
            failure = _failure(distributed.all_gather(self.strategy, None if error is None else str(error)))
            error = error or failure
        if error is not None:
            raise error
        if state is None:
            return 0, False
        self.state, self.history = state, {key: list(values) for key, values in state["history"].items()}
        self.last = {key: value for key, value in state.items() if key != "previous"}
        return state["epoch"], state["stopped"]

    def _read_state(self):
        """This directory's state (None: none to resume); a ValueError says what is wrong."""
        try:
            os.makedirs(self.backup, exist_ok=True)
        except OSError as error:
            raise ValueError(f"Cannot create the checkpoint directory {self.backup!r}: {error}") from None
        path = os.path.join(self.backup, self.STATE)
        if not os.path.exists(path):
            return None
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, ValueError) as error:
            state = error
        if not isinstance(state, dict) or not set(self.KEYS) <= set(state):
            raise ValueError(f"The checkpoint state {path!r} is unreadable ({state!r}); tsgate's fit did not "
                             f"write it. Delete {self.backup!r} to start afresh.")
        if state.get("fingerprint") != json.loads(json.dumps(self.fingerprint)):
            raise ValueError(
                f"{self.directory!r} holds the checkpoints of an interrupted fit with other arguments, data or "
                "configuration; call fit exactly as before to resume it, or give another `checkpoint_dir`."
            )
        return state

    def _agree(self, state):
        """The state this worker resumes from, at the same epoch on every
        worker (a collective). Workers save without waiting for each other,
        so a kill can leave some one epoch ahead: each keeps the state
        before its last (`previous`), and all resume at the lowest epoch. A
        worker's error (`state` a ValueError) is raised on every worker.
        Where no epoch is kept by all (a worker had finished and removed its
        state), all start afresh, with a warning."""
        error = state if isinstance(state, ValueError) else None
        kept = [] if state is None or error else [state["epoch"], (state.get("previous") or {}).get("epoch")]
        views = distributed.all_gather(self.strategy, [None if error is None else str(error), kept])
        failure = _failure([message for message, _ in views])
        if failure:
            raise failure
        target = min(epochs[0] if epochs else 0 for _, epochs in views)
        if target and all(target in epochs for _, epochs in views):
            if state["epoch"] != target:  # back one epoch: the state file says so before the newer files go
                state = {**state["previous"], "previous": None}
                text = json.dumps(state)
                write_text_atomically(os.path.join(self.backup, self.STATE), text)
            return state
        if any(epochs for _, epochs in views):
            warn(f"tsgate: the workers' checkpoints in {os.path.dirname(self.directory)!r} keep no common "
                 f"epoch (last epochs {[epochs[:1] for _, epochs in views]}); training starts afresh.")
        if state is not None:  # the state file first, as in `finish`
            os.remove(os.path.join(self.backup, self.STATE))
        return None

    def _remove_leftovers(self, state):
        keep = {self.STATE}
        for kept in (state, (state or {}).get("previous")):
            if kept:
                keep |= {kept["weights"], kept["early_stopping"]["best_weights"]}
        for name in os.listdir(self.backup):
            if name not in keep:
                os.remove(os.path.join(self.backup, name))
        for name in os.listdir(self.directory):
            if name.startswith(TEMPORARY_PREFIX):  # a write killed before its rename
                os.remove(os.path.join(self.directory, name))

    def on_train_begin(self, logs=None):
        # EarlyStopping.on_train_begin has just reset its state: put back the one before the kill.
        self.best_file = None
        if self.state is None:
            return
        stopping, saved = self.early_stopping, self.state["early_stopping"]
        stopping.best, stopping.wait = saved["best"], saved["wait"]
        stopping.best_epoch, stopping.stopped_epoch = saved["best_epoch"], saved["stopped_epoch"]
        self.best_file = saved["best_weights"]
        if self.best_file:
            with np.load(os.path.join(self.backup, self.best_file)) as weights:
                stopping.best_weights = [weights[f"w{i}"] for i in range(len(weights.files))]

    def on_epoch_end(self, epoch, logs=None):
        stopping = self.early_stopping
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if stopping.best_epoch == epoch and stopping.best_weights is not None:  # a new best (or the first) epoch
            write_atomically(os.path.join(self.directory, "best.keras"), self.model.save)
            best_file = f"best-{epoch + 1}.npz"
            write_atomically(os.path.join(self.backup, best_file),
                              lambda path: np.savez(path, **{f"w{i}": w for i, w in enumerate(stopping.best_weights)}))
            self.best_file = best_file
        weights = f"epoch-{epoch + 1}.weights.h5"
        write_atomically(os.path.join(self.backup, weights), self.model.save_weights)
        best = None if stopping.best is None else float(stopping.best)
        state = {
            "format": 1, "fingerprint": self.fingerprint, "epoch": epoch + 1, "weights": weights,
            "stopped": bool(self.model.stop_training), "history": self.history,
            "early_stopping": {"best": best, "wait": int(stopping.wait), "best_epoch": int(stopping.best_epoch),
                               "stopped_epoch": int(stopping.stopped_epoch), "best_weights": self.best_file},
        }
        text = json.dumps({**state, "previous": self.last if self.strategy is not None else None})
        write_text_atomically(os.path.join(self.backup, self.STATE), text)
        self.last = json.loads(json.dumps(state))
        self._remove_leftovers(json.loads(text))

    def finish(self):
        """Removes the backup once the fit is over: the state file first, so
        that a kill midway leaves no state to resume, only leftovers."""
        state = os.path.join(self.backup, self.STATE)
        if os.path.exists(state):
            os.remove(state)
        shutil.rmtree(self.backup, ignore_errors=True)
