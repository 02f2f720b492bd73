"""Composite operations, built from the primitives in ``ops`` (their gradients come for free)."""
import numpy as np

from autograd import ops
from autograd.tensor import Tensor, as_operand


def _tensor(x, op):
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(as_operand(x, op)))


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (None: all; int; tuple; negative)."""
    x = _tensor(x, "mean")
    axes = ops._normalize_axis(axis, x.ndim, "mean")
    count = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    if count == 0:
        raise ValueError(f"mean: the reduced part of shape {x.shape} is empty")
    return ops.sum(x, axes, keepdims) * (1.0 / count)


def logsumexp(x, axis=-1, keepdims=False):
    """log(sum(exp(x))) over ``axis``, stable for inputs of any magnitude."""
    x = _tensor(x, "logsumexp")
    axes = ops._normalize_axis(axis, x.ndim, "logsumexp")
    # shifting by the (constant) maximum changes nothing mathematically but keeps exp() <= 1
    shift = np.max(x.data, axis=axes, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    out = ops.log(ops.sum(ops.exp(x - shift), axes, True)) + shift
    return out if keepdims else squeeze(out, axes if axes is not None else None)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, stable for inputs of any magnitude."""
    return ops.exp(ops.log_softmax(x, axis))


def expand_dims(x, axis):
    """Insert a size-1 dimension at ``axis``, as ``np.expand_dims``."""
    x = _tensor(x, "expand_dims")
    return ops.reshape(x, np.expand_dims(np.empty(x.shape, dtype=bool), axis).shape)


def squeeze(x, axis=None):
    """Remove size-1 dimensions (all, or those in ``axis``), as ``np.squeeze``."""
    x = _tensor(x, "squeeze")
    try:
        shape = np.squeeze(np.empty(x.shape, dtype=bool), axis).shape
    except ValueError:
        raise ValueError(f"squeeze: axis {axis} of shape {x.shape} does not have size 1") from None
    return ops.reshape(x, shape)


def swapaxes(x, axis1, axis2):
    """Exchange two axes, as ``np.swapaxes``."""
    x = _tensor(x, "swapaxes")
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return ops.transpose(x, axes)


def stack(tensors, axis=0):
    """Join tensors of one shape along a new ``axis``."""
    tensors = [_tensor(t, "stack") for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = [t.shape for t in tensors]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"stack: all tensors must have the same shape, got {shapes}")
    return ops.concatenate([expand_dims(t, axis) for t in tensors], axis)
