"""The built-in primitives: each forward and its vector-Jacobian product (VJP) side by side.

Arithmetic, elementwise functions, reductions and log-softmax live here; the shape primitives
(reshape, transpose, indexing, concatenate...) in ``shape_ops``.  Each is made with the public
``primitive`` (see ``autograd.primitive`` for the rule's contract) and registered with ``export``,
from which its Tensor method and NumPy dispatch are derived.

The rules use only operators, array methods and NumPy functions, so the same rule runs on
ndarrays (first-order backward) and on Tensors (``create_graph=True``).  ``data_of`` reads a
value that carries no gradient (a mask).  Broadcasting and dtype are not the rules' concern.
"""
import operator

import numpy as np

from autograd.grad_mode import grad_enabled
from autograd.primitive import data_of, export, operand_error, primitive
from autograd.tensor import Tensor, as_operand, as_tensor

# ---------------------------------------------------------------- arithmetic
add = export(primitive(np.add, vjp=None, name="add", doc="Elementwise ``a + b`` with broadcasting."),
             group="arithmetic", numpy=np.add)
sub = export(primitive(np.subtract, vjp=lambda i, g, out, a, b: g if i == 0 else -g, name="sub", reads=(),
                       doc="Elementwise ``a - b`` with broadcasting."), group="arithmetic", numpy=np.subtract)
mul = export(primitive(np.multiply, vjp=lambda i, g, out, a, b: g * b if i == 0 else g * a, name="mul",
                       reads="inputs", doc="Elementwise ``a * b`` with broadcasting."),
             group="arithmetic", numpy=np.multiply)
# d(a/b)/db = -a/b**2 = -out/b
div = export(primitive(np.true_divide, vjp=lambda i, g, out, a, b: g / b if i == 0 else -g * out / b, name="div",
                       doc="Elementwise ``a / b`` with broadcasting."), group="arithmetic", numpy=np.true_divide)
neg = export(primitive(np.negative, vjp=lambda i, g, out, x: -g, name="neg", reads=(), doc="Elementwise ``-x``."),
             group="arithmetic", numpy=np.negative)


def _pow_vjp(i, g, out, a, b):
    if i == 0:
        if isinstance(b, (int, float)):
            if b == 0:
                return g * 0
            if b == 2:  # squares are common (squared errors); a ** 1 would cost a power
                return g * (2.0 * a)
            return g * b * a ** (b - 1)
        # a ** 0 is constant: gradient 0 also at a == 0 (as PyTorch), where b * a ** (b - 1) is 0 * inf;
        # there the exponent b - 1 becomes 1, so the product is 0 with no warning
        zero = (data_of(b) == 0) & (data_of(a) == 0)
        return g * b * a ** (np.where(zero, 1, b - 1) if zero.any() else b - 1)
    # d(a**b)/db = a**b * log(a), taken as 0 where a <= 0 (the power is not differentiable there in b;
    # masking out too keeps 0 ** -1 = inf from making inf * log(1) = nan)
    positive = data_of(a) > 0
    return g * np.where(positive, out, 0) * np.log(np.where(positive, a, 1))


pow = export(primitive(np.power, vjp=_pow_vjp, name="pow",
                       doc="Elementwise ``a ** b`` with broadcasting; either side may be a Tensor."),
             group="arithmetic", numpy=np.power)


# ---------------------------------------------------------------- matmul
def _matmul_vjp(i, g, out, a, b):
    # NumPy's matmul promotes a 1-D left operand to (1, k) and a 1-D right operand to (k, 1),
    # then drops that dimension again; undo the same on the gradient
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    if not (a_vec or b_vec):  # the common case: methods, not NumPy's slower module functions
        return g @ b.swapaxes(-1, -2) if i == 0 else a.swapaxes(-1, -2) @ g
    if a_vec and b_vec:
        return g * b if i == 0 else g * a
    if a_vec:
        g = np.expand_dims(g, -2)
        a = np.expand_dims(a, 0)
    if b_vec:
        g = np.expand_dims(g, -1)
        b = np.expand_dims(b, -1)
    if i == 0:
        grad = g @ np.swapaxes(b, -1, -2)
        return grad.reshape(grad.shape[:-2] + grad.shape[-1:]) if a_vec else grad
    grad = np.swapaxes(a, -1, -2) @ g
    return grad.reshape(grad.shape[:-1]) if b_vec else grad


_matmul = primitive(np.matmul, vjp=_matmul_vjp, name="matmul", reads="inputs")


