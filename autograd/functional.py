"""Composite operations, built from the primitives in ``ops`` and ``shape_ops`` (their gradients come for free).

The library composites that a learner would rather see as one step (softmax) record inside a name
scope of their own, so graph images draw each as one labelled cluster.
"""
import numpy as np

from autograd import ops, shape_ops
from autograd.grad_mode import name_scope
from autograd.primitive import export
from autograd.tensor import as_tensor


@export(group="composite", method=True, numpy=np.mean)
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (None: all; int; tuple; negative)."""
    x = as_tensor(x, "mean")
    axes = ops.normalize_axes(axis, x.shape, "mean")
    return ops.sum(x, axes, keepdims) * (1.0 / ops.reduced_size(x, axes, "mean"))


@export(group="composite", method=True)
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along one ``axis``, stable for inputs of any magnitude; same shape."""
    with name_scope("softmax"):
        return ops.exp(ops.log_softmax(x, axis))


@export(group="composite", method=True, numpy=np.expand_dims)
def expand_dims(x, axis):
    """Insert a size-1 dimension at ``axis``, as ``np.expand_dims``."""
    x = as_tensor(x, "expand_dims")
    try:
        shape = np.expand_dims(np.empty(x.shape, dtype=bool), axis).shape
    except np.exceptions.AxisError:
        raise ValueError(f"expand_dims: axis {axis} is out of range for a result of {x.ndim + len(np.atleast_1d(axis))} "
                         f"dimensions (the input has shape {x.shape})") from None
    except TypeError:
        raise TypeError(f"expand_dims: axis must be an int or a tuple of ints, not {axis!r}") from None
    return shape_ops.reshape(x, shape)


@export(group="composite", method=True, numpy=np.squeeze)
def squeeze(x, axis=None):
    """Remove size-1 dimensions (all, or those in ``axis``), as ``np.squeeze``."""
    x = as_tensor(x, "squeeze")
    try:
        shape = np.squeeze(np.empty(x.shape, dtype=bool), axis).shape
    except ValueError:
        raise ValueError(f"squeeze: axis {axis} of shape {x.shape} does not have size 1") from None
    return shape_ops.reshape(x, shape)


@export(group="composite", method=True, numpy=np.swapaxes)
def swapaxes(x, axis1, axis2):
    """Exchange two axes, as ``np.swapaxes``."""
    x = as_tensor(x, "swapaxes")
    axis1, axis2 = (ops.normalize_axis(a, x.shape, "swapaxes") for a in (axis1, axis2))
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return shape_ops.transpose(x, axes)


@export(group="composite", numpy=np.stack)
def stack(tensors, axis=0):
    """Join tensors of one shape along a new ``axis``."""
    tensors = [as_tensor(t, "stack") for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = [t.shape for t in tensors]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"stack: all tensors must have the same shape, got {shapes}")
    return shape_ops.concatenate([expand_dims(t, axis) for t in tensors], axis)
