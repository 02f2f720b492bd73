"""The primitives: each forward and its vector-Jacobian product (VJP) side by side.

A VJP rule ``vjp(i, g, out, *args)`` returns the gradient for input ``i`` given the output
gradient ``g``.  The rules use only operators, array methods and NumPy functions, so the same
rule runs on ndarrays (first-order backward) and on Tensors (``create_graph=True``), where
NumPy dispatches to this module through ``Tensor.__array_ufunc__``/``__array_function__``.
Broadcasting and dtype are not the rules' concern: the engine sums each gradient back to its
input's shape and casts it to its input's dtype.
"""
import builtins
import operator

import numpy as np

from autograd.grad_mode import _State
from autograd.tensor import Tensor, as_operand

_record, _wrap = Tensor._record, Tensor._wrap


class Primitive:
    """An operation the engine can differentiate.

    ``forward(*arrays, *params)`` computes the output; ``vjp(i, g, out, *args, *params)`` the
    gradient of input ``i``; the last ``n_params`` arguments are not differentiable (axis, shape,
    index...).  ``saves`` says which forward values the VJP reads, for the in-place check:
    ``"args"``, ``"out"``, both, or neither.
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


def _array(value):
    """The data of a Tensor, or the value itself (rules use it for masks that carry no gradient)."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _as_ndarray(out):
    # NumPy returns scalars for 0-d results; a tensor's data is always an ndarray
    return out if type(out) is np.ndarray else np.asarray(out)


def _fail(prim, arrays, exc):
    shapes = " and ".join(str(np.shape(a)) for a in arrays)
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return ValueError(
            f"{prim.name}: shapes {shapes} cannot be broadcast together (aligned from the right, each "
            "dimension must match or be 1); reshape or index one operand, e.g. x[:, None]"
        )
    return type(exc)(f"{prim.name}: cannot apply to operands of shapes {shapes}: {exc}")


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
        raise _fail(prim, arrays, exc) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if record and _State.enabled:
        if converted:  # the rules see constants as the forward did (arrays, not lists)
            args = tuple(a if isinstance(a, Tensor) else d for a, d in zip(args[:n], arrays)) + args[n:]
        return Tensor._record(out, prim, args)
    return Tensor._wrap(out)


def _binary(prim, doc):
    """The public function of a primitive with two differentiable inputs (the hot path: no generic loop)."""
    forward, name = prim.forward, prim.name

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
            raise _fail(prim, (ad, bd), exc) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if (ra or rb) and _State.enabled:
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
            x = _wrap(np.asarray(as_operand(x, name)))
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
_add = Primitive("add", np.add, lambda i, g, out, a, b: g)
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
    # d(a**b)/db = a**b * log(a), taken as 0 where a <= 0 (the power is not differentiable there in b)
    return g * out * np.log(np.where(_array(a) > 0, a, 1))


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
_relu = Primitive("relu", lambda x: np.maximum(x, 0), lambda i, g, out, x: g * (_array(out) > 0), saves=("out",))


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
    a, b = _array(a), _array(b)
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
    cond = _array(cond)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    return apply(_where, a, b, cond)


def _clip_vjp(i, g, out, x, lo, hi):
    x = _array(x)
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
    # the bounds are constants: plain numbers or arrays (a Tensor bound would re-enter np.clip's dispatch)
    lo, hi = (None if v is None else v.data if isinstance(v, Tensor) else as_operand(v, "clip") for v in (lo, hi))
    if lo is not None and hi is not None and np.any(np.asarray(lo) > np.asarray(hi)):
        raise ValueError(f"clip: lo={lo} is greater than hi={hi}")
    return apply(_clip, x, lo, hi)


# ---------------------------------------------------------------- reductions
def _axes_label(name):
    def label(axis, keepdims):
        parts = [] if axis is None else [f"axis={axis[0] if len(axis) == 1 else axis}"]
        if keepdims:
            parts.append("keepdims")
        return f"{name}({', '.join(parts)})" if parts else name

    return label


def _normalize_axis(axis, ndim, op):
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        # NumPy lets a 0-d array be reduced over axis 0 or -1
        if not isinstance(a, (int, np.integer)) or not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(out) if ndim else None


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
    x, top = _array(x), _array(out).reshape(kshape)
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
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(as_operand(x, prim.name)))
    axis = _normalize_axis(axis, x.data.ndim, prim.name)
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


