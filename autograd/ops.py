"""The primitives: each forward and its vector-Jacobian product (VJP) side by side.

Arithmetic, elementwise functions, reductions and log-softmax live here; the shape primitives
(reshape, transpose, indexing, concatenate...) in ``shape_ops``.

A VJP rule ``vjp(i, g, out, *args)`` returns the gradient for input ``i`` given the output
gradient ``g``.  The rules use only operators, array methods and NumPy functions, so the same
rule runs on ndarrays (first-order backward) and on Tensors (``create_graph=True``), where
NumPy's functions dispatch back to autograd's (``interop``).
Broadcasting and dtype are not the rules' concern: the engine sums each gradient back to its
input's shape and casts it to its input's dtype.
"""
import operator

import numpy as np

from autograd.grad_mode import _State
from autograd.tensor import Tensor, as_operand, as_tensor

_record, _wrap = Tensor._record, Tensor._wrap


class Primitive:
    """An operation the engine can differentiate.

    ``forward(*arrays, *params)`` computes the output; ``vjp(i, g, out, *args, *params)`` the
    gradient of input ``i``; the last ``n_params`` arguments are not differentiable (axis, shape,
    index...).  ``saves`` says which forward values the VJP reads, for the in-place check:
    ``"args"``, ``"out"``, both, or neither.  A VJP that does not save ``"args"`` gets its inputs
    as recorded (Tensors or constants) and may read only their ``.shape``.  ``vjp=None`` means
    the gradient passes through unchanged (the engine still sums it back to the input's shape).
    """

    __slots__ = ("name", "forward", "vjp", "n_params", "saves_args", "saves_out", "label")

    def __init__(self, name, forward, vjp, n_params=0, saves=(), label=None):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.n_params = n_params
        self.saves_args = "args" in saves
        self.saves_out = "out" in saves
        self.label = label  # params -> short text for graph images, e.g. "sum(axis=1)"

    def __repr__(self):
        return f"<primitive {self.name}>"


