"""The one door for differentiable operations: ``primitive(forward, vjp=...)``.

Every built-in operation is made here the way a user makes their own:

>>> import numpy as np
>>> from autograd import primitive
>>> @primitive(vjp=lambda i, g, out, x, *, beta: g * (1 - np.exp(-beta * out)))
... def softplus(x, *, beta=1.0):
...     return np.logaddexp(0, beta * x) / beta

Positional arguments of ``forward`` are the differentiable inputs (Tensors, ndarrays or numbers),
keyword arguments are parameters (an axis, a shape, a flag) handed to ``forward`` and ``vjp`` alike
and shown in graph labels.  ``vjp(i, g, out, *inputs, **params)`` returns the gradient of input
``i`` from the output's gradient ``g``.  In a first-order backward the rule gets ndarrays; under
``create_graph=True`` it gets Tensors, on which operators, array methods and NumPy functions
record again (see ``interop``), so one rule serves every order of derivative.  The engine, not
the rule, sums a gradient back over broadcast dimensions and casts it to its input's dtype.

The package's own public functions are listed in ``EXPORTS`` (``export``): the Tensor methods
that mirror them, NumPy's dispatch tables and ``autograd.__all__`` are derived from it.
"""
from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

import numpy as np

from autograd.grad_mode import grad_enabled
from autograd.tensor import _ONE, Tensor, as_operand

_record, _record_inputs, _wrap = Tensor._record, Tensor._record_inputs, Tensor._wrap
_ndarray, _generic, _asarray = np.ndarray, np.generic, np.asarray  # (read on every op: one lookup, not two)

_READS = frozenset({"inputs", "out"})


class Primitive:
    """An operation the engine can differentiate: its ``forward`` and its ``vjp`` rule.

    ``reads_inputs`` / ``reads_out``: whether the rule reads the values of its inputs / of the
    output (the in-place check guards exactly those); a rule that reads neither may look at
    shapes and dtypes only.  ``vjp=None``: the gradient passes through unchanged (and nothing is read).
    """

    __slots__ = ("name", "forward", "vjp", "reads_inputs", "reads_out", "_label", "function", "float_out")

    def __init__(self, name: str, forward: Callable, vjp: Callable | None, reads=("inputs", "out"), label=None):
        reads = frozenset((reads,) if isinstance(reads, str) else reads) if vjp is not None else frozenset()
        if not reads <= _READS:
            raise ValueError(f"primitive {name}: reads must name 'inputs' and/or 'out', got {sorted(reads)}")
        if vjp is not None and not callable(vjp):
            raise TypeError(f"primitive {name}: vjp must be a function vjp(i, g, out, *inputs, **params)")
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.reads_inputs = "inputs" in reads
        self.reads_out = "out" in reads
        self._label = label
        self.function = None  # the public function that applies it (set by primitive())
        # an output that is not float (an index, a mask) carries no gradient and is not recorded; a ufunc
        # whose loops give float results for float inputs needs no check on each call
        self.float_out = _keeps_float(forward)

    def label(self, params: dict | None) -> str:
        """Short text for graph images: ``sum(axis=1)``, or the name alone when there are no parameters."""
        params = params or {}
        if self._label is not None:
            return self._label(**params)
        shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items() if v is not None and v is not False)
        return f"{self.name}({shown})" if shown else self.name

    def __repr__(self):
        return f"<primitive {self.name}>"


def _keeps_float(forward) -> bool:
    """True when ``forward`` is a ufunc all of whose loops on float inputs give float outputs."""
    if not isinstance(forward, np.ufunc):
        return False
    floats = set("efdg")
    loops = [t.split("->") for t in forward.types]
    return all(set(outs) <= floats for ins, outs in loops if set(ins) <= floats)


def _short(value):
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    if isinstance(value, np.ndarray):
        return f"<{value.dtype} {value.shape}>" if value.size > 4 else np.array2string(value, separator=",")
    if isinstance(value, tuple) and len(value) == 1:
        return _short(value[0])
    return str(value)


