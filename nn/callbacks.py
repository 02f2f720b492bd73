"""Callbacks for ``nn.fit``: hooks at the start and end of training, of each epoch and of each
batch, and the ready ones Keras users expect: ``EarlyStopping``, ``ModelCheckpoint``,
``LearningRateScheduler`` and ``CSVLogger``.

A callback subclasses ``Callback`` and overrides any hook.  ``fit`` first calls
``on_train_begin(run)``, where ``run`` is the ``FitRun`` of this call (``run.model``,
``run.optimizer``, ``run.history``, ``run.epochs``, ``run.log(message)``); setting
``run.stop_training = True`` ends training after the current epoch.  ``logs`` is the dict of
this epoch's values (``loss``, metrics, ``val_...``), which a callback may extend (the history
records every key).
"""

import csv
import os
from dataclasses import dataclass, field

import numpy as np

from . import lr_scheduler

__all__ = ["Callback", "FitRun", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler",
           "CSVLogger", "as_callbacks"]


@dataclass
class FitRun:
    """What one ``fit`` call is doing, shared with its callbacks."""
    model: object
    optimizer: object
    epochs: int
    steps_per_epoch: int
    verbose: int
    history: dict = field(default_factory=dict)
    stop_training: bool = False
    epoch: int = 0

    def log(self, message: str) -> None:
        """Print ``message`` unless fit runs with verbose=0."""
        if self.verbose:
            print(message)


