"""Function transforms with ``torch.func`` / JAX semantics: ``grad``, ``value_and_grad``, ``vjp``,
``jvp``, ``jacobian``, ``hessian``, ``hvp``.

Each transform takes a function of Tensors and returns a function; transforms compose
(``grad(grad(f))``, ``jacobian(grad(f))``, ``hessian = jacobian(jacobian(f))``).  Arguments may be
Tensors, ndarrays or Python numbers; results are Tensors.

How nesting stays exact.  Each differentiated argument is replaced, for the call of ``f``, by a
fresh node: a new leaf when the argument does not require grad, else a recorded copy
(``astype`` to its own dtype) that is linked to the original.  The transform differentiates
with respect to that node only, so an inner transform never mixes its derivative with an outer
one (no perturbation confusion, even when the same tensor is passed to both), while an outer
transform still differentiates through everything the inner one computed, captured variables
included.  Inside an enclosing transform the backward pass is recorded (``create_graph=True``);
the outermost transform runs a plain backward and returns detached Tensors.

Conventions shared with JAX and torch.func: an output that does not depend on an argument (or
a constant output) gives zero gradients; a non-floating output is a ``TypeError``; ``grad``
needs a 0-d output; ``argnums`` is an int (one result) or a tuple of ints (a tuple of results).
"""
from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable

import numpy as np

from autograd.engine import grad as _engine_grad
from autograd.functional import stack
from autograd.grad_mode import enable_grad
from autograd.ops import astype
from autograd.tensor import Tensor

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp"]

_local = threading.local()  # .depth: how many transforms are running in this thread


@contextlib.contextmanager
def _level():
    """One transform level: recording on, depth + 1 for the duration of the call."""
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        with enable_grad():
            yield
    finally:
        _local.depth -= 1


def _nested() -> bool:
    """True inside an enclosing transform, whose derivative needs this one's backward recorded."""
    return getattr(_local, "depth", 0) > 1


def _finish(value):
    """At the outermost level, Tensors (inside tuples, lists and dicts too) come out detached."""
    if getattr(_local, "depth", 0) > 0:
        return value
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, (tuple, list)):
        return type(value)(_finish(v) for v in value)
    if isinstance(value, dict):
        return {k: _finish(v) for k, v in value.items()}
    return value


# ----------------------------------------------------------------------------- arguments

def _argnums(argnums, nargs: int, who: str) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, tuple) or not nums or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"{who}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    resolved = tuple(int(i) + nargs if i < 0 else int(i) for i in nums)
    for given, i in zip(nums, resolved):
        if not 0 <= i < nargs:
            raise ValueError(f"{who}: argnums={argnums!r} refers to argument {given}, but the function "
                             f"was called with {nargs} positional argument(s)")
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"{who}: argnums={argnums!r} names an argument twice")
    return resolved, single


def _fresh(value, who: str, position: int) -> Tensor:
    """The node a transform differentiates with respect to, standing for argument ``value``."""
    if isinstance(value, Tensor):
        if value.requires_grad:
            _check_float(value.dtype, who, f"argument {position}")
            return astype(value, value.dtype)  # a recorded copy: distinct node, linked to value
        data = value.data
    elif isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: argument {position} is a bool; only floating-point arguments "
                        "can be differentiated")
    elif isinstance(value, (int, np.integer)):
        data = np.float64(value)  # a Python or NumPy int is a point on the real line
    elif isinstance(value, (float, np.number, np.ndarray)):
        data = value
    else:
        raise TypeError(f"{who}: argument {position} must be a Tensor, an ndarray or a number to "
                        f"be differentiated, got {type(value).__name__}")
    data = np.asarray(data)
    _check_float(data.dtype, who, f"argument {position}")
    return Tensor(data.copy(), requires_grad=True)


def _check_float(dtype, who: str, what: str) -> None:
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"{who}: {what} has dtype {np.dtype(dtype)}; only floating-point values can "
                        "be differentiated (convert it first, e.g. x.astype(np.float64))")


def _output(value, who: str, what: str = "f's output") -> Tensor:
    """``value`` (a Tensor, ndarray or number returned by f) as a floating Tensor."""
    if not isinstance(value, Tensor):
        if not isinstance(value, (np.ndarray, np.number, int, float, bool, np.bool_)):
            raise TypeError(f"{who}: {what} must be a Tensor, an ndarray or a number, "
                            f"got {type(value).__name__}")
        value = Tensor(value)
    if value.dtype.kind != "f":
        raise TypeError(f"{who}: {what} has dtype {value.dtype}; only floating-point outputs can be "
                        "differentiated (a bool or integer result has no derivative)")
    return value