def primitive(forward: Callable | None = None, *, vjp: Callable | None, name: str | None = None,
              reads=("inputs", "out"), label: Callable | None = None, doc: str | None = None):
    """Make a differentiable function from a NumPy function ``forward`` and its VJP rule.

    ``vjp(i, g, out, *inputs, **params)`` returns the gradient for input ``i`` given the output
    gradient ``g`` (same shape as ``out``); ``vjp=None`` passes ``g`` through (identity).  ``reads``:
    which forward values the rule reads, ``"inputs"`` and/or ``"out"`` (default both); ``reads=()``
    declares a rule that looks only at shapes, skipping the in-place check.  ``label(**params)``:
    custom graph-image text.  Use as ``f = primitive(fn, vjp=rule)`` or ``@primitive(vjp=rule)``.
    The result takes Tensors, arrays or numbers positionally and parameters as keywords, and
    returns a Tensor; ``f.primitive`` is the :class:`Primitive`.  A result that is not float (an
    index, a mask) carries no gradient: it is a constant, and nothing is recorded.
    """
    if forward is None:
        return lambda fn: primitive(fn, vjp=vjp, name=name, reads=reads, label=label, doc=doc)
    if not callable(forward):
        raise TypeError(f"primitive: forward must be a function of arrays, not {type(forward).__name__}")
    prim = Primitive(name or getattr(forward, "__name__", "primitive"), forward, vjp, reads, label)
    arity = _fixed_arity(forward)
    fn = _unary(prim) if arity == 1 else _binary(prim) if arity == 2 else _general(prim)
    fn.__name__ = fn.__qualname__ = prim.name
    fn.__doc__ = doc if doc is not None else getattr(forward, "__doc__", None)
    fn.__module__ = forward.__module__ if inspect.isfunction(forward) else "autograd"
    fn.primitive = prim
    prim.function = fn
    return fn


def _fixed_arity(forward):
    """1 or 2 when ``forward`` takes exactly that many positional arguments and no keywords, else None."""
    if isinstance(forward, np.ufunc):
        return forward.nin
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(parameters) in (1, 2) and all(p.kind in positional and p.default is p.empty for p in parameters):
        return len(parameters)
    return None


def data_of(value):
    """The data of a Tensor, or the value itself as an array (rules use it for masks that carry no gradient)."""
    return value._data if isinstance(value, Tensor) else np.asarray(value)


def operand_error(name, shapes, exc):
    """A clear error for ``exc``, raised by operation ``name`` on operands of ``shapes``."""
    shapes = [str(s) for s in shapes]
    shapes = ", ".join(shapes[:-1]) + " and " + shapes[-1] if len(shapes) > 1 else shapes[0] if shapes else "()"
    if isinstance(exc, ValueError) and "broadcast" in str(exc):
        return ValueError(
            f"{name}: shapes {shapes} cannot be broadcast together (aligned from the right, each "
            "dimension must match or be 1); reshape or index one operand, e.g. x[:, None]"
        )
    return type(exc)(f"{name}: cannot apply to operands of shapes {shapes}: {exc}")


def _output(out, prim):
    if type(out) is np.ndarray:
        return out
    if isinstance(out, Tensor):
        raise TypeError(f"{prim.name}: forward returned a Tensor; a primitive's forward must compute on arrays "
                        "(use NumPy functions), its inputs arrive as ndarrays")
    out = np.asarray(out)
    if out.dtype.kind not in "biufc":
        raise TypeError(f"{prim.name}: forward returned {out.dtype} data, not numbers")
    return out


def _saved(prim, args, arrays):
    """The inputs as the rule will read them: constants as the forward saw them (arrays, not lists) and,
    when the rule reads input values, copies of the caller's writeable arrays, so that changing one
    after the forward cannot change the gradient."""
    saved = [a if isinstance(a, Tensor) else arrays[k] for k, a in enumerate(args)]
    if prim.reads_inputs:
        saved = [a.copy() if type(a) is np.ndarray and a.flags.writeable else a for a in saved]
    return tuple(saved)


# autograd.compile's tracer while it records a step (None otherwise: one global read per op);
# called as _tracer(prim, inputs, params, run) in place of the op, it runs the op (with apply_untraced,
# never by clearing this global, which other threads read) and records it
_tracer = None


def apply(prim: Primitive, inputs, params: dict | None = None) -> Tensor:
    """Run ``prim`` on ``inputs`` (Tensors or constants) with keyword ``params``, recording when needed."""
    if _tracer is not None:
        return _tracer(prim, inputs, params, None)
    return apply_untraced(prim, inputs, params)


def apply_untraced(prim: Primitive, inputs, params: dict | None = None) -> Tensor:
    """``apply`` without the tracer: what the tracer runs for each op it sees."""
    arrays = []
    record = converted = False
    for a in inputs:
        if isinstance(a, Tensor):
            arrays.append(a._data)
            record = record or a.requires_grad
        else:
            arrays.append(as_operand(a, prim.name))
            converted = True
    try:
        out = prim.forward(*arrays, **params) if params else prim.forward(*arrays)
    except (ValueError, TypeError, IndexError) as exc:
        raise operand_error(prim.name, [np.shape(a) for a in arrays], exc) from None
    if type(out) is not _ndarray:
        out = _asarray(out) if isinstance(out, _generic) else _output(out, prim)
    if record and grad_enabled() and (prim.float_out or out.dtype.kind == "f"):  # (an int result has no gradient)
        if converted or prim.reads_inputs:
            inputs = _saved(prim, inputs, arrays)
        if params:
            for key, value in params.items():  # the rule reads them later: keep arrays the caller cannot change
                if type(value) is np.ndarray and value.flags.writeable:
                    params = {**params, key: value.copy()}
            return _record_inputs(out, prim, inputs, params)
        return _record_inputs(out, prim, inputs, None)
    return _wrap(out)


