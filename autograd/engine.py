"""Reverse-mode backpropagation over the recorded graph: ``backward`` and ``grad``.

The walk is iterative (no recursion limit) and deterministic: recorded tensors are processed in
reverse order of creation, from a heap keyed by their stamp, so a tensor is reached only after
every consumer has added its share to its gradient; each gradient is dropped as soon as it is used.
"""
from heapq import heappop, heappush, heappushpop

import numpy as np

from autograd.grad_mode import _State, enable_grad, no_grad
from autograd.tensor import Tensor


def unbroadcast(grad, shape):
    """Sum ``grad`` over the dimensions that broadcasting added or stretched, giving ``shape``."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"internal error: a gradient of shape {grad.shape} cannot belong to an input of shape {shape}")
    # summing without reshaping afterwards gives a fresh array, which a leaf can keep as its .grad
    axes = tuple(lead + d for d, n in enumerate(shape) if n == 1 and grad.shape[lead + d] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    return grad


def _released_error():
    return RuntimeError(
        "backward through a graph whose saved values were already released by an earlier backward(); "
        "pass retain_graph=True to the first backward() (or grad()) to backpropagate through it again"
    )


def _changed_since(a, stamp):
    """True when tensor ``a`` was changed in place after ``stamp``, directly or through the array its data views."""
    if a._version > stamp:
        return True
    array = a.data
    while isinstance(array.base, np.ndarray):
        array = array.base
    entry = _State.changed.get(id(array))
    return entry is not None and entry[1] > stamp and entry[0]() is array


def _check_versions(t, args, n):
    prim = t._prim
    if prim.saves_out and _changed_since(t, t._stamp):
        raise RuntimeError(
            f"the output of {prim.name} (shape {t.shape}) was changed in place after it was saved for backward; "
            "its gradient would be wrong. Change a copy instead, or recompute it"
        )
    if prim.saves_args:
        for k in range(n):
            a = args[k]
            if isinstance(a, Tensor) and _changed_since(a, t._stamp):
                name = f" {a.name!r}" if a.name else ""
                raise RuntimeError(
                    f"input {k}{name} of {prim.name} (shape {a.shape}) was changed in place after it was saved "
                    "for backward (directly, or through a tensor sharing its memory: one it is a reshape, .T, slice "
                    "or detach() of); its gradient would be wrong. Change it only after backward(), or on a copy"
                )


def _run(roots, root_grads, retain_graph, create_graph, wanted=None):
    """Backpropagate ``root_grads`` from ``roots``.

    Returns {id(tensor): [tensor, gradient]} for the leaves (and, when ``wanted`` holds ids, for
    the recorded tensors whose ids are in it).  Retained intermediate gradients are stored.
    """
    grads = {}  # pending gradients of recorded tensors, keyed by their negated stamp (unique)
    found = {}
    heap = []
    for r, g in zip(roots, root_grads):
        if r._prim is None:
            key = id(r)
            if wanted is None or key in wanted:
                _collect(found, key, r, g)
            continue
        key = -r._stamp
        if key in grads:
            grads[key] = grads[key] + g
        else:
            grads[key] = g
            heappush(heap, (key, r))
    last_inplace = _State.last_inplace
    carry = None  # the newest tensor to process, held back from the heap: a chain never touches it
    while heap or carry is not None:
        if carry is None:
            key, t = heappop(heap)
        else:
            key, t = heappushpop(heap, carry)
            carry = None
        g = grads.pop(key)
        prim, args = t._prim, t._args
        if args is None:
            raise _released_error()
        n = len(args) - prim.n_params
        if wanted is not None and id(t) in wanted:
            found[id(t)] = [t, g]
        if t._retain and not create_graph:
            t.grad = np.array(g, dtype=t.data.dtype) if t.grad is None else _accumulated(t, g)
        if last_inplace > -key:
            _check_versions(t, args, n)
        if create_graph:
            out = _recompute(t) if prim.saves_out else None
            inputs = args
        elif not prim.saves_args:  # the rule reads no input values (at most .shape): pass them as they are
            out = t.data
            inputs = args
        else:
            out = t.data
            if len(args) == 1:  # unrolled for the common arities: a comprehension costs a frame
                a0 = args[0]
                inputs = (a0.data if isinstance(a0, Tensor) else a0,)
            elif len(args) == 2:
                a0, a1 = args
                inputs = (a0.data if isinstance(a0, Tensor) else a0, a1.data if isinstance(a1, Tensor) else a1)
            else:
                inputs = [a.data if isinstance(a, Tensor) else a for a in args]
        for k in range(n):
            a = args[k]
            if not isinstance(a, Tensor) or not a.requires_grad:
                continue
            vjp = prim.vjp
            ga = g if vjp is None else vjp(k, g, out, *inputs)
            data = a.data
            if ga.shape != data.shape:
                ga = unbroadcast(ga, data.shape)
            if ga.dtype is not data.dtype and ga.dtype != data.dtype:
                ga = ga.astype(data.dtype)
            if a._prim is None:
                akey = id(a)
                if wanted is None or akey in wanted:
                    _collect(found, akey, a, ga)
                continue
            akey = -a._stamp
            if akey in grads:
                grads[akey] = grads[akey] + ga
            else:
                grads[akey] = ga
                # reverse creation order is a topological order: a tensor's consumers were all
                # recorded after it, so they are all processed before it leaves the heap
                if carry is not None:
                    heappush(heap, carry)
                carry = (akey, a)
        if not retain_graph:
            t._args = None
    return found


def _collect(found, key, tensor, g):
    """Add ``g`` to the gradient gathered for ``tensor`` (a leaf, or an input of ``grad``)."""
    entry = found.get(key)
    if entry is None:
        found[key] = [tensor, g]
    else:
        entry[1] = entry[1] + g


def _accumulated(t, g):
    """``t.grad + g`` (``g``: of ``t``'s shape and dtype), checking a ``.grad`` that may have been set by hand."""
    old, data = t.grad, t.data
    if type(old) is np.ndarray and old.shape == data.shape and old.dtype == data.dtype:
        return old + g
    old = np.asarray(old.data if isinstance(old, Tensor) else old)
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
    from autograd.ops import apply

    return apply(t._prim, *t._args)


def _owned(g, dtype):
    """``g`` as a writable array this tensor owns (not a view of another gradient or a broadcast)."""
    g = np.asarray(g)
    if g.base is not None or not g.flags.writeable or g.dtype != dtype:
        return np.array(g, dtype=dtype)
    return g


def _as_root_grad(t, gradient, what, as_tensor):
    if gradient is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"{what}: the output has shape {t.shape}, not a scalar; pass the gradient of the final "
                f"value with respect to it (an array of shape {t.shape}), or reduce it first, e.g. with .sum()"
            )
        gradient = np.ones(t.shape, dtype=t.dtype)
    else:
        data = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
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
    if tensor._prim is None:
        found = {id(tensor): [tensor, root_grad]}
    else:  # the first-order rules run on arrays only, so nothing is recorded here
        found = _run([tensor], [root_grad], retain_graph, create_graph=False)
    given = set()
    for leaf, g in found.values():
        if leaf.grad is None:
            g = _owned(g, leaf.data.dtype)
            if id(g) in given:  # one array reached two leaves (e.g. both sides of an add)
                g = g.copy()
            given.add(id(g))
            leaf.grad = g
        else:
            leaf.grad = _accumulated(leaf, g)


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
    if create_graph:
        with enable_grad():
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
            g = _owned(g, t.data.dtype)
            if id(g) in given:
                g = g.copy()
            given.add(id(g))
            result.append(Tensor._wrap(g))
    return tuple(result)