def _outputs(result, who: str) -> tuple[tuple[Tensor, ...], bool]:
    """f's result as a tuple of Tensors, and whether it was a single value."""
    if isinstance(result, (tuple, list)):
        if not result:
            raise TypeError(f"{who}: f returned an empty {type(result).__name__}")
        return tuple(_output(r, who, f"f's output {k}") for k, r in enumerate(result)), False
    return (_output(result, who),), True


def _split_aux(result, has_aux: bool, who: str):
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{who}: with has_aux=True, f must return a pair (output, aux), got "
                        f"{type(result).__name__}")
    return result


def _scalar(out: Tensor, who: str) -> None:
    if out.shape != ():
        raise ValueError(f"{who}: f must return a 0-d (scalar) Tensor, got shape {out.shape}; "
                         "reduce it (e.g. .sum()), or use jacobian / vjp for non-scalar outputs")


def _cotangent(value, like: Tensor, who: str, what: str) -> Tensor:
    if isinstance(value, Tensor):
        if value.shape != like.shape:
            raise ValueError(f"{who}: {what} has shape {value.shape} but must have shape {like.shape}")
        return value
    data = np.asarray(value)
    if data.shape != like.shape:
        raise ValueError(f"{who}: {what} has shape {data.shape} but must have shape {like.shape}")
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{who}: {what} must be numeric, got dtype {data.dtype}")
    return Tensor(data.astype(like.dtype))


# ----------------------------------------------------------------------------- the one backward

def _backprop(outputs, inputs, cotangents, create_graph: bool) -> list[Tensor]:
    """sum_k cotangents[k] . d outputs[k] / d inputs, for each input: zeros where nothing depends on it."""
    live = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    grads = [None] * len(inputs)
    if live:
        grads = _engine_grad([o for o, _ in live], list(inputs), grad_outputs=[c for _, c in live],
                             retain_graph=True, create_graph=create_graph, allow_unused=True)
    return [g if g is not None else Tensor(np.zeros(x.shape, x.dtype)) for g, x in zip(grads, inputs)]


def _call_with_fresh(f, args, kwargs, nums, who):
    args = list(args)
    xs = []
    for i in nums:
        args[i] = x = _fresh(args[i], who, i)
        xs.append(x)
    return f(*args, **kwargs), xs


# ----------------------------------------------------------------------------- transforms

