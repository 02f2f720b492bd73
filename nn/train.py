"""Keras-style training loop: ``fit``, ``evaluate``, ``predict``, metrics and early stopping."""

import math
import warnings

import numpy as np

from autograd import Tensor, no_grad

from . import init
from .data import batches, num_batches
from .losses import BCEWithLogitsLoss, binary_cross_entropy_with_logits, get_loss
from .optim import get_optimizer

__all__ = ["fit", "evaluate", "predict", "accuracy", "EarlyStopping"]


def _array(a):
    return np.asarray(a.data if isinstance(a, Tensor) else a)


def accuracy(pred, target, threshold=0.5):
    """Fraction of correct predictions.

    pred: (N, C) scores or probabilities with C > 1 (the class is the argmax), or (N,) /
    (N, 1) binary scores (the class is ``pred > threshold``: 0.5 for probabilities, 0 for
    logits).  target: (N,) or (N, 1) class indices or 0/1 labels, or (N, C) one-hot /
    probabilities (C > 1).
    """
    pred, target = _array(pred), _array(target)
    if target.ndim == 2 and target.shape[1] == 1:  # a column of labels, not a one-hot of 1 class
        target = target.reshape(len(target))
    if pred.ndim == 2 and pred.shape[1] > 1:
        predicted = pred.argmax(axis=1)
        labels = target.argmax(axis=1) if target.ndim == 2 else target
    else:
        predicted = (pred.reshape(len(pred)) > threshold).astype(np.int64)
        labels = (target.reshape(len(target)) > 0.5).astype(np.int64)
    if labels.shape != predicted.shape:
        raise ValueError(f"accuracy: predictions of shape {pred.shape} do not match targets of "
                         f"shape {target.shape}")
    return float(np.mean(predicted == labels)) if len(labels) else 0.0


def _metric_functions(metrics, loss_fn):
    """[(name, fn(pred_array, target_array) -> float)] from names or callables."""
    logits_loss = loss_fn is binary_cross_entropy_with_logits \
        or isinstance(loss_fn, BCEWithLogitsLoss)
    threshold = 0.0 if logits_loss else 0.5
    out = []
    for metric in metrics or ():
        if metric in ("accuracy", "acc"):
            out.append(("accuracy", lambda p, t: accuracy(p, t, threshold)))
        elif callable(metric):
            out.append((getattr(metric, "__name__", type(metric).__name__), metric))
        else:
            raise ValueError(f"unknown metric {metric!r}; use 'accuracy' or a callable "
                             "(pred, target) -> float")
    return out


class EarlyStopping:
    """Stop ``fit`` after ``patience`` epochs in a row in which ``monitor`` has not improved
    by more than ``min_delta`` (Keras's rule; patience=0 stops at the first such epoch).

    mode: "min", "max" or "auto" (max for names containing "acc", else min).  With
    ``restore_best_weights`` (the default here, unlike Keras) the model ends ``fit`` holding the
    weights of its best epoch, whether or not training stopped early.  After ``fit``:
    ``best``, ``best_epoch`` (1-based) and ``stopped_epoch`` (0 when it ran all epochs).
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True):
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode, self.restore_best_weights = mode, restore_best_weights
        self.reset()

    def reset(self):
        """Forget everything seen (``fit`` calls this at its start)."""
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self._wait = 0
        self._best_state = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, epoch, logs, model):
        """Record one epoch's logs; returns True when training should stop."""
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, but the epoch logs have "
                             f"only {sorted(logs)}; pass validation_data or monitor='loss'")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_state = model.state_dict()
            return False
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def restore(self, model):
        """Load the best epoch's weights into ``model`` (when restore_best_weights)."""
        if self.restore_best_weights and self._best_state is not None:
            model.load_state_dict(self._best_state)


def _early_stopping(early_stopping, has_validation):
    if early_stopping is None or early_stopping is False:
        return None
    if isinstance(early_stopping, EarlyStopping):
        early_stopping.reset()
        return early_stopping
    if isinstance(early_stopping, (int, np.integer)) and not isinstance(early_stopping, bool):
        return EarlyStopping(monitor="val_loss" if has_validation else "loss",
                             patience=int(early_stopping))
    raise TypeError("early_stopping must be None, a patience (int) or an nn.EarlyStopping, "
                    f"got {type(early_stopping).__name__}")


def _progress_bar(progress, total, description):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=description, unit="batch", leave=True)


def _format(logs):
    return {key: f"{value:.4g}" for key, value in logs.items()}