# ---------------------------------------------------------------- shape
_reshape = Primitive("reshape", np.reshape, lambda i, g, out, x, shape: g.reshape(np.shape(x)), n_params=1,
                     label=lambda shape: f"reshape{shape}")


def reshape(x, shape):
    """The same data in ``shape`` (a tuple; one entry may be -1)."""
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(as_operand(x, "reshape")))
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(builtins.map(operator.index, shape))
    try:
        return apply(_reshape, x, shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} (size {x.size}) into {shape}") from None


_transpose = Primitive("transpose", np.transpose,
                       lambda i, g, out, x, axes: g.transpose(None if axes is None else np.argsort(axes)),
                       n_params=1, label=lambda axes: "transpose" if axes is None else f"transpose{axes}")


def transpose(x, axes=None):
    """Permute the axes (None reverses them), as ``np.transpose``."""
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(as_operand(x, "transpose")))
    if axes is not None:
        axes = tuple(int(a) % builtins.max(x.ndim, 1) for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return apply(_transpose, x, axes)


_broadcast_to = Primitive("broadcast_to", np.broadcast_to, lambda i, g, out, x, shape: g, n_params=1,
                          label=lambda shape: f"broadcast_to{shape}")


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (read-only view); the gradient is summed back."""
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(as_operand(x, "broadcast_to")))
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        np.broadcast_shapes(x.shape, shape)
        if len(shape) < x.ndim or np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    return apply(_broadcast_to, x, shape)


_astype = Primitive("astype", lambda x, dtype: x.astype(dtype), lambda i, g, out, x, dtype: g, n_params=1,
                    label=lambda dtype: f"astype({np.dtype(dtype).name})")


def astype(x, dtype):
    """``x`` converted to a float ``dtype``; the gradient is converted back."""
    dtype = np.dtype(dtype)
    if isinstance(x, Tensor) and x.requires_grad and dtype.kind != "f":
        raise TypeError(f"astype: a tensor that requires grad can only become a float dtype, not {dtype}")
    return apply(_astype, x, dtype)


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return builtins.all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def _clean_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(_clean_index(p) for p in index)
    return index


def _scatter_forward(g, shape, index):
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


_getitem = Primitive("getitem", lambda x, index: x[index],
                     lambda i, g, out, x, index: scatter(g, np.shape(x), index), n_params=1,
                     label=_index_label)
_scatter = Primitive("scatter", _scatter_forward, lambda i, g, out, y, shape, index: g[index], n_params=2,
                     label=lambda shape, index: "scatter")


def getitem(x, index):
    """``x[index]``: basic slicing, None/Ellipsis, integer arrays and boolean masks."""
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(as_operand(x, "getitem")))
    index = _clean_index(index)
    try:
        x.data[index]
    except (IndexError, ValueError, TypeError) as exc:
        raise IndexError(f"getitem: invalid index {index!r} for a tensor of shape {x.shape}: {exc}") from None
    return apply(_getitem, x, index)


def scatter(g, shape, index):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate): the adjoint of getitem."""
    if isinstance(g, Tensor):
        return apply(_scatter, g, tuple(shape), index)
    return _scatter_forward(g, shape, index)


def _concatenate_vjp(i, g, out, *args):
    *xs, axis = args
    start = builtins.sum(np.shape(x)[axis] for x in xs[:i])
    index = [slice(None)] * np.ndim(g)
    index[axis] = slice(start, start + np.shape(xs[i])[axis])
    return g[tuple(index)]


class _Concatenate(Primitive):
    __slots__ = ()

    def __init__(self):
        super().__init__("concatenate", lambda *a: np.concatenate(a[:-1], axis=a[-1]), _concatenate_vjp,
                         n_params=1, label=lambda axis: f"concatenate(axis={axis})")


_concatenate = _Concatenate()


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing ``axis``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    if axis is None:  # as NumPy: join the flattened tensors
        tensors, axis = [reshape(t, (-1,)) for t in tensors], 0
    ndim = np.ndim(_array(tensors[0]))
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; use stack")
    axis = _normalize_axis(axis, ndim, "concatenate")[0]
    shapes = [np.shape(_array(t)) for t in tensors]
    for s in shapes:
        if len(s) != ndim or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ValueError(f"concatenate: shapes {shapes} differ outside axis {axis}")
    return apply(_concatenate, *tensors, axis)


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
    if not isinstance(x, Tensor):
        x = Tensor._wrap(np.asarray(as_operand(x, "log_softmax")))
    if x.ndim == 0:
        raise ValueError("log_softmax: needs at least one dimension, got a 0-d tensor")
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"log_softmax: axis must be one int, got {axis!r}")
    (axis,) = _normalize_axis(axis, x.ndim, "log_softmax")
    return apply(_log_softmax, x, axis)