def _general(prim):
    def op(*inputs, **params):
        return apply(prim, inputs, params)

    return op


def _binary(prim):
    """Two inputs, no parameters: the hot path of arithmetic, without the general loop."""
    forward, name, reads_inputs, float_out = prim.forward, prim.name, prim.reads_inputs, prim.float_out

    def op(a, b):
        if _tracer is not None:
            return _tracer(prim, (a, b), None, op)
        if isinstance(a, Tensor):
            ad, ra = a._data, a.requires_grad
        else:  # the rule sees a constant as the forward did (an array, not a list)
            a = ad = as_operand(a, name)
            ra = False
        if isinstance(b, Tensor):
            bd, rb = b._data, b.requires_grad
        else:
            b = bd = as_operand(b, name)
            rb = False
        try:
            out = forward(ad, bd)
        except (ValueError, TypeError) as exc:
            raise operand_error(name, (np.shape(ad), np.shape(bd)), exc) from None
        if type(out) is not _ndarray:  # a NumPy scalar (from 0-d inputs), or something to check
            out = _asarray(out) if isinstance(out, _generic) else _output(out, prim)
        if (ra or rb) and grad_enabled() and (float_out or out.dtype.kind == "f"):
            if reads_inputs:  # the rule reads a constant array: keep a copy the caller cannot change
                if not ra and type(a) is _ndarray and a.flags.writeable:
                    a = a.copy()
                elif not rb and type(b) is _ndarray and b.flags.writeable:
                    b = b.copy()
            return _record(out, prim, a, b, None)
        return _wrap(out)

    return op


def _unary(prim):
    """One input, no parameters: the hot path of elementwise functions."""
    forward, name, float_out = prim.forward, prim.name, prim.float_out

    def op(x):
        if _tracer is not None:
            return _tracer(prim, (x,), None, op)
        if not isinstance(x, Tensor):
            x = _wrap(np.asarray(as_operand(x, name)))
        try:
            out = forward(x._data)
        except (ValueError, TypeError) as exc:
            raise operand_error(name, (x._data.shape,), exc) from None
        if type(out) is not _ndarray:
            out = _asarray(out) if isinstance(out, _generic) else _output(out, prim)
        if x.requires_grad and grad_enabled() and (float_out or out.dtype.kind == "f"):
            return _record(out, prim, x, _ONE, None)
        return _wrap(out)

    return op


# ---------------------------------------------------------------- the package's public functions
@dataclasses.dataclass(frozen=True)
class Export:
    """A public function of ``autograd`` and what is derived from it.

    ``method``: None, or the Tensor method that mirrors it (the function itself, or an adapter
    taking the tensor first); ``numpy``: NumPy functions/ufuncs that dispatch to it on Tensors,
    each mapped to an adapter of NumPy's signature or to None (same signature); ``group``: its
    section in the docs ("arithmetic", "elementwise", "reduction", "shape", "composite").
    """

    fn: Callable
    group: str
    method: Callable | None = None
    numpy: dict = dataclasses.field(default_factory=dict)


EXPORTS: dict[str, Export] = {}


def export(fn=None, *, group: str, method=False, numpy=()):
    """Register ``fn`` (a public function of ``autograd``) with its derived Tensor method and NumPy names.

    ``method=True`` makes ``Tensor.<name>`` the function itself (``t.exp()`` is ``exp(t)``); a
    function gives an adapter (e.g. ``t.reshape(2, 3)``), whose docstring is derived from ``fn``'s.
    ``numpy``: NumPy callables (or a dict of them to adapters) that dispatch to ``fn`` on Tensors.
    """
    if fn is None:
        return lambda f: export(f, group=group, method=method, numpy=numpy)
    name = fn.__name__
    if name in EXPORTS:
        raise ValueError(f"export: {name} is already a public function of autograd")
    if method is True:
        mirror = fn
    elif method:
        mirror = method
        mirror.__name__ = mirror.__qualname__ = name
        mirror.__doc__ = (fn.__doc__ or "").rstrip() + (mirror.__doc__ or "")
    else:
        mirror = None
    numpy = dict(numpy) if isinstance(numpy, dict) else dict.fromkeys(numpy if isinstance(numpy, (tuple, list)) else (numpy,))
    EXPORTS[name] = Export(fn, group, mirror, numpy)
    return fn


def built_in_primitives() -> list[Primitive]:
    """Every primitive made by the package's modules (the registry the tests run over)."""
    import autograd  # noqa: F401  (importing the package defines them all)

    seen = {}
    for module in ("autograd.ops", "autograd.shape_ops", "autograd.functional"):
        for value in vars(__import__(module, fromlist=["_"])).values():
            prim = getattr(value, "primitive", None)
            if isinstance(prim, Primitive):
                seen[prim.name] = prim
    return list(seen.values())

