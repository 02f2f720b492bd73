"""Keras-style training loop: ``fit``, ``evaluate``, ``predict`` and metrics."""

import contextlib
import math
import warnings

import numpy as np

from autograd import no_grad
from autograd.compile import compile as autograd_compile

from . import init
from .callbacks import EarlyStopping, FitRun, as_callbacks
from .data import batches, num_batches
from .losses import BCEWithLogitsLoss, binary_cross_entropy_with_logits, get_loss, is_classification
from .optim import get_optimizer
from .utils import as_array, blas_threads

__all__ = ["fit", "evaluate", "predict", "accuracy", "EarlyStopping", "METRICS", "BLAS_THREADS"]

# fit, evaluate and predict run with this many BLAS threads (None: as BLAS is configured); one
# is fastest for the small matrix products of dense networks (see nn.utils.blas_threads)
BLAS_THREADS = 1


def accuracy(pred, target, threshold: float = 0.5) -> float:
    """Fraction of correct predictions.

    pred: (N, C) scores or probabilities with C > 1 (the class is the argmax), or (N,) /
    (N, 1) binary scores (the class is ``pred > threshold``: 0.5 for probabilities, 0 for
    logits).  target: (N,) or (N, 1) class indices or 0/1 labels, or (N, C) one-hot /
    probabilities (C > 1).
    """
    pred, target = as_array(pred), as_array(target)
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
    # (the count over the length: np.mean's correctly rounded quotient, without its Python layers)
    return np.count_nonzero(predicted == labels) / len(labels) if len(labels) else 0.0


def mean_absolute_error(pred, target) -> float:
    """mean(|pred - target|) over every element (same shapes)."""
    return float(np.mean(np.abs(as_array(pred) - as_array(target))))


def mean_squared_error(pred, target) -> float:
    """mean((pred - target)**2) over every element (same shapes)."""
    return float(np.mean((as_array(pred) - as_array(target)) ** 2))


# metric names accepted by fit/evaluate (Keras's short names too)
METRICS = {"accuracy": accuracy, "acc": accuracy, "mae": mean_absolute_error,
           "mean_absolute_error": mean_absolute_error, "mse": mean_squared_error,
           "mean_squared_error": mean_squared_error}


def _metric_functions(metrics, loss_fn):
    """[(name, fn(pred_array, target_array) -> float)] from names or callables; ``None``
    means accuracy for a classification loss (or no loss), nothing for any other."""
    if metrics is None:
        metrics = ("accuracy",) if loss_fn is None or is_classification(loss_fn) else ()
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    logits_loss = loss_fn is binary_cross_entropy_with_logits \
        or isinstance(loss_fn, BCEWithLogitsLoss)
    out = []
    for metric in metrics:
        if metric in ("accuracy", "acc"):
            threshold = 0.0 if logits_loss else 0.5
            out.append(("accuracy", lambda p, t, th=threshold: accuracy(p, t, th)))
        elif isinstance(metric, str) and metric in METRICS:
            out.append((METRICS[metric].__name__, METRICS[metric]))
        elif callable(metric):
            out.append((getattr(metric, "__name__", type(metric).__name__), metric))
        else:
            raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)} or a "
                             "callable (pred, target) -> float")
    return out


def _model_dtype(model):
    dtypes = [p.dtype for p in model.parameters() if p.dtype.kind == "f"]
    return dtypes[0] if dtypes else None


def _cast(array, dtype, integers_too):
    """Float data (and, for inputs, integer/bool data) to the model's dtype."""
    kinds = "fiub" if integers_too else "f"
    if dtype is None or array.dtype.kind not in kinds:
        return array
    return array.astype(dtype, copy=False)


def _as_data(model, X, y=None):
    """Inputs cast to the model's dtype (as Keras does); float targets too, integer labels not."""
    dtype = _model_dtype(model)
    X = _cast(as_array(X), dtype, integers_too=True)
    return X if y is None else (X, _cast(as_array(y), dtype, integers_too=False))


@contextlib.contextmanager
def _mode(model, training):
    """Run in train or eval mode, then put back the mode the model had."""
    was_training = model.training
    model.train(training)
    try:
        yield
    finally:
        model.train(was_training)


def _validation(validation_data, validation_split, X, y):
    """(X_train, y_train, (X_val, y_val) or None): Keras's split takes the last samples."""
    if validation_split:
        if validation_data is not None:
            raise ValueError("fit: give validation_data or validation_split, not both")
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
        split_at = math.floor(len(X) * (1.0 - validation_split))
        if split_at == 0 or split_at == len(X):
            raise ValueError(f"fit: validation_split={validation_split} of {len(X)} samples "
                             "leaves no training or no validation sample")
        return X[:split_at], y[:split_at], (X[split_at:], y[split_at:])
    return X, y, validation_data


