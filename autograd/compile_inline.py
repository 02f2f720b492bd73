"""Common rules written into a replay's source as the NumPy expressions they evaluate (``autograd.compile``).

A replay that calls ``sigmoid``'s forward or ``mul``'s VJP pays a Python call for a line of NumPy.
For the built-in primitives below, ``forward`` and ``vjp`` give the rule's body as source over the
operands' sources instead: the same operators and NumPy functions on the same values in the same
order, so the same bits (tests/autograd/test_compile_inline.py checks each against its rule).  A
primitive whose forward or VJP is no longer the function the table was written for is called as usual.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from autograd import ops, shape_ops

__all__ = ["NAMES", "NOT_CONSTANT", "forward", "forward_primitives", "getitem_vjp", "vjp", "vjp_into",
           "vjp_into_primitives", "vjp_primitives"]

NOT_CONSTANT = object()  # an operand whose value is known only at replay


def _log_softmax(x, axis):
    """``ops._log_softmax_forward``'s arithmetic with the reductions called directly (np.max and np.sum
    call these ufuncs' reduce with the same arguments) and the last subtraction written into the
    difference it no longer needs."""
    if x.shape[axis] == 0:
        return ops._log_softmax_forward(x, axis=axis)
    shifted = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True))
    total = np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))
    if total.dtype != shifted.dtype:  # (an integer x: the result is a new float array, as in the rule)
        return shifted - total
    return np.subtract(shifted, total, out=shifted)


def _scatter_at(g, shape, index):
    """``shape_ops._scatter_forward`` for an index with arrays in it: repeated positions accumulate."""
    grad = np.zeros(shape, dtype=g.dtype)
    np.add.at(grad, index, g)
    return grad


def _scatter_set(g, shape, index):
    """``shape_ops._scatter_forward`` for a basic index or a boolean mask: no position is selected twice."""
    grad = np.zeros(shape, dtype=g.dtype)
    grad[index] = g
    return grad


NAMES = {"_exp": np.exp, "_logaddexp": np.logaddexp, "_maximum": np.maximum, "_asarray": np.asarray,
         "_multiply": np.multiply, "_divide": np.divide, "_add_reduce": np.add.reduce, "_log_softmax": _log_softmax,
         "_scatter_at": _scatter_at, "_scatter_set": _scatter_set}


def _sub(k, g, out, a, b):
    return (g, False) if k == 0 else (f"-{g}", True)


def _pow(k, g, out, a, b, *, exponent):
    # _pow_vjp's branches for a Python number exponent, taken here on the recorded number (the
    # replay passes that same object); an array exponent or the exponent's gradient: call the rule
    if k != 0 or exponent is NOT_CONSTANT or not isinstance(exponent, (int, float)):
        return None
    if exponent == 0:
        return f"{g} * 0", True
    if exponent == 2:
        return f"{g} * (2.0 * {a})", True
    return f"{g} * {b} * {a} ** ({b} - 1)", True


# primitive -> (the VJP it was written for, source builder(k, g, out, *inputs) -> (source, a new array?))
_VJPS: dict = {
    ops.sub.primitive: _sub,
    ops.mul.primitive: lambda k, g, out, a, b: (f"{g} * {b}" if k == 0 else f"{g} * {a}", True),
    ops.div.primitive: lambda k, g, out, a, b: (f"{g} / {b}" if k == 0 else f"-{g} * {out} / {b}", True),
    ops.neg.primitive: lambda k, g, out, x: (f"-{g}", True),
    ops.exp.primitive: lambda k, g, out, x: (f"{g} * {out}", True),
    ops.log.primitive: lambda k, g, out, x: (f"{g} / {x}", True),
    ops.sqrt.primitive: lambda k, g, out, x: (f"{g} / ({out} * 2)", True),
    ops.sigmoid.primitive: lambda k, g, out, x: (f"{g} * {out} * (1.0 - {out})", True),
    ops.tanh.primitive: lambda k, g, out, x: (f"{g} * (1.0 - {out} * {out})", True),
    ops.relu.primitive: lambda k, g, out, x: (f"{g} * (_asarray({out}) > 0)", True),  # (data_of on an array)
}
_VJPS = {prim: (prim.vjp, build) for prim, build in _VJPS.items()}
_VJPS[ops.pow.primitive] = (ops.pow.primitive.vjp, _pow)

# rules with keyword parameters: primitive -> (the VJP, source builder(k, g, out, *inputs, **params))
_PARAM_VJPS = {ops._log_softmax.primitive: (  # (g.sum is add.reduce with the same arguments)
    ops._log_softmax.primitive.vjp,
    lambda k, g, out, x, *, axis: (f"{g} - _exp({out}) * _add_reduce({g}, axis={axis}, keepdims=True)", True))}

# rules that are one ufunc of g and another operand, written into g when the replay no longer needs it:
# primitive -> (the VJP, builder(k, g, out, *inputs) -> source with ``out={g}``, or None)
_INTO: dict = {
    ops.mul.primitive: lambda k, g, out, a, b: f"_multiply({g}, {b if k == 0 else a}, out={g})",
    ops.div.primitive: lambda k, g, out, a, b: f"_divide({g}, {b}, out={g})" if k == 0 else None,
    ops.exp.primitive: lambda k, g, out, x: f"_multiply({g}, {out}, out={g})",
    ops.log.primitive: lambda k, g, out, x: f"_divide({g}, {x}, out={g})",
    ops.relu.primitive: lambda k, g, out, x: f"_multiply({g}, _asarray({out}) > 0, out={g})",
}
_INTO = {prim: (prim.vjp, build) for prim, build in _INTO.items()}

# primitive -> (the forward it was written for, source builder(*inputs, **params))
_FORWARDS: dict = {
    ops.sigmoid.primitive: lambda x: f"_exp(-_logaddexp(0, -{x}))",  # (_sigmoid_forward's body)
    ops.relu.primitive: lambda x: f"_maximum({x}, 0)",
    shape_ops._getitem.primitive: lambda x, *, index: f"{x}[{index}]",
    ops._log_softmax.primitive: lambda x, *, axis: f"_log_softmax({x}, {axis})",
}
_FORWARDS = {prim: (prim.forward, build) for prim, build in _FORWARDS.items()}


# getitem's VJP is ``scatter(g, x.shape, index)``, whose forward picks assignment or np.add.at by the kind of
# index: the replay knows the kind (fixed by the signature) and calls the chosen one directly
_GETITEM = (shape_ops._getitem.primitive, shape_ops._getitem.primitive.vjp, shape_ops.scatter,
            shape_ops._scatter_forward)


def getitem_vjp(prim, g: str, shape: tuple, index: str, accumulate: bool) -> str | None:
    """Source of getitem's VJP (``g`` scattered into zeros of ``x``'s ``shape`` at ``index``), or None
    (call the rule).  ``accumulate``: the index holds arrays (not a lone boolean mask), so
    ``_scatter_forward`` adds with ``np.add.at``; else it assigns."""
    if not all(a is b for a, b in zip((prim, prim.vjp, shape_ops.scatter, shape_ops._scatter_forward), _GETITEM)):
        return None
    return f"{'_scatter_at' if accumulate else '_scatter_set'}({g}, {shape!r}, {index})"


def vjp_primitives() -> dict:
    """{primitive: its number of inputs} for the VJPs written inline (for the tests)."""
    return {prim: sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in inspect.signature(build).parameters.values()) - 3
            for prim, (_, build) in _VJPS.items()}


def vjp_into_primitives() -> list:
    """The primitives whose VJP can be written into the incoming gradient (for the tests)."""
    return list(_INTO)


def forward_primitives() -> list:
    """The primitives whose forwards are written inline (for the tests)."""
    return list(_FORWARDS)


def _atom(source: str) -> str:
    """``source`` as an operand: parenthesized unless it is a name."""
    return source if source.isidentifier() else f"({source})"


def _usable(table, prim, current: Callable) -> Callable | None:
    """The source builder for ``prim`` when its rule is still the one the table was written for."""
    hit = table.get(prim)
    return hit[1] if hit is not None and hit[0] is current else None


def forward(prim, inputs: list[str], params: dict[str, str]) -> str | None:
    """Source of ``prim``'s forward on operands given as source, or None (call the forward)."""
    build = _usable(_FORWARDS, prim, prim.forward)
    if build is None:
        return None
    try:
        return build(*map(_atom, inputs), **{key: _atom(v) for key, v in params.items()})
    except TypeError:  # (another number of operands than the forward takes: let the call say so)
        return None


