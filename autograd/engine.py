"""Reverse-mode backpropagation over the recorded graph: ``backward`` and ``grad``.

The walk is iterative (no recursion limit) and deterministic: recorded tensors are processed in
reverse order of creation, from a heap keyed by their stamp, so a tensor is reached only after
every consumer has added its share to its gradient; each gradient is dropped as soon as it is used.
At each tensor the primitive's rule gives one gradient per input that requires grad; the engine
sums it back over broadcast dimensions, casts it to the input's dtype and routes it on.
"""
import contextlib
from heapq import heappop, heappush, heappushpop

import numpy as np

from autograd import anomaly, versions
from autograd.grad_mode import _state, enable_grad, name_scope, no_grad
from autograd.primitive import Primitive, apply
from autograd.tensor import _MANY, _ONE, _RELEASED, Tensor, _Labels


def unbroadcast(grad, shape):
    """Sum ``grad`` over the dimensions that broadcasting added or stretched, giving ``shape``."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead >= 0:
        # summing without reshaping afterwards gives a fresh array, which a leaf can keep as its .grad
        axes = tuple(lead + d for d, n in enumerate(shape) if n == 1 and grad.shape[lead + d] != 1)
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        if lead:
            grad = grad.sum(axis=tuple(range(lead)))
        if grad.shape == shape:
            return grad
    raise ValueError(f"a gradient of shape {grad.shape} cannot be summed to the input's shape {shape}")


def _released_error():
    return RuntimeError(
        "backward through a graph whose saved values were already released by an earlier backward(); "
        "pass retain_graph=True to the first backward() (or grad()) to backpropagate through it again"
    )


@contextlib.contextmanager
def observe(observer):
    """Tell ``observer`` each step of the backward walks run in this thread inside the block.

    ``observer.step(t, g)``: recorded tensor ``t`` is processed with its total gradient ``g``;
    ``observer.send(t, k, a, ga)``: its rule sent ``ga`` (summed to ``a``'s shape and dtype) to input ``k``, ``a``.
    """
    outer = _state.observer
    _state.observer = observer
    try:
        yield observer
    finally:
        _state.observer = outer


def _rule_error(t, k, problem):
    return RuntimeError(f"backward of {t._prim.name}, input {k}: {problem}")


def _rule_failed(t, k, ga, exc):
    if ga is not ... and not (hasattr(ga, "shape") and hasattr(ga, "dtype")):  # (... : the rule raised)
        return _rule_error(t, k, f"the rule returned {type(ga).__name__}, not an array")
    return _rule_error(t, k, f"the rule raised {type(exc).__name__}: {exc}")


def _conform(t, k, ga, data, first_order):
    """The gradient ``ga`` that ``t``'s rule gave input ``k`` made to fit the input's ``data``: summed over
    broadcast dimensions and cast to its dtype, or an error naming the primitive and the input."""
    if isinstance(ga, Tensor) and first_order:  # a rule built from autograd's own functions
        ga = ga._data
    if ga.shape != data.shape:
        try:
            ga = unbroadcast(ga, data.shape)
        except ValueError:
            raise _rule_error(t, k, f"the rule's gradient has shape {ga.shape}, which cannot be summed to the "
                                    f"input's shape {data.shape}") from None
    if ga.dtype != data.dtype:
        if ga.dtype.kind != "f":  # an int or bool result is a mask or a count that forgot g, not a gradient
            raise _rule_error(t, k, f"the rule's gradient has dtype {ga.dtype}; it must be a float array "
                                    "(multiply by g, which has the output's float dtype)")
        ga = ga.astype(data.dtype)
    return ga


# The node a walk starts from, as PyTorch's engine does: its inputs are the roots, its gradient is
# the tuple of their given gradients, and its rule hands input k its own.  So the roots are routed
# by the same code as every gradient a rule computes.
_SEED = Primitive("seed", None, lambda k, g, out, *roots: g[k], reads=())


class _Seed:
    __slots__ = ("_in0", "_in1")
    _op, _prim, _data, _where = _SEED, _SEED, None, None
    _stamp = float("inf")  # newer than any tensor: processed first, never checked for in-place changes

    def __init__(self, roots):
        self._in0, self._in1 = tuple(roots), _MANY


def _run(roots, root_grads, retain_graph, create_graph, wanted=None):
    """Backpropagate ``root_grads`` from ``roots``.

    Returns {id(tensor): [tensor, gradient]} for the leaves (and, when ``wanted`` holds ids, for
    the recorded tensors whose ids are in it).  Retained intermediate gradients are stored.
    """
    seed = _Seed(roots)
    pending = {-seed._stamp: tuple(root_grads)}  # negated stamp -> gradient summed so far, for the tensors to process
    heap = []  # (negated stamp, tensor): the newest first, a topological order
    carry = (-seed._stamp, seed)  # the newest tensor queued, held out of the heap: along a chain the heap is never sifted
    found = {}  # id -> [tensor, gradient] for the leaves (and the tensors grad() asked for)
    observer, checking = _state.observer, _state.anomaly
    watching = observer is not None or checking
    special = wanted is not None or observer is not None
    last_change = versions.last_change()  # nothing is changed in place during the walk
    first_order = not create_graph
    while heap or carry is not None:
        if carry is None:
            key, t = heappop(heap)
        else:  # the newer of the carried tensor and the heap's top, in one call
            key, t = heappushpop(heap, carry)
            carry = None
        g = pending.pop(key)
        second = t._in1  # (the inputs' slots: see Tensor)
        if second is _ONE:
            inputs = (t._in0,)
        elif second is _MANY:
            inputs = t._in0
        elif second is _RELEASED:
            raise _released_error()
        else:
            inputs = (t._in0, second)
        if special:  # (one test per tensor for what is rare: grad()'s targets, observers)
            if wanted is not None and id(t) in wanted:
                found[id(t)] = [t, g]
            if observer is not None and t is not seed:
                observer.step(t, g)
        where = t._where
        if where is not None and type(where) is _Labels and where.retain and first_order:
            t._grad = np.array(g, dtype=t._data.dtype) if t._grad is None else _accumulated(t, g)
        if last_change > t._stamp:
            versions.check_unchanged(t)
        prim = t._op
        if type(prim) is tuple:
            prim, params = prim
        else:
            params = None
        vjp = prim.vjp
        if vjp is None:  # the identity rule: the gradient passes through, nothing is read
            out, values = None, ()
        elif first_order:  # the rule runs on arrays: nothing is recorded
            out = t._data
            if len(inputs) == 2:  # (the common arities unrolled: a comprehension costs a call)
                a, b = inputs
                values = (a._data if isinstance(a, Tensor) else a, b._data if isinstance(b, Tensor) else b)
            elif len(inputs) == 1:
                a = inputs[0]
                values = (a._data if isinstance(a, Tensor) else a,)
            else:
                values = [a._data if isinstance(a, Tensor) else a for a in inputs]
        else:  # the rule runs on Tensors, so what it computes is recorded in turn
            out = _recompute(t) if prim.reads_out else t
            values = inputs
        for k, a in enumerate(inputs):
            if not isinstance(a, Tensor) or not a.requires_grad:
                continue
            data = a._data
            ga = ...
            try:
                if vjp is None:
                    ga = g
                else:
                    ga = vjp(k, g, out, *values, **params) if params else vjp(k, g, out, *values)
                fits = (type(ga) is not Tensor and ga.shape == data.shape
                        and (ga.dtype is data.dtype or ga.dtype == data.dtype))
            except Exception as exc:
                raise _rule_failed(t, k, ga, exc) from exc
            if not fits:  # (under create_graph every gradient is a Tensor, and comes here)
                ga = _conform(t, k, ga, data, first_order)
            if watching and t is not seed:
                if checking:
                    anomaly.check_rule_output(t, k, g, values, ga)
                if observer is not None:
                    observer.send(t, k, a, ga)
            # route ga: gather it for a leaf, or add it to a recorded tensor's pending sum and queue that
            if a._op is None:
                akey = id(a)
                if wanted is None or akey in wanted:
                    entry = found.get(akey)
                    if entry is None:
                        found[akey] = [a, ga]
                    else:
                        entry[1] = entry[1] + ga
                continue
            akey = -a._stamp  # reverse creation order is a topological order: all consumers come first
            if akey in pending:
                pending[akey] = pending[akey] + ga
            else:
                pending[akey] = ga
                if carry is not None:
                    heappush(heap, carry)
                carry = (akey, a)
        if not retain_graph:
            t._in0, t._in1 = None, _RELEASED
    return found


def _accumulated(t, g):
    """``t.grad + g`` (``g``: of ``t``'s shape and dtype), checking a ``.grad`` that may have been set by hand."""
    old, data = t.grad, t._data
    if type(old) is np.ndarray and old.shape == data.shape and old.dtype == data.dtype:
        return old + g
    old = np.asarray(old._data if isinstance(old, Tensor) else old)
    where = f"backward: {t.name or ''}.grad"
    if old.dtype.kind not in "biuf":
        raise TypeError(f"{where} has dtype {old.dtype}; it must be numeric (set it to None to start afresh)")
    if old.shape != data.shape:
        raise ValueError(
            f"{where} has shape {old.shape} but the tensor has shape {data.shape}; a gradient must have its "
            f"tensor's shape: set .grad to None (or to an array of shape {data.shape}) before backward()"
        )
    return np.add(old, g, dtype=data.dtype, casting="same_kind")  # the sum keeps the tensor's dtype


def _recompute(t):
    """The output of ``t``'s primitive as a recorded Tensor, for rules that read ``out`` under create_graph."""
    return apply(t._prim, t._inputs, t._params)


def _owned(g, dtype):
    """``g`` as a writable array this tensor owns (not a view of another gradient or a broadcast)."""
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    if g.base is not None or not g.flags.writeable or g.dtype != dtype:
        return np.array(g, dtype=dtype)
    return g


def _as_root_grad(t, gradient, what, as_tensor):
    if gradient is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"{what}: the output has shape {t.shape}, not a scalar; pass the gradient of the final "
                f"value with respect to it (an array of shape {t.shape}), or reduce it first, e.g. with .sum()"
            )
        gradient = np.array(1, dtype=t._data.dtype) if t._data.ndim == 0 else np.ones(t.shape, dtype=t.dtype)
    else:
        data = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
        if data.shape != t.shape:
            raise ValueError(f"{what}: the gradient has shape {data.shape} but the output has shape {t.shape}; they must match")
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{what}: the gradient must be numeric, not {data.dtype}")
        if not as_tensor:
            gradient = np.array(data, dtype=t.dtype)  # a copy: leaves' .grad must never alias it
    if as_tensor:
        return gradient if isinstance(gradient, Tensor) else Tensor._wrap(np.asarray(gradient, dtype=t.dtype))
    return gradient


def backward(tensor, gradient=None, retain_graph=False):
    """Accumulate d(tensor)/d(leaf) into ``.grad`` of every leaf that requires grad.

    ``gradient`` (same shape as ``tensor``) is required unless ``tensor`` has one element.
    The graph's saved values are released afterwards unless ``retain_graph=True``.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"backward: expected a Tensor, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph; create the inputs with "
            "requires_grad=True (and not under no_grad())"
        )
    root_grad = _as_root_grad(tensor, gradient, "backward", as_tensor=False)
    found = _run([tensor], [root_grad], retain_graph, create_graph=False)
    given = set()
    for leaf, g in found.values():
        if leaf._grad is None:
            g = _owned(g, leaf._data.dtype)
            if id(g) in given:  # one array reached two leaves (e.g. both sides of an add)
                g = g.copy()
            given.add(id(g))
            leaf._grad = g  # (of the leaf's shape and dtype: the setter's checks are not needed)
        else:
            leaf._grad = _accumulated(leaf, g)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple of Tensors; ``.grad`` is untouched.

    ``outputs`` and ``inputs``: a Tensor or a sequence of Tensors.  ``grad_outputs``: one gradient
    per output (None for a scalar output).  With ``create_graph=True`` the backward pass is itself
    recorded, so the results can be differentiated again (Hessian-vector products...).
    """
    single_input = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if len(outputs) == 1 or grad_outputs is None else None
    grad_outputs = list(grad_outputs) if grad_outputs is not None else None
    if grad_outputs is None or len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(outputs)} outputs but a different number of grad_outputs")
    for t in outputs + inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: outputs and inputs must be Tensors, got {type(t).__name__}")
    for k, t in enumerate(outputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: output {k} does not require grad and has no graph")
    for k, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {k} (shape {t.shape}) does not require grad; create it with requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    roots_grads = [_as_root_grad(t, g, "grad", as_tensor=create_graph) for t, g in zip(outputs, grad_outputs)]
    wanted = {id(t) for t in inputs}
    if create_graph:  # the recorded backward sits in a scope that graph images draw as a derivative graph
        with enable_grad(), name_scope("backward", label="derivative graph") as scope:
            scope[-1].derivative = True
            found = _run(outputs, roots_grads, retain_graph, create_graph=True, wanted=wanted)
    else:
        with no_grad():
            found = _run(outputs, roots_grads, retain_graph, create_graph=False, wanted=wanted)
    result = []
    given = set()
    for k, t in enumerate(inputs):
        entry = found.get(id(t))
        if entry is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {k} (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
            continue
        g = entry[1]
        if isinstance(g, Tensor):
            result.append(g)
        else:
            g = _owned(g, t._data.dtype)
            if id(g) in given:
                g = g.copy()
            given.add(id(g))
            result.append(Tensor._wrap(g))
    return tuple(result)