def data_of(value):
    """The data of a Tensor, or the value itself (rules use it for masks that carry no gradient)."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def operand_error(name, shapes, exc):
    """A clear error for ``exc``, raised by operation ``name`` on operands of ``shapes``."""
    shapes = [str(s) for s in shapes]
    shapes = ", ".join(shapes[:-1]) + " and " + shapes[-1] if len(shapes) > 1 else shapes[0]
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return ValueError(
            f"{name}: shapes {shapes} cannot be broadcast together (aligned from the right, each "
            "dimension must match or be 1); reshape or index one operand, e.g. x[:, None]"
        )
    return type(exc)(f"{name}: cannot apply to operands of shapes {shapes}: {exc}")


def apply(prim, *args):
    """Run ``prim`` on ``args`` (tensors or constants, then parameters), recording when needed."""
    n = len(args) - prim.n_params
    arrays = []
    record = converted = False
    for a in args[:n]:
        if isinstance(a, Tensor):
            arrays.append(a.data)
            record = record or a.requires_grad
        else:
            arrays.append(as_operand(a, prim.name))
            converted = True
    try:
        out = prim.forward(*arrays, *args[n:])
    except (ValueError, TypeError, IndexError) as exc:
        raise operand_error(prim.name, [np.shape(a) for a in arrays], exc) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if record and _State.enabled:
        if converted or prim.saves_args:
            args = _saved_args(prim, args, arrays, n)
        return Tensor._record(out, prim, args)
    return Tensor._wrap(out)


def _saved_args(prim, args, arrays, n):
    """``args`` as the rule will read them: constants as the forward saw them (arrays, not lists) and,
    when the rule reads its arguments, copies of the caller's writeable arrays, so that changing one
    after the forward cannot change the gradient."""
    saved = [a if k >= n or isinstance(a, Tensor) else arrays[k] for k, a in enumerate(args)]
    if prim.saves_args:
        saved = [a.copy() if type(a) is np.ndarray and a.flags.writeable else a for a in saved]
    return tuple(saved)


def _binary(prim, doc):
    """The public function of a primitive with two differentiable inputs (the hot path: no generic loop)."""
    forward, name, saves_args = prim.forward, prim.name, prim.saves_args

    def op(a, b):
        if isinstance(a, Tensor):
            ad, ra = a.data, a.requires_grad
        else:  # the rules see a constant as the forward did (an array, not a list)
            a = ad = as_operand(a, name)
            ra = False
        if isinstance(b, Tensor):
            bd, rb = b.data, b.requires_grad
        else:
            b = bd = as_operand(b, name)
            rb = False
        try:
            out = forward(ad, bd)
        except (ValueError, TypeError) as exc:
            raise operand_error(name, (np.shape(ad), np.shape(bd)), exc) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if (ra or rb) and _State.enabled:
            if saves_args:  # the rule reads a constant array: keep a copy the caller cannot change
                if not ra and type(a) is np.ndarray and a.flags.writeable:
                    a = a.copy()
                elif not rb and type(b) is np.ndarray and b.flags.writeable:
                    b = b.copy()
            return _record(out, prim, (a, b))
        return _wrap(out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _unary(prim, doc):
    """The public function of a primitive with one differentiable input and no parameters (the hot path)."""
    forward, name = prim.forward, prim.name

    def op(x):
        if not isinstance(x, Tensor):
            x = as_tensor(x, name)
        out = forward(x.data)
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if x.requires_grad and _State.enabled:
            return _record(out, prim, (x,))
        return _wrap(out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


# ---------------------------------------------------------------- arithmetic
_add = Primitive("add", np.add, None)
_sub = Primitive("sub", np.subtract, lambda i, g, out, a, b: g if i == 0 else -g)
_mul = Primitive("mul", np.multiply, lambda i, g, out, a, b: g * b if i == 0 else g * a, saves=("args",))
# d(a/b)/db = -a/b**2 = -out/b
_div = Primitive("div", np.true_divide, lambda i, g, out, a, b: g / b if i == 0 else -g * out / b,
                 saves=("args", "out"))
_neg = Primitive("neg", np.negative, lambda i, g, out, x: -g)


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
    # d(a**b)/db = a**b * log(a), taken as 0 where a <= 0 (the power is not differentiable there in b)
    return g * out * np.log(np.where(data_of(a) > 0, a, 1))


_pow = Primitive("pow", np.power, _pow_vjp, saves=("args", "out"))


add = _binary(_add, """Elementwise ``a + b`` with broadcasting.""")
sub = _binary(_sub, """Elementwise ``a - b`` with broadcasting.""")
mul = _binary(_mul, """Elementwise ``a * b`` with broadcasting.""")
div = _binary(_div, """Elementwise ``a / b`` with broadcasting.""")
neg = _unary(_neg, """Elementwise ``-x``.""")
pow = _binary(_pow, """Elementwise ``a ** b`` with broadcasting; either side may be a Tensor.""")


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


_matmul = Primitive("matmul", np.matmul, _matmul_vjp, saves=("args",))
_matmul_op = _binary(_matmul, "``a @ b`` without the shape check.")


def matmul(a, b):
    """Matrix product with NumPy's ``matmul`` semantics: 1-D operands, batched N-D with broadcast batch dims."""
    if isinstance(a, Tensor):
        ad = a.data
    else:
        ad = a = as_operand(a, "matmul")
    if isinstance(b, Tensor):
        bd = b.data
    else:
        bd = b = as_operand(b, "matmul")
    sa, sb = getattr(ad, "shape", ()), getattr(bd, "shape", ())  # numbers have no shape: 0-d
    if not sa or not sb:
        raise ValueError(f"matmul: {sa} @ {sb}: 0-d operands are not allowed; use * to scale")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: {sa} @ {sb}: {ka} != {kb}")
    return _matmul_op(a, b)


# ---------------------------------------------------------------- elementwise functions
def _sigmoid_forward(x):
    # exp(-log(1 + exp(-x))) stays finite and warning-free for any x and keeps
    # relative precision for very negative x, where 1/(1+exp(-x)) would overflow
    # (float32 stays float32 by itself; integer data gives float64, as np.exp)
    return np.exp(-np.logaddexp(0, -x))