@export(group="arithmetic", numpy=np.matmul)
def matmul(a, b):
    """Matrix product with NumPy's ``matmul`` semantics: 1-D operands, batched N-D with broadcast batch dims."""
    if isinstance(a, Tensor):
        ad = a._data
    else:
        ad = a = as_operand(a, "matmul")
    if isinstance(b, Tensor):
        bd = b._data
    else:
        bd = b = as_operand(b, "matmul")
    sa, sb = getattr(ad, "shape", ()), getattr(bd, "shape", ())  # numbers have no shape: 0-d
    if not sa or not sb:
        raise ValueError(f"matmul: {sa} @ {sb}: 0-d operands are not allowed; use * to scale")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: {sa} @ {sb}: {ka} != {kb}")
    return _matmul(a, b)


# ---------------------------------------------------------------- elementwise functions
def _elementwise(forward, vjp, name, doc, reads, numpy=()):
    return export(primitive(forward, vjp=vjp, name=name, reads=reads, doc=doc), group="elementwise",
                  method=True, numpy=numpy)


def _sigmoid_forward(x):
    # exp(-log(1 + exp(-x))) stays finite and warning-free for any x and keeps
    # relative precision for very negative x, where 1/(1+exp(-x)) would overflow
    # (float32 stays float32 by itself; integer data gives float64, as np.exp)
    return np.exp(-np.logaddexp(0, -x))


exp = _elementwise(np.exp, lambda i, g, out, x: g * out, "exp", "Elementwise e**x.", "out", np.exp)
log = _elementwise(np.log, lambda i, g, out, x: g / x, "log", "Elementwise natural logarithm.", "inputs", np.log)
sqrt = _elementwise(np.sqrt, lambda i, g, out, x: g / (out * 2), "sqrt", "Elementwise square root.", "out", np.sqrt)
abs = _elementwise(np.abs, lambda i, g, out, x: g * np.sign(x), "abs", "Elementwise |x| (gradient 0 at 0).",
                   "inputs", np.absolute)
sin = _elementwise(np.sin, lambda i, g, out, x: g * np.cos(x), "sin", "Elementwise sine.", "inputs", np.sin)
cos = _elementwise(np.cos, lambda i, g, out, x: -g * np.sin(x), "cos", "Elementwise cosine.", "inputs", np.cos)
sigmoid = _elementwise(_sigmoid_forward, lambda i, g, out, x: g * out * (1.0 - out), "sigmoid",
                       "Elementwise logistic function 1 / (1 + e**-x), stable for any x.", "out")
tanh = _elementwise(np.tanh, lambda i, g, out, x: g * (1.0 - out * out), "tanh", "Elementwise hyperbolic tangent.",
                    "out", np.tanh)
relu = _elementwise(lambda x: np.maximum(x, 0), lambda i, g, out, x: g * (data_of(out) > 0), "relu",
                    "Elementwise max(x, 0) (gradient 0 at 0).", "out")


def _extremum_weight(a, b, greater):
    # ties share the gradient evenly, as for the reductions
    a, b = data_of(a), data_of(b)
    wins = (a > b) if greater else (a < b)
    return np.where(wins, 1.0, np.where(a == b, 0.5, 0.0))


maximum = _elementwise(
    np.maximum, lambda i, g, out, a, b: g * (_extremum_weight(a, b, True) if i == 0 else _extremum_weight(b, a, True)),
    "maximum", "Elementwise maximum with broadcasting; ties split the gradient evenly.", "inputs", np.maximum)
minimum = _elementwise(
    np.minimum, lambda i, g, out, a, b: g * (_extremum_weight(a, b, False) if i == 0 else _extremum_weight(b, a, False)),
    "minimum", "Elementwise minimum with broadcasting; ties split the gradient evenly.", "inputs", np.minimum)


_where = primitive(lambda a, b, *, cond: np.where(cond, a, b),
                   vjp=lambda i, g, out, a, b, *, cond: np.where(cond, g, 0) if i == 0 else np.where(cond, 0, g),
                   name="where", reads=(), label=lambda cond: "where")


@export(group="elementwise", numpy=np.where)
def where(cond, a, b):
    """Elementwise ``a`` where ``cond`` is true, else ``b``, with broadcasting (``cond`` carries no gradient)."""
    cond = np.array(data_of(cond), dtype=bool)  # a copy: the rule reads it, the caller may change theirs
    try:
        return _where(a, b, cond=cond)
    except ValueError as exc:
        shapes = [cond.shape] + [np.shape(data_of(v)) for v in (a, b)]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            labelled = [f"{name} {shape}" for name, shape in zip(("cond", "a", "b"), shapes)]
            raise operand_error("where", labelled, exc) from None
        raise


def _clip_vjp(i, g, out, x, *, lo, hi):
    x = data_of(x)
    inside = np.ones(g.shape, dtype=bool)  # the output's shape: array bounds may broadcast x
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return g * inside


_clip = primitive(lambda x, *, lo, hi: np.clip(x, lo, hi), vjp=_clip_vjp, name="clip", reads="inputs",
                  label=lambda lo, hi: f"clip({_short(lo)}, {_short(hi)})")


