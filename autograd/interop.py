"""NumPy's protocols on Tensors: what ``np.exp(t)``, ``np.sum(t)`` or ``np.argmax(t)`` do.

``Tensor.__array_ufunc__`` and ``__array_function__`` delegate here.  A NumPy ufunc or function
applied to a tensor runs the autograd function that records it (``np.exp`` -> ``autograd.exp``),
or computes on the data when its result carries no gradient (comparisons, rounding, argmax...),
or raises a TypeError that says what to use instead: never a plain array that silently drops the
graph.  The gradient rules rely on this too: under ``create_graph=True`` they call NumPy
functions on Tensors.
"""
import numpy as np

from autograd import functional, ops, shape_ops  # noqa: F401  (importing them fills EXPORTS)
from autograd.primitive import EXPORTS
from autograd.tensor import Tensor


def _tables():
    """NumPy ufuncs and functions -> the autograd function (or adapter) they dispatch to, from the registry."""
    ufuncs, functions = {np.positive: lambda x: x}, {}
    for export in EXPORTS.values():
        for np_fn, adapter in export.numpy.items():
            (ufuncs if isinstance(np_fn, np.ufunc) else functions)[np_fn] = adapter or export.fn
    return ufuncs, functions


_UFUNCS, _FUNCTIONS = _tables()
# ufuncs whose result carries no gradient: computed on the data
_CONSTANT_UFUNCS = {
    np.sign, np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.isfinite, np.isnan, np.isinf, np.logical_and, np.logical_or, np.logical_not, np.invert,
    np.floor, np.ceil, np.rint, np.trunc,
}
# functions whose result carries no gradient (indices, counts, truth values, rounded values): computed on the data
_CONSTANT_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero,
    np.count_nonzero, np.searchsorted, np.any, np.all, np.allclose, np.isclose, np.array_equal, np.array_equiv,
    np.round, np.around,
}
# named in the error for a ufunc autograd cannot differentiate: what to compose one from
_ELEMENTWISE = ", ".join(sorted(name for name, e in EXPORTS.items() if e.group in ("arithmetic", "elementwise")))


def _numpy_name(func):
    """``np.sum``, ``np.linalg.norm``: how the user called ``func``."""
    module = getattr(func, "__module__", None) or "numpy"
    return "np" + module[len("numpy"):] + "." + func.__name__ if module.startswith("numpy") else func.__name__


def _plain(value):
    """``value`` with every Tensor in it (also inside lists and tuples) replaced by its data."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _needs_grad(value):
    if isinstance(value, Tensor):
        return value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(_needs_grad(v) for v in value)
    return False


def _on_data(ufunc, method, inputs, kwargs):
    """The ufunc computed on the tensors' data: a constant Tensor (or NumPy's own ``out`` arrays)."""
    out = kwargs.get("out")
    if out is not None and any(isinstance(o, Tensor) for o in out):
        raise TypeError(f"np.{ufunc.__name__}(..., out=...) cannot write into a Tensor; write into t.data instead")
    result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
    if out is not None or result is None:  # NumPy's out arrays; ufunc.at returns nothing
        return result
    if isinstance(result, tuple):  # ufuncs with several outputs (np.modf, np.divmod...)
        return tuple(Tensor._wrap(np.asarray(r)) for r in result)
    return Tensor._wrap(np.asarray(result))


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    """``np.<ufunc>(tensor)``: a recorded Tensor, a constant Tensor, or a TypeError saying what to use."""
    if method == "__call__":
        if not kwargs:
            fn = _UFUNCS.get(ufunc)
            if fn is not None:
                return fn(*inputs)
        if ufunc in _CONSTANT_UFUNCS:
            return _on_data(ufunc, method, inputs, kwargs)
    if not _needs_grad(inputs):
        return _on_data(ufunc, method, inputs, kwargs)
    name = f"np.{ufunc.__name__}"
    if method == "__call__" and ufunc in _UFUNCS:  # differentiable, but not with these keyword arguments
        fn = _UFUNCS[ufunc]
        export = EXPORTS.get(getattr(fn, "__name__", ""))
        same = f" (autograd.{fn.__name__})" if export is not None and export.fn is fn else ""
        if "out" in kwargs:
            problem = "cannot write a recorded result into an array: the array would not carry the graph"
        else:
            problem = "keyword arguments cannot be recorded"
        keys = ", ".join(f"{k}=..." for k in kwargs)
        them = "it" if len(kwargs) == 1 else "them"
        raise TypeError(
            f"{name}(..., {keys}) on a Tensor that requires grad: {problem}; call {name}{same} without {them} and "
            "use the Tensor it returns (astype() converts the dtype), or call it on t.detach().numpy() if no "
            "gradient is needed"
        )
    if method != "__call__":
        name += f".{method}"
    raise TypeError(
        f"{name} is not differentiable in autograd and would drop the graph; use autograd's own functions "
        f"({_ELEMENTWISE}) or compose one from them, or call it on t.detach().numpy() if no gradient is needed"
    )


def dispatch_function(func, args, kwargs):
    """``np.<function>(tensor)``: the matching autograd function, the plain result, or a TypeError saying what to use."""
    fn = _FUNCTIONS.get(func)
    if fn is not None:
        try:
            return fn(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{_numpy_name(func)} on a Tensor: {exc}") from None
    if func in _CONSTANT_FUNCTIONS or not (_needs_grad(args) or _needs_grad(list(kwargs.values()))):
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    instead = _INSTEAD.get(func, "the autograd function of the same name if there is one")
    raise TypeError(
        f"{_numpy_name(func)} is not differentiable in autograd and would drop the graph; use {instead}, "
        "or call it on t.detach().numpy() if no gradient is needed"
    )


# what to use for NumPy functions that have an autograd equivalent under another name
_INSTEAD = {
    np.dot: "a @ b (autograd.matmul)", np.inner: "(a * b).sum(-1)", np.vdot: "(a * b).sum()",
    np.average: "autograd.mean (or (w * x).sum() / w.sum() for weights)",
}