def value_and_grad(f: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """``f`` -> a function returning ``(f(*args), gradient)`` (``((value, aux), gradient)`` with
    ``has_aux``).  f's output must be a 0-d float Tensor; the gradient has the shape and dtype of
    argument ``argnums`` (a tuple of gradients for a tuple of argnums).

    >>> value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    (Tensor(5.), Tensor([2., 4.]))
    """
    return _value_and_grad(f, argnums, has_aux, "value_and_grad")


def _value_and_grad(f, argnums, has_aux, who):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        nums, single = _argnums(argnums, len(args), who)
        with _level():
            result, xs = _call_with_fresh(f, args, kwargs, nums, who)
            out, aux = _split_aux(result, has_aux, who)
            out = _output(out, who)
            _scalar(out, who)
            grads = _backprop([out], xs, [None], _nested())
        value = (out, aux) if has_aux else out
        return _finish((value, grads[0] if single else tuple(grads)))

    return wrapper


def grad(f: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """``f`` -> the function computing f's gradient with respect to argument ``argnums``
    (``(gradient, aux)`` with ``has_aux``).  f must return a 0-d float Tensor.

    >>> grad(lambda x: grad(lambda y: x * y)(1.0))(2.0)   # captured variables are differentiated
    Tensor(1.)
    """
    vg = _value_and_grad(f, argnums, has_aux, "grad")

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(f: Callable, *primals, has_aux: bool = False):
    """``(f(*primals), vjp_fn)``: ``vjp_fn(*cotangents)`` (one per output of f, of its shape) returns
    the tuple of ``sum_k cotangent_k . d out_k / d primal_i``, one per primal.  ``vjp_fn`` can be
    called any number of times.  With ``has_aux`` the result is ``(out, vjp_fn, aux)``.
    """
    with _level():
        result, xs = _call_with_fresh(f, primals, {}, range(len(primals)), "vjp")
        out, aux = _split_aux(result, has_aux, "vjp")
        outs, single = _outputs(out, "vjp")

    def vjp_fn(*cotangents):
        """Cotangents (one per output of f) -> tuple of gradients, one per primal."""
        if len(cotangents) != len(outs):
            raise TypeError(f"vjp_fn: f has {len(outs)} output(s), got {len(cotangents)} cotangent(s)")
        with _level():
            cts = [_cotangent(c, o, "vjp_fn", f"cotangent {k}") for k, (c, o) in enumerate(zip(cotangents, outs))]
            grads = tuple(_backprop(outs, xs, cts, _nested()))
        return _finish(grads)

    value = _finish(outs[0] if single else outs)
    return (value, vjp_fn, _finish(aux)) if has_aux else (value, vjp_fn)


def jvp(f: Callable, primals, tangents):
    """Forward-mode derivative ``(f(*primals), J @ tangents)``: ``primals`` and ``tangents`` are
    tuples of the same length and shapes; the tangent out has the output's shape (a tuple for a
    tuple of outputs).

    Computed as the transpose of a VJP: ``g(u) = J^T u`` is linear in a dummy cotangent ``u``, so
    the VJP of ``g`` applied to the tangents is ``J @ tangents``.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    with _level():
        result, xs = _call_with_fresh(f, primals, {}, range(len(primals)), "jvp")
        outs, single = _outputs(result, "jvp")
        ts = [_cotangent(t, x, "jvp", f"tangent {i}") for i, (t, x) in enumerate(zip(tangents, xs))]
        dummies = [Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outs]
        transposed = _backprop(outs, xs, dummies, create_graph=True)
        tangent_out = _backprop(transposed, dummies, ts, _nested())
    return _finish((outs[0] if single else outs, tangent_out[0] if single else tuple(tangent_out)))


def jacobian(f: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """``f`` -> its Jacobian by reverse mode (one backward per output element): for output ``out``
    and argument ``x`` a Tensor of shape ``out.shape + x.shape``.  Tuples mirror f's outputs, then
    ``argnums``; with ``has_aux`` the result is ``(jacobian, aux)``.

    >>> jacobian(lambda x: x * x)(np.array([1.0, 3.0]))
    Tensor([[2., 0.],
            [0., 6.]])
    """
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        nums, single_arg = _argnums(argnums, len(args), "jacobian")
        with _level():
            result, xs = _call_with_fresh(f, args, kwargs, nums, "jacobian")
            out, aux = _split_aux(result, has_aux, "jacobian")
            outs, single_out = _outputs(out, "jacobian")
            blocks = [_jacobian_blocks(o, xs, single_arg) for o in outs]
        jac = blocks[0] if single_out else tuple(blocks)
        return _finish((jac, aux) if has_aux else jac)

    return wrapper


def _jacobian_blocks(out, xs, single_arg):
    rows = []
    for r in range(out.size):
        seed = np.zeros(out.size, out.dtype)
        seed[r] = 1
        rows.append(_backprop([out], xs, [Tensor(seed.reshape(out.shape))], _nested()))
    blocks = []
    for j, x in enumerate(xs):
        if rows:
            block = stack([row[j].reshape(-1) for row in rows]).reshape(out.shape + x.shape)
        else:
            block = Tensor(np.zeros(out.shape + x.shape, x.dtype))
        blocks.append(block)
    return blocks[0] if single_arg else tuple(blocks)


def hessian(f: Callable, argnums=0) -> Callable:
    """``f`` -> its Hessian, ``jacobian(jacobian(f))``: for a 0-d output and argument ``x`` a
    Tensor of shape ``x.shape + x.shape`` (for a tuple of argnums, block ``[i][j]`` has shape
    ``x_i.shape + x_j.shape``).
    """
    return jacobian(jacobian(f, argnums), argnums)


def hvp(f: Callable, primals, tangents):
    """``(f(*primals), H @ tangents)`` for a scalar-valued ``f``: ``primals`` and ``tangents``
    are tuples of the same length and shapes; the product is a tuple, one entry per primal.
    Computed as the gradient of ``<grad f, tangents>`` (the Hessian is symmetric).
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: got {len(primals)} primals but {len(tangents)} tangents")
    with _level():
        result, xs = _call_with_fresh(f, primals, {}, range(len(primals)), "hvp")
        out = _output(result, "hvp")
        _scalar(out, "hvp")
        ts = [_cotangent(t, x, "hvp", f"tangent {i}") for i, (t, x) in enumerate(zip(tangents, xs))]
        grads = _backprop([out], xs, [None], create_graph=True)
        products = _backprop(grads, xs, ts, _nested())
    return _finish((out, tuple(products)))