def _short(bound):
    return f"{bound:.4g}" if isinstance(bound, (float, np.floating)) else str(bound)


def _np_clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    """``np.clip``'s signature (positional, ``a_min``/``a_max`` and NumPy 2's ``min``/``max``) on a Tensor."""
    if out is not None or kwargs:
        raise TypeError(f"np.clip on a Tensor takes no {'out' if out is not None else ', '.join(kwargs)} argument")
    if (a_min is not None and min is not None) or (a_max is not None and max is not None):
        raise TypeError("np.clip: give each bound once (a_min or min, a_max or max)")
    return clip(a, a_min if min is None else min, a_max if max is None else max)


@export(group="elementwise", method=True, numpy={np.clip: _np_clip})
def clip(x, lo=None, hi=None):
    """Elementwise ``x`` limited to [lo, hi] (constant bounds; either may be None); gradient 1 inside, 0 outside."""
    if lo is None and hi is None:
        raise ValueError("clip: give at least one of lo and hi")
    for name, bound in (("lo", lo), ("hi", hi)):
        if isinstance(bound, Tensor) and bound.requires_grad and grad_enabled():
            raise RuntimeError(
                f"clip: the bound {name} requires grad, but clip treats its bounds as constants and would drop "
                f"that gradient; use autograd.maximum(x, lo) for a lower bound and autograd.minimum(x, hi) for "
                f"an upper one to differentiate with respect to a bound, or pass {name}.detach()"
            )
    # the bounds are constants: plain numbers or arrays (a Tensor bound would re-enter np.clip's dispatch)
    lo, hi = (None if v is None else v._data if isinstance(v, Tensor) else as_operand(v, "clip") for v in (lo, hi))
    if lo is not None and hi is not None and np.any(np.asarray(lo) > np.asarray(hi)):
        raise ValueError(f"clip: lo={lo} is greater than hi={hi}")
    return _clip(x, lo=lo, hi=hi)


_astype = primitive(lambda x, *, dtype: x.astype(dtype), vjp=None, name="astype", reads=(),
                    label=lambda dtype: f"astype({np.dtype(dtype).name})")


@export(group="elementwise", method=True)
def astype(x, dtype):
    """``x`` converted to ``dtype`` (a float dtype when it requires grad); the gradient is converted back."""
    dtype = np.dtype(dtype)
    if isinstance(x, Tensor) and x.requires_grad and dtype.kind != "f":
        raise TypeError(f"astype: a tensor that requires grad can only become a float dtype, not {dtype}")
    return _astype(x, dtype=dtype)


# ---------------------------------------------------------------- axes and reductions
def _axes_label(name):
    def label(axis, keepdims):
        parts = [] if axis is None else [f"axis={axis[0] if len(axis) == 1 else axis}"]
        if keepdims:
            parts.append("keepdims")
        return f"{name}({', '.join(parts)})" if parts else name

    return label


def axis_index(axis, op, expected="an int"):
    """``axis`` as an int; NumPy integers are fine, bools and floats are refused (NumPy would read True as 1)."""
    if not isinstance(axis, (bool, np.bool_)):
        try:
            return operator.index(axis)
        except TypeError:
            pass
    raise TypeError(f"{op}: axis must be {expected}, not {type(axis).__name__} {axis!r}")


def normalize_axis(axis, shape, op, expected="an int"):
    """One ``axis`` of a tensor of ``shape`` as a non-negative int (negative axes count from the end)."""
    a, ndim = axis_index(axis, op, expected), len(shape)
    if not -ndim <= a < ndim:
        raise ValueError(f"{op}: axis {a} is out of range for shape {shape}, which has {ndim} dimensions")
    return a % ndim