def fit(model, X, y, *, loss, optimizer, epochs, batch_size, validation_data=None,
        metrics=("accuracy",), early_stopping=None, progress=True, shuffle=True, rng=None):
    """Train ``model`` on (X, y) for ``epochs`` passes of mini-batches; returns the history.

    X: (N, ...) inputs; y: (N, ...) targets as the loss expects them (class indices for
    cross_entropy, (N, 1) for a one-output model with mse/bce).  loss: callable (pred,
    target) -> scalar Tensor or a name (see ``nn.losses.LOSSES``).  optimizer: an
    ``nn.Optimizer`` or "sgd" / "adam" / "rmsprop" with default settings.  batch_size: 1 to N.
    validation_data: optional (X_val, y_val), evaluated after each epoch.  metrics: names
    ("accuracy") or callables (pred_array, target_array) -> float.  early_stopping: None, a
    patience (int: monitors "val_loss" when there is validation data, else "loss", and restores
    the best weights) or an ``nn.EarlyStopping``.  progress: a tqdm bar per epoch showing loss
    and metrics.  shuffle / rng: reshuffle every epoch from ``rng`` (see ``nn.data.batches``).

    Returns a dict of per-epoch lists, Keras-style: "loss", each metric, and "val_loss" /
    "val_<metric>" with validation data.  Training values are sample-weighted means over the
    epoch's batches, taken before each batch's update.  The model is left in the train/eval
    mode it had before.

    An empty X is a ValueError.  A batch loss that is nan or inf (diverging weights: lower the
    learning rate) gives one RuntimeWarning naming the epoch and batch where it first happened;
    training goes on (as in PyTorch and Keras), and the history shows the non-finite values.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    loss_fn = get_loss(loss)
    optimizer = get_optimizer(optimizer, model.parameters())
    metric_fns = _metric_functions(metrics, loss_fn)
    stopper = _early_stopping(early_stopping, validation_data is not None)
    rng = init.resolve_generator(rng)
    X, y = _array(X), _array(y)
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"fit: X has no samples (shape {X.shape}); nothing to train on")
    steps = num_batches(len(X), batch_size)
    warned = False
    history = {"loss": [], **{name: [] for name, _ in metric_fns}}
    if validation_data is not None:
        history["val_loss"] = []
        history.update({f"val_{name}": [] for name, _ in metric_fns})
    was_training = model.training
    model.train()
    try:
        for epoch in range(1, epochs + 1):
            bar = _progress_bar(progress, steps, f"epoch {epoch}/{epochs}")
            seen, loss_sum = 0, 0.0
            metric_sums = [0.0] * len(metric_fns)
            for step, (X_batch, y_batch) in enumerate(
                    batches(X, y, batch_size, shuffle=shuffle, rng=rng), start=1):
                out = model(X_batch)
                batch_loss = loss_fn(out, y_batch)
                optimizer.zero_grad()
                batch_loss.backward()
                optimizer.step()
                n = len(X_batch)
                seen += n
                value = batch_loss.item()
                if not warned and not math.isfinite(value):
                    warned = True
                    warnings.warn(f"fit: the loss is {value} at epoch {epoch}, batch {step} of "
                                  f"{steps}; the weights are diverging (try a lower learning "
                                  "rate); training continues, later non-finite losses are not "
                                  "reported again", RuntimeWarning, stacklevel=2)
                loss_sum += value * n
                for i, (_, fn) in enumerate(metric_fns):
                    metric_sums[i] += fn(out.data, y_batch) * n
                if bar is not None:
                    running = {"loss": loss_sum / seen}
                    running.update({name: s / seen for (name, _), s in zip(metric_fns,
                                                                          metric_sums)})
                    bar.set_postfix(_format(running), refresh=False)
                    bar.update(1)
            logs = {"loss": loss_sum / max(seen, 1)}
            logs.update({name: s / max(seen, 1) for (name, _), s in zip(metric_fns, metric_sums)})
            if validation_data is not None:
                X_val, y_val = validation_data
                scores = evaluate(model, X_val, y_val, loss=loss_fn, metrics=metrics,
                                  batch_size=batch_size)
                logs.update({f"val_{key}": value for key, value in scores.items()})
            for key, value in logs.items():
                history[key].append(value)
            if bar is not None:
                bar.set_postfix(_format(logs), refresh=True)
                bar.close()
            if stopper is not None and stopper.update(epoch, logs, model):
                break
        if stopper is not None:
            stopper.restore(model)
    finally:
        model.train(was_training)
    return history


def _eval_mode(model):
    was_training = model.training
    model.eval()
    return was_training


def predict(model, X, batch_size=None):
    """Model outputs for X as an ndarray, in eval mode and without recording a graph.

    X: (N, ...); batch_size: None (all at once) or the number of samples per forward pass.
    """
    X = _array(X)
    was_training = _eval_mode(model)
    try:
        with no_grad():
            if batch_size is None:
                return _array(model(X)).copy()
            parts = [_array(model(X_batch)) for X_batch in batches(X, None, batch_size,
                                                                   shuffle=False)]
            return np.concatenate(parts, axis=0)
    finally:
        model.train(was_training)


def evaluate(model, X, y, *, loss=None, metrics=("accuracy",), batch_size=None):
    """Loss and metrics of ``model`` on (X, y), in eval mode and without recording a graph.

    Returns a dict: "loss" (when ``loss`` is given, a sample-weighted mean over batches) and
    one entry per metric.  batch_size: None (all at once) or samples per forward pass.
    """
    X, y = _array(X), _array(y)
    loss_fn = get_loss(loss) if loss is not None else None
    metric_fns = _metric_functions(metrics, loss_fn)
    was_training = _eval_mode(model)
    seen, loss_sum = 0, 0.0
    metric_sums = [0.0] * len(metric_fns)
    try:
        with no_grad():
            for X_batch, y_batch in batches(X, y, batch_size or max(len(X), 1), shuffle=False):
                out = model(X_batch)
                n = len(X_batch)
                seen += n
                if loss_fn is not None:
                    loss_sum += loss_fn(out, y_batch).item() * n
                for i, (_, fn) in enumerate(metric_fns):
                    metric_sums[i] += fn(out.data, y_batch) * n
    finally:
        model.train(was_training)
    scores = {"loss": loss_sum / max(seen, 1)} if loss_fn is not None else {}
    scores.update({name: s / max(seen, 1) for (name, _), s in zip(metric_fns, metric_sums)})
    return scores
