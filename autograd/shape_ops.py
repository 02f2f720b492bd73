"""The shape primitives: reshape, transpose, broadcast_to, indexing (and its adjoint, scatter), concatenate.

Each forward and its vector-Jacobian product side by side, as in ``ops``; the composites built
from them (expand_dims, squeeze, swapaxes, stack) are in ``functional``.  Their rules read only
shapes and indices (``reads=()``).
"""
import numbers
import operator

import numpy as np

from autograd.ops import axis_index, data_of, normalize_axis
from autograd.primitive import export, primitive
from autograd.tensor import Tensor, as_tensor

_reshape = primitive(lambda x, *, shape: np.reshape(x, shape), vjp=lambda i, g, out, x, *, shape: g.reshape(x.shape),
                     name="reshape", reads=(), label=lambda shape: f"reshape{shape}")


def _reshape_method(self, *shape):
    """

    As a method the shape may also be separate ints: (2, 3).reshape(3, -1) -> (3, 2)."""
    return reshape(self, shape[0] if len(shape) == 1 else shape)


@export(group="shape", method=_reshape_method, numpy=np.reshape)
def reshape(x, shape):
    """The same data in ``shape`` (a tuple; one entry may be -1)."""
    x = as_tensor(x, "reshape")
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(map(operator.index, shape))
    except TypeError:
        raise TypeError(f"reshape: the new shape must be ints (one may be -1), got {shape!r}") from None
    try:
        return _reshape(x, shape=shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} (size {x.size}) into {shape}") from None


_transpose = primitive(
    lambda x, *, axes: np.transpose(x, axes),
    vjp=lambda i, g, out, x, *, axes: g.transpose(None if axes is None else tuple(np.argsort(axes))),
    name="transpose", reads=(), label=lambda axes: "transpose" if axes is None else f"transpose{axes}")


def _transpose_method(self, *axes):
    """

    As a method the axes may also be separate ints: (2, 3, 4).transpose(2, 0, 1) -> (4, 2, 3)."""
    if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
        axes = axes[0]  # a tuple, a list, an array or None
    elif not axes:
        axes = None
    return transpose(self, axes)


@export(group="shape", method=_transpose_method, numpy=np.transpose)
def transpose(x, axes=None):
    """Permute the axes (None reverses them), as ``np.transpose``."""
    x = as_tensor(x, "transpose")
    if axes is not None:
        axes, ndim = tuple(axis_index(a, "transpose") for a in axes), x.ndim
        permutation = tuple(a + ndim if a < 0 else a for a in axes)
        if sorted(permutation) != list(range(ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {ndim} axes of shape {x.shape} "
                             "(negative axes count from the end)")
        axes = permutation
    return _transpose(x, axes=axes)


_broadcast_to = primitive(lambda x, *, shape: np.broadcast_to(x, shape), vjp=None, name="broadcast_to", reads=(),
                          label=lambda shape: f"broadcast_to{shape}")


@export(group="shape", method=True, numpy=np.broadcast_to)
def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (a read-only view); the gradient is summed back: (3,) -> (2, 3)."""
    x = as_tensor(x, "broadcast_to")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        np.broadcast_shapes(x.shape, shape)
        if len(shape) < x.ndim or np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return _broadcast_to(x, shape=shape)


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def _clean_index(index):
    """``index`` with Tensors and lists as arrays, and arrays copied (the rule reads the index; the
    caller may change their array after the forward)."""
    if isinstance(index, Tensor):
        return index._data.copy()
    if isinstance(index, np.ndarray):
        return index.copy()
    if isinstance(index, list):
        return np.array(index)
    if isinstance(index, tuple):
        return tuple(_clean_index(p) for p in index)
    return index


def _scatter_forward(g, *, shape, index):
    grad = np.zeros(shape, dtype=g.dtype)
    if _is_basic_index(index) or (isinstance(index, np.ndarray) and index.dtype == np.bool_):
        grad[index] = g  # no position is selected twice
    else:
        np.add.at(grad, index, g)  # repeated indices accumulate
    return grad


def _index_label(index):
    def part(p):
        if isinstance(p, slice):
            text = ":".join("" if v is None else str(v) for v in (p.start, p.stop, p.step))
            return text[:-1] if p.step is None else text
        if p is Ellipsis:
            return "..."
        if isinstance(p, np.ndarray):
            return f"<{'mask' if p.dtype == np.bool_ else 'indices'} {p.shape}>"
        return str(p)

    parts = index if isinstance(index, tuple) else (index,)
    return "getitem[" + ", ".join(part(p) for p in parts) + "]"


_getitem = primitive(lambda x, *, index: x[index], vjp=lambda i, g, out, x, *, index: scatter(g, x.shape, index),
                     name="getitem", reads=(), label=lambda index: _index_label(index))
_scatter = primitive(_scatter_forward, vjp=lambda i, g, out, y, *, shape, index: g[index], name="scatter", reads=(),
                     label=lambda shape, index: "scatter")


@export(group="shape")
def getitem(x, index):
    """``x[index]``: basic slicing, None/Ellipsis, integer arrays and boolean masks."""
    x = as_tensor(x, "getitem")
    index = _clean_index(index)
    try:
        x._data[index]
    except (IndexError, ValueError, TypeError) as exc:
        raise IndexError(f"getitem: invalid index {index!r} for a tensor of shape {x.shape}: {exc}") from None
    return _getitem(x, index=index)


def scatter(g, shape, index):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate): the adjoint of getitem."""
    if isinstance(g, Tensor):
        return _scatter(g, shape=tuple(shape), index=index)
    return _scatter_forward(g, shape=shape, index=index)


def _concatenate_vjp(i, g, out, *xs, axis):
    start = sum(x.shape[axis] for x in xs[:i])
    index = [slice(None)] * g.ndim
    index[axis] = slice(start, start + xs[i].shape[axis])
    return g[tuple(index)]


_concatenate = primitive(lambda *xs, axis: np.concatenate(xs, axis=axis), vjp=_concatenate_vjp, name="concatenate",
                         reads=(), label=lambda axis: f"concatenate(axis={axis})")


@export(group="shape", numpy=np.concatenate)
def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing ``axis``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    if axis is None:  # as NumPy: join the flattened tensors
        tensors, axis = [reshape(t, (-1,)) for t in tensors], 0
    ndim = np.ndim(data_of(tensors[0]))
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; use stack")
    shapes = [np.shape(data_of(t)) for t in tensors]
    axis = normalize_axis(axis, shapes[0], "concatenate")
    for s in shapes:
        if len(s) != ndim or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ValueError(f"concatenate: shapes {shapes} differ outside axis {axis}")
    return _concatenate(*tensors, axis=axis)