_exp = Primitive("exp", np.exp, lambda i, g, out, x: g * out, saves=("out",))
_log = Primitive("log", np.log, lambda i, g, out, x: g / x, saves=("args",))
_sqrt = Primitive("sqrt", np.sqrt, lambda i, g, out, x: g / (out * 2), saves=("out",))
_abs = Primitive("abs", np.abs, lambda i, g, out, x: g * np.sign(x), saves=("args",))
_sin = Primitive("sin", np.sin, lambda i, g, out, x: g * np.cos(x), saves=("args",))
_cos = Primitive("cos", np.cos, lambda i, g, out, x: -g * np.sin(x), saves=("args",))
_sigmoid = Primitive("sigmoid", _sigmoid_forward, lambda i, g, out, x: g * out * (1.0 - out), saves=("out",))
_tanh = Primitive("tanh", np.tanh, lambda i, g, out, x: g * (1.0 - out * out), saves=("out",))
_relu = Primitive("relu", lambda x: np.maximum(x, 0), lambda i, g, out, x: g * (data_of(out) > 0), saves=("out",))


exp = _unary(_exp, """Elementwise e**x.""")
log = _unary(_log, """Elementwise natural logarithm.""")
sqrt = _unary(_sqrt, """Elementwise square root.""")
abs = _unary(_abs, """Elementwise |x| (gradient 0 at 0).""")
sin = _unary(_sin, """Elementwise sine.""")
cos = _unary(_cos, """Elementwise cosine.""")
sigmoid = _unary(_sigmoid, """Elementwise logistic function 1 / (1 + e**-x), stable for any x.""")
tanh = _unary(_tanh, """Elementwise hyperbolic tangent.""")
relu = _unary(_relu, """Elementwise max(x, 0) (gradient 0 at 0).""")


def _extremum_weight(a, b, greater):
    # ties share the gradient evenly, as for the reductions
    a, b = data_of(a), data_of(b)
    wins = (a > b) if greater else (a < b)
    return np.where(wins, 1.0, np.where(a == b, 0.5, 0.0))


_maximum = Primitive(
    "maximum", np.maximum,
    lambda i, g, out, a, b: g * (_extremum_weight(a, b, True) if i == 0 else _extremum_weight(b, a, True)),
    saves=("args",))
_minimum = Primitive(
    "minimum", np.minimum,
    lambda i, g, out, a, b: g * (_extremum_weight(a, b, False) if i == 0 else _extremum_weight(b, a, False)),
    saves=("args",))


maximum = _binary(_maximum, """Elementwise maximum with broadcasting; ties split the gradient evenly.""")
minimum = _binary(_minimum, """Elementwise minimum with broadcasting; ties split the gradient evenly.""")


_where = Primitive(
    "where", lambda a, b, cond: np.where(cond, a, b),
    lambda i, g, out, a, b, cond: np.where(cond, g, 0) if i == 0 else np.where(cond, 0, g),
    n_params=1)


def where(cond, a, b):
    """Elementwise ``a`` where ``cond`` is true, else ``b``, with broadcasting (``cond`` carries no gradient)."""
    cond = np.array(data_of(cond), dtype=bool)  # a copy: the rule reads it, the caller may change theirs
    try:
        return apply(_where, a, b, cond)
    except ValueError as exc:
        shapes = [cond.shape] + [np.shape(data_of(v)) for v in (a, b)]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            labelled = [f"{name} {shape}" for name, shape in zip(("cond", "a", "b"), shapes)]
            raise operand_error("where", labelled, exc) from None
        raise


def _clip_vjp(i, g, out, x, lo, hi):
    x = data_of(x)
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return g * inside


_clip = Primitive("clip", lambda x, lo, hi: np.clip(x, lo, hi), _clip_vjp, n_params=2, saves=("args",),
                  label=lambda lo, hi: f"clip({_short(lo)}, {_short(hi)})")


def _short(bound):
    return f"{bound:.4g}" if isinstance(bound, (float, np.floating)) else str(bound)