class Callback:
    """Base class: every hook does nothing."""

    run = None

    def on_train_begin(self, run: FitRun) -> None:
        """Called once before the first epoch; keeps ``run``."""
        self.run = run

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before each epoch (1-based)."""

    def on_batch_end(self, batch: int, loss: float) -> None:
        """Called after each optimizer step with the batch's (1-based) index and loss."""

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Called after each epoch with its logs (validation included)."""

    def on_train_end(self) -> None:
        """Called once when training ends (also after an early stop)."""


def _monitor_mode(monitor, mode, owner):
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{owner}: mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


def _monitored(logs, monitor, owner):
    if monitor not in logs:
        raise ValueError(f"{owner} monitors {monitor!r}, but the epoch logs have only "
                         f"{sorted(logs)}; pass validation_data (or validation_split) or "
                         "monitor='loss'")
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop ``fit`` after ``patience`` epochs in a row in which ``monitor`` has not improved
    by more than ``min_delta`` (Keras's rule; patience=0 stops at the first such epoch).

    mode: "min", "max" or "auto" (max for names containing "acc", else min).  With
    ``restore_best_weights`` (the default here, unlike Keras) the model ends ``fit`` holding the
    weights of its best epoch, whether or not training stopped early.  After ``fit``:
    ``best``, ``best_epoch`` (1-based), ``stopped_epoch`` (0 when it ran all epochs) and
    ``message``, the sentence ``fit`` prints (unless verbose=0) saying when it stopped and
    which epoch's weights it restored.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True):
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) \
                or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), abs(min_delta)
        self.mode = _monitor_mode(monitor, mode, "EarlyStopping")
        self.restore_best_weights = restore_best_weights
        self.reset()

    def reset(self):
        """Forget everything seen (``fit`` calls this at its start)."""
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.message = ""
        self._wait = 0
        self._best_state = None

    def on_train_begin(self, run):
        """Starts afresh."""
        super().on_train_begin(run)
        self.reset()

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        """Track the best epoch; ask fit to stop when patience runs out."""
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if self._improved(value):
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_state = self.run.model.state_dict()
            return
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            self.run.stop_training = True

    def on_train_end(self):
        """Restore the best weights and say what happened."""
        if self.stopped_epoch:
            said = (f"early stopping: stopped after epoch {self.stopped_epoch}/"
                    f"{self.run.epochs}, {self.monitor} not improved for {self._wait} epochs")
        else:
            said = f"early stopping: ran all {self.run.epochs} epochs"
        if self.restore_best_weights and self._best_state is not None:
            self.run.model.load_state_dict(self._best_state)
            said += (f"; restored the weights of epoch {self.best_epoch} "
                     f"({self.monitor} {self.best:.4g})")
        self.message = said
        self.run.log(said)


class ModelCheckpoint(Callback):
    """Save the model with ``nn.save`` after an epoch: every epoch, or (``save_best_only``,
    the default) only when ``monitor`` improves.  ``path`` may hold ``{epoch}`` and log names
    (``"ckpt-{epoch:02d}-{val_loss:.3f}.npz"``).  ``best_epoch`` and ``saved`` (paths) after fit.
    """

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=True):
        self.path, self.monitor, self.save_best_only = os.fspath(path), monitor, save_best_only
        self.mode = _monitor_mode(monitor, mode, "ModelCheckpoint")
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch, self.saved = 0, []

    def on_epoch_end(self, epoch, logs):
        """Save when this epoch is the best so far (or always)."""
        from .serialization import save
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best, self.best_epoch = value, epoch
        path = self.path.format(epoch=epoch, **logs)
        save(self.run.model, path)
        self.saved.append(path)


class LearningRateScheduler(Callback):
    """Step an ``nn.lr_scheduler`` scheduler from ``fit``: after every batch for ``OneCycleLR``
    (its ``interval`` is "batch"), else after every epoch; ``ReduceLROnPlateau`` is given
    ``monitor`` (default: "val_loss" when there is validation data, else "loss").  Adds "lr"
    (group 0's rate during the epoch) to the logs.  ``fit(callbacks=[scheduler])`` wraps a
    bare scheduler in this callback."""

    def __init__(self, scheduler, monitor=None):
        if not isinstance(scheduler, (lr_scheduler.LRScheduler, lr_scheduler.ReduceLROnPlateau)):
            raise TypeError(f"LearningRateScheduler: expected an nn.lr_scheduler scheduler, got "
                            f"{type(scheduler).__name__}")
        self.scheduler, self.monitor = scheduler, monitor
        self._epoch_lr = None

    def on_epoch_begin(self, epoch):
        """Remember the rate this epoch trains with."""
        self._epoch_lr = self.scheduler.optimizer.param_groups[0]["lr"]

    def on_batch_end(self, batch, loss):
        """Step a per-batch schedule."""
        if self.scheduler.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs):
        """Step a per-epoch schedule; log the rate used."""
        logs["lr"] = self._epoch_lr
        if isinstance(self.scheduler, lr_scheduler.ReduceLROnPlateau):
            monitor = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
            self.scheduler.step(_monitored(logs, monitor, "ReduceLROnPlateau"))
        elif self.scheduler.interval == "epoch":
            self.scheduler.step()


class CSVLogger(Callback):
    """Write one row per epoch (``epoch`` and every log value) to a CSV file, flushed each
    epoch; ``append=True`` adds to an existing file instead of replacing it."""

    def __init__(self, path, separator=",", append=False):
        self.path, self.separator, self.append = os.fspath(path), separator, append
        self._file = self._writer = self._keys = None

    def on_train_begin(self, run):
        """Open the file."""
        super().on_train_begin(run)
        exists = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._file = open(self.path, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._keys = None if not exists else []

    def on_epoch_end(self, epoch, logs):
        """Write this epoch's row (the header first)."""
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if self._keys is None:
                self._writer.writerow(["epoch", *logs])
            self._keys = list(logs)
        self._writer.writerow([epoch, *(logs.get(key, "") for key in self._keys)])
        self._file.flush()

    def on_train_end(self):
        """Close the file."""
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None


class CallbackList:
    """The callbacks of one fit call, called in order."""

    def __init__(self, callbacks):
        self.callbacks = list(callbacks)

    def __getattr__(self, hook):
        def call(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)
        return call


def as_callbacks(callbacks, early_stopping, has_validation):
    """fit's ``callbacks=`` and ``early_stopping=`` as one CallbackList (schedulers wrapped)."""
    items = []
    for callback in callbacks or ():
        if isinstance(callback, (lr_scheduler.LRScheduler, lr_scheduler.ReduceLROnPlateau)):
            callback = LearningRateScheduler(callback)
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks must be nn.callbacks.Callback instances or "
                            f"schedulers, got {type(callback).__name__}")
        items.append(callback)
    if early_stopping is not None and early_stopping is not False:
        if isinstance(early_stopping, (int, np.integer)) and not isinstance(early_stopping, bool):
            early_stopping = EarlyStopping(monitor="val_loss" if has_validation else "loss",
                                           patience=int(early_stopping))
        if not isinstance(early_stopping, EarlyStopping):
            raise TypeError("fit: early_stopping must be None, a patience (int) or an "
                            f"nn.EarlyStopping, got {type(early_stopping).__name__}")
        items.append(early_stopping)
    return CallbackList(items)
