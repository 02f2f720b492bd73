"""Loss functions matching PyTorch's numbers, as functions and as Modules.

``reduction``: "mean" (default), "sum" or "none" (the per-element / per-sample losses).
Targets may be ndarrays, lists or Tensors; a Tensor target that requires grad gets a gradient.
Each loss runs inside ``autograd.name_scope`` of its name, so a graph image draws it as one
cluster.
"""

import functools
import math

import numpy as np

from autograd import Tensor, logsumexp, name_scope, stack, where

from .module import Module
from .utils import as_array, as_tensor

__all__ = ["mse_loss", "cross_entropy", "nll_loss", "categorical_crossentropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "MSELoss",
           "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "LOSSES", "get_loss", "is_classification"]

# categorical_crossentropy clips probabilities at exp(-100) before the log: log clamped at -100,
# as PyTorch's binary_cross_entropy, with a finite gradient.
_LOG_FLOOR = math.exp(-100.0)
# PyTorch's binary_cross_entropy gradient is (p - t) / max(p (1 - p), 1e-12).
_BCE_EPS = 1e-12


def _scoped(loss_fn):
    """Run the loss inside a name scope of its name (one cluster in graph images)."""
    @functools.wraps(loss_fn)
    def scoped(*args, **kwargs):
        with name_scope(loss_fn.__name__):
            return loss_fn(*args, **kwargs)
    return scoped


def _reduce(loss, reduction, fn):
    if reduction == "mean":
        if loss.size == 0:
            raise ValueError(f"{fn}: the batch is empty (per-sample losses of shape "
                             f"{tuple(loss.shape)}), so their mean is undefined (PyTorch returns "
                             "nan); skip empty batches, or use reduction='sum' (0)")
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(pred, target, fn):
    if tuple(pred.shape) != tuple(target.shape):
        hint = ""
        if pred.size == target.size:
            hint = f" (reshape one of them, e.g. target.reshape{tuple(pred.shape)})"
        raise ValueError(f"{fn}: input shape {tuple(pred.shape)} and target shape "
                         f"{tuple(target.shape)} differ{hint}; broadcasting them would give a "
                         "wrong loss")


def _float_target(target, like):
    """Target as a Tensor of ``like``'s dtype when it is not already a Tensor."""
    if isinstance(target, Tensor):
        return target
    return Tensor(np.asarray(target, dtype=like.dtype), name="target")  # (its label in graph images)


@_scoped
def mse_loss(pred, target, reduction="mean"):
    """Mean squared error: mean((pred - target)**2).  pred, target: same shape (any)."""
    pred = as_tensor(pred)
    target = _float_target(target, pred)
    _same_shape(pred, target, "mse_loss")
    diff = pred - target
    return _reduce(diff * diff, reduction, "mse_loss")


def _is_one_hot(labels):
    return bool(np.all((labels == 0) | (labels == 1)) and np.all(labels.sum(axis=-1) == 1))


def _class_nll(log_probs, target, reduction, fn):
    """Negative log-likelihood of the target classes given (N, C) or (C,) log-probabilities."""
    if log_probs.ndim not in (1, 2):
        raise ValueError(f"{fn}: input must be (N, C) or (C,), got shape "
                         f"{tuple(log_probs.shape)}; flatten extra dimensions first")
    shape = tuple(log_probs.shape)
    num_classes = shape[-1]
    labels = as_array(target)
    if labels.shape == shape:  # probabilities / one-hot (integer or bool ones are cast to float)
        if labels.dtype.kind in "iub" and not _is_one_hot(labels):
            raise TypeError(f"{fn}: integer target of the input's shape {shape} is not one-hot "
                            f"(each row one 1, the rest 0); class probabilities must be float "
                            f"(y.astype(float)), class indices have shape {shape[:-1]}")
        if isinstance(target, Tensor) and labels.dtype.kind == "f":
            probs = target
        else:
            probs = Tensor(labels.astype(log_probs.dtype))
        return _reduce(-(log_probs * probs).sum(axis=-1), reduction, fn)
    if labels.shape != shape[:-1]:
        raise ValueError(f"{fn}: target shape {labels.shape} fits neither class indices "
                         f"{shape[:-1]} nor probabilities {shape} for input of shape {shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{fn}: class-index targets must be integers, got dtype {labels.dtype} "
                        "(use y.astype(int), or pass float probabilities of the input's shape)")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)].ravel()[0]
        raise ValueError(f"{fn}: target class {bad} is out of range for {num_classes} classes "
                         f"(input shape {shape}); labels must be in [0, {num_classes - 1}]")
    if log_probs.ndim == 1:
        picked = log_probs[int(labels)]
    else:
        picked = log_probs[np.arange(len(labels)), labels]
    return _reduce(-picked, reduction, fn)