# ---------------------------------------------------------------- NumPy protocol dispatch
_UFUNCS = {
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.power: pow,
    np.negative: neg, np.positive: lambda x: x, np.matmul: matmul, np.exp: exp, np.log: log,
    np.sqrt: sqrt, np.absolute: abs, np.sin: sin, np.cos: cos, np.tanh: tanh,
    np.maximum: maximum, np.minimum: minimum,
}
# ufuncs whose result carries no gradient: computed on the data
_CONSTANT_UFUNCS = {
    np.sign, np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.isfinite, np.isnan, np.isinf, np.logical_and, np.logical_or, np.logical_not, np.invert,
    np.floor, np.ceil, np.rint, np.trunc,
}


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    """``np.<ufunc>(tensor)``: a recorded Tensor, a constant Tensor, or a TypeError naming our function."""
    if method == "__call__" and not kwargs and ufunc in _UFUNCS:
        return _UFUNCS[ufunc](*inputs)
    if method == "__call__" and not kwargs and ufunc in _CONSTANT_UFUNCS:
        return Tensor._wrap(np.asarray(ufunc(*[_array(x) for x in inputs])))
    if not builtins.any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        if "out" in kwargs:
            raise TypeError(f"np.{ufunc.__name__}(..., out=...) cannot write into a Tensor; use t.data")
        return Tensor._wrap(np.asarray(getattr(ufunc, method)(*[_array(x) for x in inputs], **kwargs)))
    known = ", ".join(sorted(f.__name__ for f in _UFUNCS))
    raise TypeError(
        f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} is not differentiable in autograd "
        f"and would drop the graph; use autograd's own functions ({known}) or compose one from them, "
        "or call it on t.detach().numpy() if no gradient is needed"
    )


def dispatch_function(func, args, kwargs):
    """``np.<function>(tensor)``: the matching autograd function, or a TypeError naming it."""
    from autograd import functional

    table = {
        np.sum: sum, np.max: max, np.amax: max, np.min: min, np.amin: min, np.mean: functional.mean,
        np.reshape: reshape, np.transpose: transpose, np.broadcast_to: broadcast_to,
        np.concatenate: concatenate, np.stack: functional.stack, np.expand_dims: functional.expand_dims,
        np.squeeze: functional.squeeze, np.swapaxes: functional.swapaxes, np.where: where, np.clip: clip,
        np.shape: lambda t: np.shape(_array(t)), np.ndim: lambda t: np.ndim(_array(t)),
        np.size: lambda t: np.size(_array(t)),
    }
    if func in table:
        try:
            return table[func](*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"np.{func.__name__} on a Tensor: {exc}") from None

    def plain(value):
        if isinstance(value, Tensor):
            return value.data
        if isinstance(value, (list, tuple)):
            return type(value)(plain(v) for v in value)
        return value

    def needs_grad(value):
        if isinstance(value, Tensor):
            return value.requires_grad
        if isinstance(value, (list, tuple)):
            return builtins.any(needs_grad(v) for v in value)
        return False

    if not needs_grad(args) and not needs_grad(list(kwargs.values())):
        return func(*plain(args), **{k: plain(v) for k, v in kwargs.items()})
    raise TypeError(
        f"np.{func.__name__} is not differentiable in autograd and would drop the graph; use the autograd "
        "function of the same name if there is one, or call it on t.detach().numpy() if no gradient is needed"
    )