def vjp(prim, k: int, g: str, out: str, inputs: list[str], params: dict[str, str],
        constants: list) -> tuple[str, bool] | None:
    """``(source, fresh)`` of ``prim``'s VJP for input ``k``, or None (call the rule).

    ``constants``: each input's Python value when it is a constant baked into the replay, else
    ``NOT_CONSTANT``.  ``fresh``: the value is a new array when it is an ndarray (an operator's result).
    """
    args = [_atom(s) for s in inputs]
    if params:
        build = _usable(_PARAM_VJPS, prim, prim.vjp)
        try:
            return None if build is None else build(k, _atom(g), _atom(out), *args,
                                                    **{key: _atom(v) for key, v in params.items()})
        except TypeError:
            return None
    build = _usable(_VJPS, prim, prim.vjp)
    if build is None:
        return None
    try:
        if build is _pow:
            return _pow(k, _atom(g), _atom(out), *args, exponent=constants[1]) if len(args) == 2 else None
        return build(k, _atom(g), _atom(out), *args)
    except TypeError:
        return None


def vjp_into(prim, k: int, g: str, out: str, inputs: list[str]) -> str | None:
    """Source of ``prim``'s VJP for input ``k`` written into the array named ``g`` (``out=``), or None.

    Bit for bit the rule's value only when that value has ``g``'s shape and dtype and ``g`` is an
    array no one else reads afterwards: the caller checks both.
    """
    build = _usable(_INTO, prim, prim.vjp)
    if build is None:
        return None
    try:
        return build(k, _atom(g), _atom(out), *(_atom(s) for s in inputs))
    except TypeError:
        return None