class _Epoch:
    """Running, sample-weighted means of the loss and the metrics over one epoch."""

    def __init__(self, metric_fns):
        self.metric_fns, self.seen, self.loss = metric_fns, 0, 0.0
        self.metrics = [0.0] * len(metric_fns)

    def add(self, loss, out, target, n):
        self.seen += n
        self.loss += loss * n
        for i, (_, fn) in enumerate(self.metric_fns):
            self.metrics[i] += fn(out, target) * n

    def logs(self):
        seen = max(self.seen, 1)
        logs = {"loss": self.loss / seen}
        logs.update({name: s / seen for (name, _), s in zip(self.metric_fns, self.metrics)})
        return logs


def _progress_bar(verbose, total, epoch, epochs):
    if verbose != 1:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=True)


def _format(logs):
    return {key: f"{value:.4g}" for key, value in logs.items()}


def _warn_non_finite(value, epoch, step, steps):
    warnings.warn(f"fit: the loss is {value} at epoch {epoch}, batch {step} of {steps}; the "
                  "weights are diverging (try a lower learning rate); training continues, "
                  "later non-finite losses are not reported again", RuntimeWarning, stacklevel=4)


def _train_step(model, loss_fn, optimizer, X_batch, y_batch):
    """One forward, backward and update; returns (output, loss value)."""
    out = model(X_batch)
    batch_loss = loss_fn(out, y_batch)
    optimizer.zero_grad()
    batch_loss.backward()
    optimizer.step()
    return out, batch_loss.item()


def _compiled_step(model, loss_fn, optimizer):
    """``(X_batch, y_batch) -> (output, loss)``: the optimizer's zero_grad(), the forward, the backward
    and the optimizer's step(), compiled as one (autograd.compile).  None for models with buffers
    (BatchNorm's running statistics are updated outside autograd, which a replay would skip)."""
    if any(True for _ in model.named_buffers()):
        return None

    def forward_backward(X_batch, y_batch):
        out = model(X_batch)
        batch_loss = loss_fn(out, y_batch)
        batch_loss.backward()
        return out, batch_loss

    return autograd_compile(forward_backward, optimizer=optimizer)


def _recurring_sizes(n, batch_size, epochs):
    """The batch lengths an ``epochs``-long fit on ``n`` samples meets at least three times: a compiled step
    records its first two calls of each input shape (eagerly, and slower than an eager step), so a shorter
    last batch seen once or twice (one or two epochs) runs as a plain eager step, with the same result."""
    size = max(1, min(int(batch_size), n))
    full, last = divmod(n, size)
    return {length for length, count in ((size, full * epochs), (last, epochs)) if length and count >= 3}