@_scoped
def cross_entropy(logits, target, reduction="mean"):
    """Softmax cross-entropy from unnormalised scores, through one stable log-softmax.

    logits: (N, C) or (C,).  target: integer class indices of shape (N,) (or a scalar for 1-D
    logits), or class probabilities / one-hot of logits' shape (float, or integer/bool one-hot,
    which is cast to the logits' dtype).  "mean" divides by N in both cases, as PyTorch does.
    "none" gives the (N,) per-sample losses.
    """
    logits = as_tensor(logits)
    if logits.ndim not in (1, 2):
        raise ValueError(f"cross_entropy: logits must be (N, C) or (C,), got shape "
                         f"{tuple(logits.shape)}; flatten extra dimensions first")
    return _class_nll(logits.log_softmax(axis=-1), target, reduction, "cross_entropy")


@_scoped
def nll_loss(log_probs, target, reduction="mean"):
    """Negative log-likelihood from log-probabilities (after ``LogSoftmax``), as PyTorch's.

    log_probs: (N, C) or (C,); target as in ``cross_entropy``.
    """
    return _class_nll(as_tensor(log_probs), target, reduction, "nll_loss")


@_scoped
def categorical_crossentropy(probs, target, reduction="mean"):
    """Keras's cross-entropy for a model whose last layer is a softmax: -log(probs[target]).

    probs: (N, C) probabilities, clipped at exp(-100) before the log (no log(0)); target as in
    ``cross_entropy`` (indices, Keras's "sparse" form, or one-hot).  For raw scores prefer
    ``cross_entropy``, which is exact for any logits.
    """
    probs = as_tensor(probs)
    return _class_nll(probs.clip(_LOG_FLOOR, 1.0).log(), target, reduction,
                      "categorical_crossentropy")


def _straight_through(x, value, slope):
    """A Tensor equal to the array ``value`` whose derivative with respect to ``x`` is the
    array ``slope``, elementwise (x - x.detach() is exactly 0, so no rounding, no underflow)."""
    return (x - x.detach()) * slope + value


def _check_unit_interval(values, what, hint):
    """BCE's inputs and targets: every value in [0, 1]; a NaN is named as such."""
    if not values.size or (np.all(values >= 0) and np.all(values <= 1)):
        return
    nans = int(np.isnan(values).sum())
    if nans:
        raise ValueError(f"binary_cross_entropy: the {what} holds {nans} NaN value(s) (of "
                         f"{values.size}); check the model or data for NaN before the loss")
    raise ValueError(f"binary_cross_entropy: the {what} must hold probabilities in [0, 1], got "
                     f"values in [{values.min()}, {values.max()}]; {hint}")