def clip(x, lo=None, hi=None):
    """Elementwise ``x`` limited to [lo, hi] (either may be None); gradient 1 inside, 0 outside."""
    if lo is None and hi is None:
        raise ValueError("clip: give at least one of lo and hi")
    for name, bound in (("lo", lo), ("hi", hi)):
        if isinstance(bound, Tensor) and bound.requires_grad and _State.enabled:
            raise RuntimeError(
                f"clip: the bound {name} requires grad, but clip treats its bounds as constants and would drop "
                f"that gradient; use autograd.maximum(x, lo) for a lower bound and autograd.minimum(x, hi) for "
                f"an upper one to differentiate with respect to a bound, or pass {name}.detach()"
            )
    # the bounds are constants: plain numbers or arrays (a Tensor bound would re-enter np.clip's dispatch)
    lo, hi = (None if v is None else v.data if isinstance(v, Tensor) else as_operand(v, "clip") for v in (lo, hi))
    if lo is not None and hi is not None and np.any(np.asarray(lo) > np.asarray(hi)):
        raise ValueError(f"clip: lo={lo} is greater than hi={hi}")
    return apply(_clip, x, lo, hi)


_astype = Primitive("astype", lambda x, dtype: x.astype(dtype), None, n_params=1,
                    label=lambda dtype: f"astype({np.dtype(dtype).name})")


def astype(x, dtype):
    """``x`` converted to a float ``dtype``; the gradient is converted back."""
    dtype = np.dtype(dtype)
    if isinstance(x, Tensor) and x.requires_grad and dtype.kind != "f":
        raise TypeError(f"astype: a tensor that requires grad can only become a float dtype, not {dtype}")
    return apply(_astype, x, dtype)


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


def _keepdims_shape(shape, axis):
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if d in axis else s for d, s in enumerate(shape))


def _sum_vjp(i, g, out, x, axis, keepdims):
    shape = x.shape
    return np.broadcast_to(g.reshape(_keepdims_shape(shape, axis)), shape)


def _extremum_vjp(i, g, out, x, axis, keepdims):
    shape = np.shape(x)
    kshape = _keepdims_shape(shape, axis)
    x, top = data_of(x), data_of(out).reshape(kshape)
    mask = x == top
    share = mask / mask.sum(axis=axis, keepdims=True)
    return g.reshape(kshape) * share.astype(x.dtype, copy=False)


_sum = Primitive("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims), _sum_vjp,
                 n_params=2, label=_axes_label("sum"))
_max = Primitive("max", lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims), _extremum_vjp,
                 n_params=2, saves=("args", "out"), label=_axes_label("max"))
_min = Primitive("min", lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims), _extremum_vjp,
                 n_params=2, saves=("args", "out"), label=_axes_label("min"))


def _reduce(prim, x, axis, keepdims):
    x = as_tensor(x, prim.name)
    axis = normalize_axes(axis, x.data.shape, prim.name)
    if prim is not _sum and x.data.size == 0:
        raise ValueError(f"{prim.name}: the tensor of shape {x.shape} is empty, so it has no {prim.name}imum")
    return apply(prim, x, axis, bool(keepdims))


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all; int; tuple; negative counts from the end)."""
    return _reduce(_sum, x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``; tied maxima share the gradient evenly."""
    return _reduce(_max, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``; tied minima share the gradient evenly."""
    return _reduce(_min, x, axis, keepdims)


# ---------------------------------------------------------------- softmax
def _log_softmax_forward(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# d log_softmax(x)_j / dx_k = delta_jk - softmax(x)_k, so the VJP is g - softmax * sum(g)
_log_softmax = Primitive(
    "log_softmax", _log_softmax_forward,
    lambda i, g, out, x, axis: g - np.exp(out) * g.sum(axis=axis, keepdims=True),
    n_params=1, saves=("out",), label=lambda axis: f"log_softmax(axis={axis})")


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, fused and stable for any finite input (a primitive for speed)."""
    x = as_tensor(x, "log_softmax")
    if x.ndim == 0:
        raise ValueError("log_softmax: needs at least one dimension, got a 0-d tensor")
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"log_softmax: axis must be one int, got {axis!r}")
    return apply(_log_softmax, x, normalize_axis(axis, x.shape, "log_softmax"))