def normalize_axes(axis, shape, op):
    """None (all axes), or the distinct non-negative axes named by ``axis``: an int, a tuple or a list."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    expected = "an int or a tuple of ints"
    if not shape:  # NumPy lets a 0-d array be reduced over axis 0 or -1: that is all of it
        for a in axes:
            if axis_index(a, op, expected) not in (0, -1):
                raise ValueError(f"{op}: axis {a} is out of range for a 0-d tensor (0 and -1 name all of it)")
        return None
    out = tuple(normalize_axis(a, shape, op, expected) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return out


def reduced_size(x, axes, op):
    """How many values of tensor ``x`` each result of a reduction over ``axes`` (None: all) combines;
    a ValueError naming ``op`` when that is none (an empty reduction has no mean, maximum...)."""
    count = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    if count == 0:
        raise ValueError(f"{op}: the reduced part of the tensor of shape {x.shape} is empty; {op} needs a value")
    return count


def _keepdims_shape(shape, axis):
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if d in axis else s for d, s in enumerate(shape))


_add_reduce = np.add.reduce  # what np.sum calls on an ndarray, without its Python-level dispatch (~2 µs)


def _sum_vjp(i, g, out, x, *, axis, keepdims):
    shape = x.shape
    g = g.reshape(_keepdims_shape(shape, axis))
    if type(g) is np.ndarray:  # (first order: np.full copies in ~1 µs what np.broadcast_to views in ~3.6 µs)
        return np.full(shape, g)
    return np.broadcast_to(g, shape)


def _extremum_vjp(i, g, out, x, *, axis, keepdims):
    shape = np.shape(x)
    kshape = _keepdims_shape(shape, axis)
    x, top = data_of(x), data_of(out).reshape(kshape)
    mask = x == top
    share = mask / mask.sum(axis=axis, keepdims=True)
    return g.reshape(kshape) * share.astype(x.dtype, copy=False)


_sum = primitive(lambda x, *, axis, keepdims: _add_reduce(x, axis=axis, keepdims=keepdims), vjp=_sum_vjp, name="sum",
                 reads=(), label=_axes_label("sum"))
_max = primitive(lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims), vjp=_extremum_vjp, name="max",
                 label=_axes_label("max"))
_min = primitive(lambda x, *, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims), vjp=_extremum_vjp, name="min",
                 label=_axes_label("min"))


def _reduce(prim, x, axis, keepdims):
    name = prim.primitive.name
    x = as_tensor(x, name)
    axes = normalize_axes(axis, x._data.shape, name)
    if prim is not _sum:
        reduced_size(x, axes, name)
    return prim(x, axis=axes, keepdims=bool(keepdims))


@export(group="reduction", method=True, numpy=np.sum)
def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all; int; tuple; negative counts from the end): (2, 3).sum(axis=0) -> (3,)."""
    return _reduce(_sum, x, axis, keepdims)


@export(group="reduction", method=True, numpy=(np.max, np.amax))
def max(x, axis=None, keepdims=False):
    """Maximum over ``axis`` (None: all; int; tuple); tied maxima share the gradient evenly."""
    return _reduce(_max, x, axis, keepdims)


@export(group="reduction", method=True, numpy=(np.min, np.amin))
def min(x, axis=None, keepdims=False):
    """Minimum over ``axis`` (None: all; int; tuple); tied minima share the gradient evenly."""
    return _reduce(_min, x, axis, keepdims)


def _max_shift(x, axis):
    # shifting by the maximum changes nothing mathematically but keeps exp() <= 1
    shift = np.max(data_of(x), axis=axis, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0)


def _logsumexp_forward(x, *, axis, keepdims):
    shift = _max_shift(x, axis)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


def _logsumexp_vjp(i, g, out, x, *, axis, keepdims):
    # d logsumexp(x) / dx = softmax(x), from the shifted exponentials (exp(x - out) would lose
    # float32's precision in x - out when |x| is large)
    e = np.exp(x - _max_shift(x, axis))
    return g.reshape(_keepdims_shape(np.shape(x), axis)) * e / e.sum(axis=axis, keepdims=True)


# a primitive, not a composite: one node in graphs, and no shift read from the data in the forward graph
_logsumexp = primitive(_logsumexp_forward, vjp=_logsumexp_vjp, name="logsumexp", reads="inputs",
                       label=_axes_label("logsumexp"))


@export(group="reduction", method=True)
def logsumexp(x, axis=-1, keepdims=False):
    """log(sum(exp(x))) over ``axis`` (int, tuple or None), stable for inputs of any magnitude."""
    x = as_tensor(x, "logsumexp")
    axes = normalize_axes(axis, x.shape, "logsumexp")
    reduced_size(x, axes, "logsumexp")
    return _logsumexp(x, axis=axes, keepdims=bool(keepdims))


# ---------------------------------------------------------------- softmax
def _log_softmax_forward(x, *, axis):
    if x.shape[axis] == 0:  # an empty axis: an empty result, as NumPy and torch
        return np.empty(x.shape, dtype=np.result_type(x, np.float16))
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# d log_softmax(x)_j / dx_k = delta_jk - softmax(x)_k, so the VJP is g - softmax * sum(g)
_log_softmax = primitive(
    _log_softmax_forward, vjp=lambda i, g, out, x, *, axis: g - np.exp(out) * g.sum(axis=axis, keepdims=True),
    name="log_softmax", reads="out", label=lambda axis: f"log_softmax(axis={axis})")


@export(group="elementwise", method=True)
def log_softmax(x, axis=-1):
    """log(softmax(x)) along one ``axis``, fused and stable for any finite input (a primitive for speed); same shape."""
    x = as_tensor(x, "log_softmax")
    if x.ndim == 0:
        raise ValueError("log_softmax: needs at least one dimension, got a 0-d tensor")
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"log_softmax: axis must be one int, got {axis!r}")
    return _log_softmax(x, axis=normalize_axis(axis, x.shape, "log_softmax"))