def fit(model, X, y, *, loss, optimizer, epochs: int, batch_size: int,
        validation_data: tuple | None = None, validation_split: float = 0.0, metrics=None,
        callbacks=(), early_stopping=None, verbose: int = 1, shuffle: bool = True, rng=None,
        progress: bool | None = None, compile: bool = True) -> dict:
    """Train ``model`` on (X, y) for ``epochs`` passes of mini-batches; returns the history.

    X: (N, ...) inputs; y: (N, ...) targets.  Every argument is described in the README's
    ``nn.fit`` table.  In short: loss and
    optimizer are objects or names; ``metrics=None`` reports accuracy only for classification
    losses; ``callbacks`` are ``nn.callbacks`` objects or ``nn.lr_scheduler`` schedulers;
    ``verbose`` 0 (silent), 1 (a progress bar per epoch) or 2 (one line per epoch);
    ``progress=False`` is ``verbose=0`` (kept for old code).  X (and float y) are cast to the
    model's dtype.  The model trains in train mode and is left in the mode it had.

    Returns a dict of per-epoch lists, Keras-style: "loss", each metric, "val_loss" /
    "val_<metric>" with validation data, and whatever callbacks add (such as "lr").  Training
    values are sample-weighted means over the epoch's batches, taken before each batch's update.

    ``compile=True`` (the default) runs each batch's forward and backward as a compiled step
    (``autograd.compile``): the same history as ``compile=False`` (eager), faster; models with
    buffers (BatchNorm) and steps that cannot be replayed run eagerly.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    if progress is not None:
        verbose = 1 if progress else 0
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
    loss_fn = get_loss(loss)
    optimizer = get_optimizer(optimizer, [p for p in model.parameters() if p.requires_grad])
    metric_fns = _metric_functions(metrics, loss_fn)
    X, y = _as_data(model, X, y)
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"fit: X has no samples (shape {X.shape}); nothing to train on")
    X, y, validation_data = _validation(validation_data, validation_split, X, y)
    steps = num_batches(len(X), batch_size)
    callbacks = as_callbacks(callbacks, early_stopping, validation_data is not None)
    run = FitRun(model, optimizer, epochs, steps, verbose)
    rng = init.resolve_generator(rng)
    warned = False
    step_fn = _compiled_step(model, loss_fn, optimizer) if compile else None
    compiled_sizes = _recurring_sizes(len(X), batch_size, epochs) if step_fn is not None else ()
    batch_hooks = callbacks.callbacks  # (none: no hook call per batch)
    with _mode(model, training=True), blas_threads(BLAS_THREADS):
        callbacks.on_train_begin(run)
        for epoch in range(1, epochs + 1):
            run.epoch = epoch
            callbacks.on_epoch_begin(epoch)
            bar = _progress_bar(verbose, steps, epoch, epochs)
            running = _Epoch(metric_fns)
            for step, (X_batch, y_batch) in enumerate(
                    batches(X, y, batch_size, shuffle=shuffle, rng=rng), start=1):
                if len(X_batch) in compiled_sizes:  # (zero_grad() and step() included)
                    out, batch_loss = step_fn(X_batch, y_batch)
                    value = batch_loss.item()
                else:
                    out, value = _train_step(model, loss_fn, optimizer, X_batch, y_batch)
                if not warned and not math.isfinite(value):
                    warned = True
                    _warn_non_finite(value, epoch, step, steps)
                running.add(value, out.data, y_batch, len(X_batch))
                if batch_hooks:
                    callbacks.on_batch_end(step, value)
                if bar is not None:
                    bar.set_postfix(_format(running.logs()), refresh=False)
                    bar.update(1)
            logs = running.logs()
            if validation_data is not None:
                scores = evaluate(model, *validation_data, loss=loss_fn, metrics=metrics,
                                  batch_size=batch_size)
                logs.update({f"val_{key}": value for key, value in scores.items()})
            callbacks.on_epoch_end(epoch, logs)
            for key, value in logs.items():
                run.history.setdefault(key, []).append(value)
            _report(bar, verbose, epoch, epochs, logs)
            if run.stop_training:
                break
        callbacks.on_train_end()
    return run.history


def _report(bar, verbose, epoch, epochs, logs):
    if bar is not None:
        bar.set_postfix(_format(logs), refresh=True)
        bar.close()
    elif verbose == 2:
        print(f"epoch {epoch}/{epochs}: " + ", ".join(f"{k}={v:.4g}" for k, v in logs.items()))


def predict(model, X, batch_size: int | None = None) -> np.ndarray:
    """Model outputs for X as an ndarray, in eval mode and without recording a graph.

    X: (N, ...), cast to the model's dtype; batch_size: None (all at once) or the number of
    samples per forward pass.
    """
    X = _as_data(model, X)
    with _mode(model, training=False), no_grad(), blas_threads(BLAS_THREADS):
        if batch_size is None:
            return as_array(model(X)).copy()
        parts = [as_array(model(X_batch)) for X_batch in batches(X, None, batch_size,
                                                                 shuffle=False)]
        return np.concatenate(parts, axis=0)


def evaluate(model, X, y, *, loss=None, metrics=None, batch_size: int | None = None) -> dict:
    """Loss and metrics of ``model`` on (X, y), in eval mode and without recording a graph.

    Returns a dict: "loss" (when ``loss`` is given, a sample-weighted mean over batches) and
    one entry per metric (``metrics=None``: accuracy for a classification loss or no loss).
    X (and float y) are cast to the model's dtype.  batch_size: None (all at once) or samples
    per forward pass.
    """
    X, y = _as_data(model, X, y)
    loss_fn = get_loss(loss) if loss is not None else None
    running = _Epoch(_metric_functions(metrics, loss_fn))
    with _mode(model, training=False), no_grad(), blas_threads(BLAS_THREADS):
        for X_batch, y_batch in batches(X, y, batch_size or max(len(X), 1), shuffle=False):
            out = model(X_batch)
            value = loss_fn(out, y_batch).item() if loss_fn is not None else 0.0
            running.add(value, out.data, y_batch, len(X_batch))
    scores = running.logs()
    if loss_fn is None:
        del scores["loss"]
    return scores