@_scoped
def binary_cross_entropy(prob, target, reduction="mean"):
    """-(t log p + (1 - t) log(1 - p)) with each log clamped at -100, as in PyTorch.

    prob: probabilities in [0, 1], any shape; target: same shape, values in [0, 1] (anything
    else, NaN included, is a ValueError that says which).

    Values and gradients are PyTorch's, including at saturation: where p (1 - p) < 1e-12
    (p = 0, p = 1, p = 1e-50) the loss uses the clamped logs and the gradient with respect to
    p is torch's (p - t) / max(p (1 - p), 1e-12), large but finite, instead of the zero a
    clipped log would give (training could never move such an output).  There the logs are
    straight-through constants: their value is the clamped log, their first derivative that
    of torch, their second derivative 0.  Elsewhere the loss is the plain expression (so
    higher derivatives are exact).  Both work in float32 (no subnormal clamp, no overflow).
    """
    prob = as_tensor(prob)
    target = _float_target(target, prob)
    _same_shape(prob, target, "binary_cross_entropy")
    p = prob.data
    _check_unit_interval(p, "input", "for raw scores use binary_cross_entropy_with_logits")
    _check_unit_interval(as_array(target), "target", "targets are 0/1 labels or probabilities")
    saturated = p * (1.0 - p) < _BCE_EPS
    if not saturated.any():
        log_p, log_1mp = prob.log(), (1.0 - prob).log()
    else:
        safe = where(saturated, 0.5, prob)  # keeps the plain branch's logs and gradients finite
        with np.errstate(divide="ignore"):
            clamped_log_p = np.maximum(np.log(p), -100.0)
            clamped_log_1mp = np.maximum(np.log(1.0 - p), -100.0)
        denominator = np.maximum(p * (1.0 - p), _BCE_EPS)
        log_p = where(saturated, _straight_through(prob, clamped_log_p, (1.0 - p) / denominator),
                      safe.log())
        log_1mp = where(saturated, _straight_through(prob, clamped_log_1mp, -p / denominator),
                        (1.0 - safe).log())
    complement = 1.0 - target
    if complement.is_leaf:  # a constant the loss made: say what it is in graph images
        complement.name = "1 - target"
    loss = -(target * log_p + complement * log_1mp)
    return _reduce(loss, reduction, "binary_cross_entropy")


@_scoped
def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """binary_cross_entropy(sigmoid(logits), target) computed stably for any |logits|.

    Uses softplus(x) - x t with softplus(x) = logsumexp([0, x]), whose gradient is exactly
    sigmoid(x) - t (also at x = 0).  logits, target: same shape (any).
    """
    logits = as_tensor(logits)
    target = _float_target(target, logits)
    _same_shape(logits, target, "binary_cross_entropy_with_logits")
    zeros = Tensor(np.zeros(logits.shape, dtype=logits.dtype))
    softplus = logsumexp(stack([zeros, logits], axis=-1), axis=-1)
    loss = softplus - logits * target
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


class _Loss(Module):
    _fn = None

    def __init__(self, reduction="mean"):
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction

    def forward(self, input, target):
        """The loss of ``input`` against ``target`` (shapes as the loss function takes them): a
        scalar Tensor, or per-element/per-sample losses with reduction="none"."""
        return type(self)._fn(input, target, reduction=self.reduction)

    def extra_repr(self):
        """``reduction=...``."""
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Module form of ``mse_loss``: ``MSELoss()(pred, target)``."""
    _fn = staticmethod(mse_loss)


class CrossEntropyLoss(_Loss):
    """Module form of ``cross_entropy``: ``CrossEntropyLoss()(logits, labels)``."""
    _fn = staticmethod(cross_entropy)


class NLLLoss(_Loss):
    """Module form of ``nll_loss``: pair it with ``LogSoftmax``."""
    _fn = staticmethod(nll_loss)


class BCELoss(_Loss):
    """Module form of ``binary_cross_entropy``."""
    _fn = staticmethod(binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """Module form of ``binary_cross_entropy_with_logits``."""
    _fn = staticmethod(binary_cross_entropy_with_logits)


# Names accepted by ``get_loss`` / ``nn.fit(loss=...)``: PyTorch's and Keras's vocabulary.
LOSSES = {
    "mse": mse_loss,
    "mse_loss": mse_loss,
    "mean_squared_error": mse_loss,
    "cross_entropy": cross_entropy,
    "nll_loss": nll_loss,
    "sparse_categorical_crossentropy": categorical_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_crossentropy": binary_cross_entropy,
    "bce": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "bce_with_logits": binary_cross_entropy_with_logits,
}


def is_classification(loss) -> bool:
    """True for the cross-entropy family (functions and modules): accuracy makes sense."""
    functions = (cross_entropy, nll_loss, categorical_crossentropy, binary_cross_entropy,
                 binary_cross_entropy_with_logits)
    modules = (CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss)
    return loss in functions or isinstance(loss, modules)


def get_loss(loss):
    """A loss callable from a name in ``LOSSES`` or a callable (returned as is)."""
    if callable(loss):
        return loss
    if loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(f"unknown loss {loss!r}; use a callable or one of {', '.join(LOSSES)}")
