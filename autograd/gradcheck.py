"""Numerical gradient checking: reverse-mode Jacobians against central differences.

``gradcheck(fn, inputs)`` builds, for every floating-point output ``k`` of ``fn`` and every
input ``j`` that requires grad, the Jacobian block ``J[k, j]`` of shape
``(output k size, input j size)`` in two ways and compares them entry by entry:

* analytically, by reverse mode: one ``grad(..., retain_graph=True)`` call per output
  element, seeded with a one-hot ``grad_outputs`` (row ``r`` of ``J[k, j]`` is the gradient
  of ``output_k.flat[r]``);
* numerically, by central differences ``(f(x + h e_i) - f(x - h e_i)) / 2h`` on float64
  copies of every floating input (``h = eps``), so the reference is as exact as float64 allows.

An entry passes when ``|analytical - numerical| <= atol + rtol * |numerical|``.

Random output gradients.  One-hot seeds are exactly 1, so a rule that ignores its incoming
gradient ``g`` passes them whenever the output is a scalar.  So one more backward, seeded with
random non-unit ``v_k`` (entries +-[1.25, 2.5]) for every output at once, must equal
``sum_k v_k . J_numerical[k, j]`` within ``vjp_rtol * sum_k |v_k| . |J_numerical[k, j]|`` (plus
central differences' round-off), in float64: ``vjp_rtol=1e-5`` catches a rule off by a relative
1e-4, which the Jacobian's default ``rtol=1e-3`` lets through.

float32 inputs.  The reference is always float64, yet a float32 user wants the float32 path
they actually run to be checked too.  With float64 inputs the analytical Jacobian is taken on
the inputs themselves; when any floating input is not float64:

1. the analytical Jacobian is also computed on the float64 copies and compared with the
   central differences under the caller's ``atol``/``rtol`` (checks the mathematics of the
   gradient rules, free of float32 rounding);
2. the analytical Jacobian at the original dtype (float32) is compared with that float64 one
   under float32 tolerances: ``rtol32 = max(rtol, FLOAT32_RTOL)`` and
   ``atol32 = max(atol, FLOAT32_RTOL * max|J64[k, j]|)`` (a norm-wise bound: float32 rounding
   error scales with the magnitudes in play, not with each entry, because of cancellation).

Every gradient must also have its input's shape and dtype (float32 in, float32 gradient out).

``gradgradcheck`` gradchecks ``(inputs, grad_outputs) -> grad(fn(inputs), inputs,
grad_outputs, create_graph=True)``, which covers every second derivative and the
linearity of the vector-Jacobian product in ``grad_outputs``.

Bad arguments (``fn`` returning a non-Tensor, no input requiring grad, ...) raise
``TypeError``/``ValueError`` whatever ``raise_exception`` says; a failed comparison raises
``GradcheckError``, a subclass of ``AssertionError`` (so pytest reports it as a failed check),
or makes the function return ``False`` when ``raise_exception=False``.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograd.engine import grad
from autograd.gradcheck_report import GradcheckError, compare, index_text, max_abs
from autograd.tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "FLOAT32_RTOL", "VJP_RTOL"]

# Relative precision demanded of a float32 Jacobian against its float64 twin: ~840 float32 ulps,
# room for rounding accumulated through a few dozen ops, tight enough to flag a rule that
# loses precision (overflow, catastrophic cancellation, a half-precision intermediate).
FLOAT32_RTOL = 1e-4

# Relative precision demanded of a backward seeded with a random output gradient v, against
# v . (numerical Jacobian), measured against sum |v| |J| (immune to cancellation): tight enough
# to catch a rule off by a relative 1e-4, loose enough for central differences in float64.
VJP_RTOL = 1e-5



def gradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, vjp_rtol: float = VJP_RTOL, raise_exception: bool = True,
              seed: int = 0) -> bool:
    """Check ``fn``'s reverse-mode gradients against central differences in float64.

    ``inputs`` is a Tensor or a tuple/list of arguments for ``fn``; the Tensors with
    ``requires_grad=True`` are differentiated, everything else (constant Tensors, ndarrays,
    Python values) is passed through unchanged (floating ones as float64 copies in the
    numerical pass).  ``fn`` returns a Tensor or a tuple of Tensors; non-floating outputs are
    skipped.  Besides the Jacobian (``atol``/``rtol``), one backward seeded with random non-unit
    output gradients (from ``numpy.random.default_rng(seed)``) must match them times the
    numerical Jacobian within ``vjp_rtol`` (see :data:`VJP_RTOL`).  Returns ``True``; on a
    mismatch raises :class:`GradcheckError` naming the output, the input, the element and both
    values, or returns ``False`` if ``raise_exception=False``.

    >>> from autograd.tensor import Tensor
    >>> x = Tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    >>> gradcheck(lambda x: (x * x).exp(), x)
    True
    >>> gradcheck(lambda x: x * x.detach(), x, raise_exception=False)  # d/dx is 2x, not x
    False
    """
    args = _as_tuple(inputs)
    _check_tolerances(eps, atol, rtol, vjp_rtol)
    diff = _differentiable_positions(args, "gradcheck")
    labels = (lambda k: f"output {k}", lambda i: f"input {i}")
    return _run(fn, args, diff, labels, "Jacobian mismatch", eps, (atol, rtol, vjp_rtol, seed),
                raise_exception)


def gradgradcheck(fn: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, vjp_rtol: float = VJP_RTOL,
                  raise_exception: bool = True, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck the vector-Jacobian product of ``fn``.

    The checked function is ``(*inputs, *grad_outputs) -> grad(fn(*inputs), inputs_needing_grad,
    grad_outputs, create_graph=True)``.  ``grad_outputs`` (one per floating output of ``fn``
    that requires grad, same shape) default to standard normal draws from
    ``numpy.random.default_rng(seed)`` at each output's dtype; they are differentiated too.
    Error messages say which gradient (output) and which input or grad_output mismatched.

    >>> from autograd.tensor import Tensor
    >>> x = Tensor([0.3, -1.2, 2.0], requires_grad=True)
    >>> gradgradcheck(lambda x: (x * x * x).sum(), x)
    True
    """
    args = _as_tuple(inputs)
    _check_tolerances(eps, atol, rtol, vjp_rtol)
    diff = _differentiable_positions(args, "gradgradcheck")
    outputs = _call(fn, args, "gradgradcheck")
    seeded = [k for k, o in enumerate(outputs) if _is_float(o.dtype) and o.requires_grad]
    if not seeded:
        raise ValueError("gradgradcheck: no output of fn is a floating-point Tensor that "
                         "requires grad, so there is no gradient to check")
    gouts = _grad_outputs_for([outputs[k] for k in seeded], grad_outputs, seed)
    n = len(args)

    def vjp(*all_args):
        outs = _call(fn, all_args[:n], "gradgradcheck")
        wrt = tuple(all_args[p] for p in diff)
        grads = grad(tuple(outs[k] for k in seeded), wrt, grad_outputs=tuple(all_args[n:]),
                     create_graph=True, allow_unused=True)
        # An input the outputs do not depend on has a zero gradient, which depends on nothing.
        return tuple(g if g is not None else Tensor(np.zeros(x.shape, x.dtype))
                     for g, x in zip(grads, wrt))

    def out_label(k):
        return f"output {k} (the gradient w.r.t. input {diff[k]})"

    def in_label(i):
        if i < n:
            return f"input {i}"
        return f"input {i} (grad_outputs[{i - n}], seeding output {seeded[i - n]} of fn)"

    all_args = args + gouts
    all_diff = diff + list(range(n, n + len(gouts)))
    return _run(vjp, all_args, all_diff, (out_label, in_label), "Second-order Jacobian mismatch",
                eps, (atol, rtol, vjp_rtol, seed + 1), raise_exception, _SECOND_ORDER_NOTE)


# ----------------------------------------------------------------------------- the check

_SECOND_ORDER_NOTE = ("the function checked maps (*inputs, *grad_outputs) to the gradients of fn "
                      "w.r.t. its inputs that require grad, computed with create_graph=True")


def _run(fn, args, diff, labels, title, eps, tolerances, raise_exception, extra_note=None) -> bool:
    try:
        _check(fn, args, diff, labels, title, eps, tolerances)
    except GradcheckError as error:
        if extra_note:
            error.args = (f"{error.args[0]}\n  ({extra_note})",)
        if raise_exception:
            raise
        return False
    return True


def _check(fn, args, diff, labels, title, eps, tolerances) -> None:
    atol, rtol, vjp_rtol, seed = tolerances
    out_label, _ = labels
    args64 = tuple(_float64_copy(a) for a in args)
    outs64 = _call(fn, args64, "gradcheck")
    checked = [k for k, o in enumerate(outs64) if _is_float(o.dtype)]
    if not checked:
        raise ValueError("gradcheck: fn returned no floating-point Tensor to differentiate")
    for k in checked:
        if outs64[k].dtype != np.float64:
            raise GradcheckError(
                f"{out_label(k)} is {outs64[k].dtype} although every floating input was cast "
                "to float64: central differences need fn to compute in float64", output_index=k)
    shapes = ([o.shape for o in outs64], [a.shape if isinstance(a, Tensor) else None for a in args])
    numerical = _numerical_jacobians(fn, args64, diff, outs64, checked, eps, out_label)
    headline = f"{title} for {{out}} with respect to {{inp}}"
    note = f"numerical: central differences in float64 with eps={eps:g}"

    if all(a.dtype == np.float64 for a in args
           if isinstance(a, (Tensor, np.ndarray)) and _is_float(a.dtype)):
        analytical = _analytical_jacobians(_call(fn, args, "gradcheck"), args, diff, checked, labels)
        compare(numerical, analytical, diff, checked, shapes, labels, atol, rtol, headline,
                 note + "; analytical: reverse mode", "numerical", "analytical")
        _check_vjp(fn, args, diff, checked, numerical, shapes, labels, eps, vjp_rtol, seed)
        return

    analytical64 = _analytical_jacobians(outs64, args64, diff, checked, labels)
    compare(numerical, analytical64, diff, checked, shapes, labels, atol, rtol, headline,
             note + "; analytical: reverse mode on float64 copies of the inputs",
             "numerical", "analytical")
    _check_vjp(fn, args64, diff, checked, numerical, shapes, labels, eps, vjp_rtol, seed)
    outs = _call(fn, args, "gradcheck")
    if [o.shape for o in outs] != shapes[0]:
        raise GradcheckError(f"fn's outputs have shapes {[o.shape for o in outs]} on the given "
                             f"inputs but {shapes[0]} on float64 copies of them")
    analytical = _analytical_jacobians(outs, args, diff, checked, labels)
    atol32 = {k: [max(atol, FLOAT32_RTOL * max_abs(block)) for block in blocks]
              for k, blocks in analytical64.items()}
    compare(analytical64, analytical, diff, checked, shapes, labels, atol32,
             max(rtol, FLOAT32_RTOL), "float32 " + headline,
             "the analytical Jacobian at the inputs' own dtype differs from the one computed on "
             "float64 copies (which matches central differences) by more than float32 rounding "
             "explains", "float64", "float32")


def _analytical_jacobians(outputs, args, diff, checked, labels):
    """J[k][j] of shape (outputs[k].size, args[diff[j]].size), by one backward per row."""
    out_label, in_label = labels
    wrt = tuple(args[p] for p in diff)
    jac = {k: [np.zeros((outputs[k].size, x.size)) for x in wrt] for k in checked}
    for k in checked:
        out = outputs[k]
        if not out.requires_grad:
            continue  # a constant output: its Jacobian is zero (the numerical one says if not)
        for row in range(out.size):
            seed = np.zeros(out.size, dtype=out.dtype)
            seed[row] = 1
            grads = grad((out,), wrt, grad_outputs=(Tensor(seed.reshape(out.shape)),),
                         retain_graph=True, allow_unused=True)
            for j, (g, x) in enumerate(zip(grads, wrt)):
                if g is None:
                    continue
                g = g.data if isinstance(g, Tensor) else np.asarray(g)
                if g.shape != x.shape or g.dtype != x.dtype:
                    raise GradcheckError(
                        f"the gradient of {out_label(k)} with respect to {in_label(diff[j])} "
                        f"has shape {g.shape} and dtype {g.dtype}; the input has shape {x.shape} "
                        f"and dtype {x.dtype}", output_index=k, input_index=diff[j])
                jac[k][j][row] = g.reshape(-1)
    return jac


def _numerical_jacobians(fn, args64, diff, outs64, checked, eps, out_label):
    """Central differences on float64 copies; the step actually taken (x+h)-(x-h) is used."""
    jac = {k: [] for k in checked}
    for p in diff:
        x = args64[p].data
        blocks = {k: np.zeros((outs64[k].size, x.size)) for k in checked}
        for i in range(x.size):
            plus, minus = x.copy().reshape(-1), x.copy().reshape(-1)
            plus[i] += eps
            minus[i] -= eps
            f_plus = _evaluate64(fn, args64, p, plus.reshape(x.shape), outs64, checked, out_label)
            f_minus = _evaluate64(fn, args64, p, minus.reshape(x.shape), outs64, checked,
                                  out_label)
            step = plus[i] - minus[i]
            for k in checked:
                blocks[k][:, i] = (f_plus[k] - f_minus[k]) / step
        for k in checked:
            jac[k].append(blocks[k])
    return jac


def _evaluate64(fn, args64, p, value, outs64, checked, out_label):
    changed = list(args64)
    changed[p] = Tensor(value, requires_grad=True)
    outs = _call(fn, tuple(changed), "gradcheck")
    result = {}
    for k in checked:
        o = outs[k]
        if o.shape != outs64[k].shape:
            raise GradcheckError(f"{out_label(k)} changed shape from {outs64[k].shape} to "
                                 f"{o.shape} when an input was perturbed by eps", output_index=k)
        result[k] = np.asarray(o.data, dtype=np.float64).reshape(-1)
    return result


def _check_vjp(fn, args, diff, checked, numerical, shapes, labels, eps, vjp_rtol, seed) -> None:
    """One backward seeded with random non-unit gradients v_k for every output at once must give
    sum_k v_k . J[k, j] for each input j.  One-hot seeds cannot see a rule that ignores its
    incoming gradient g when the output is a scalar (the seed is then exactly 1); v can."""
    out_label, in_label = labels
    outs = _call(fn, args, "gradcheck")
    seeded = [k for k in checked if outs[k].requires_grad]
    if not seeded:
        return
    rng = np.random.default_rng(seed)
    # magnitudes in [1.25, 2.5] with random signs: never close to 1 (g ignored) or 0 (g unused)
    vs = {k: rng.choice([-1.0, 1.0], outs[k].shape) * rng.uniform(1.25, 2.5, outs[k].shape)
          for k in seeded}
    wrt = tuple(args[p] for p in diff)
    grads = grad(tuple(outs[k] for k in seeded), wrt, retain_graph=True, allow_unused=True,
                 grad_outputs=tuple(Tensor(vs[k].astype(outs[k].dtype)) for k in seeded))
    fd_noise = 64 * np.finfo(np.float64).eps / eps  # central differences' round-off, per |f|
    for j, (g, x) in enumerate(zip(grads, wrt)):
        got = np.zeros(x.size) if g is None else np.asarray(g.data, dtype=np.float64).reshape(-1)
        expected, scale, noise = np.zeros(x.size), np.zeros(x.size), 0.0
        for k in seeded:
            v = vs[k].reshape(-1)
            expected += v @ numerical[k][j]
            scale += np.abs(v) @ np.abs(numerical[k][j])
            noise += np.abs(v).sum() * fd_noise * max(1.0, max_abs(outs[k].data))
        err = np.abs(got - expected)
        bad = ~(err <= vjp_rtol * scale + noise)
        if not bad.any():
            continue
        err = np.where(np.isnan(err), np.inf, err)
        col = int(np.argmax(np.where(bad, err, -1.0)))
        in_el = tuple(int(i) for i in np.unravel_index(col, shapes[1][diff[j]]))
        outputs = ", ".join(out_label(k) for k in seeded)
        raise GradcheckError(
            f"VJP mismatch with respect to {in_label(diff[j])} for a random output gradient v "
            f"(seeding {outputs}),\n"
            f"  worst entry: input{diff[j]}{index_text(in_el)}\n"
            f"    v . numerical Jacobian: {float(expected[col])!r}\n"
            f"    backward(v):            {float(got[col])!r}\n"
            f"  {int(bad.sum())} of {bad.size} entries exceed vjp_rtol * sum|v||J| with "
            f"vjp_rtol={vjp_rtol:.3g}\n"
            "  (the Jacobian matched with one-hot seeds, so a rule uses its incoming gradient g\n"
            "   wrongly: it ignores g (invisible on a scalar output, whose seed is 1) or is off by a\n"
            f"   small relative error; v: entries +-[1.25, 2.5] from numpy.random.default_rng({seed}))",
            input_index=diff[j], input_element=in_el, numerical=float(expected[col]),
            analytical=float(got[col]), max_abs_error=float(err.max()))


# ----------------------------------------------------------------------------- helpers

def _as_tuple(inputs) -> tuple:
    return tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)


def _is_float(dtype) -> bool:
    return np.issubdtype(dtype, np.floating)


def _check_tolerances(eps, atol, rtol, vjp_rtol) -> None:
    if not eps > 0:
        raise ValueError(f"gradcheck: eps must be positive, got {eps!r}")
    if not (atol >= 0 and rtol >= 0 and vjp_rtol >= 0):
        raise ValueError(f"gradcheck: atol, rtol and vjp_rtol must be >= 0, got atol={atol!r}, "
                         f"rtol={rtol!r}, vjp_rtol={vjp_rtol!r}")


def _differentiable_positions(args, who) -> list[int]:
    diff = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not diff:
        kinds = ", ".join(_describe(a) for a in args) or "nothing"
        raise ValueError(f"{who}: no input requires grad (got {kinds}); pass the inputs to "
                         "differentiate as Tensor(..., requires_grad=True)")
    for i in diff:
        if not _is_float(args[i].dtype):
            raise TypeError(f"{who}: input {i} requires grad but has dtype {args[i].dtype}; "
                            "only floating-point inputs can be differentiated")
    return diff


def _call(fn, args, who) -> tuple:
    out = fn(*args)
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, (tuple, list)) and out and all(isinstance(o, Tensor) for o in out):
        return tuple(out)
    raise TypeError(f"{who}: fn must return a Tensor or a non-empty tuple of Tensors, "
                    f"got {_describe(out)}")


def _describe(value) -> str:
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_describe(v) for v in value)
        return f"{type(value).__name__}({inner})"
    if isinstance(value, Tensor):
        return f"Tensor(shape={value.shape}, dtype={value.dtype}, " \
               f"requires_grad={value.requires_grad})"
    if isinstance(value, np.ndarray):
        return f"ndarray(shape={value.shape}, dtype={value.dtype})"
    return type(value).__name__


def _float64_copy(a):
    if isinstance(a, Tensor):
        data = np.array(a.data, dtype=np.float64 if _is_float(a.dtype) else None, copy=True)
        return Tensor(data, requires_grad=a.requires_grad)
    if isinstance(a, np.ndarray) and _is_float(a.dtype):
        return a.astype(np.float64)
    return a


def _grad_outputs_for(outputs, grad_outputs, seed) -> tuple:
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        return tuple(Tensor(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=True)
                     for o in outputs)
    given = _as_tuple(grad_outputs)
    if len(given) != len(outputs):
        raise ValueError(f"gradgradcheck: got {len(given)} grad_outputs for {len(outputs)} "
                         "differentiable outputs of fn")
    result = []
    for m, (g, o) in enumerate(zip(given, outputs)):
        if not isinstance(g, Tensor):
            g = Tensor(np.asarray(g, dtype=o.dtype), requires_grad=True)
        if g.shape != o.shape:
            raise ValueError(f"gradgradcheck: grad_outputs[{m}] has shape {g.shape} but the "
                             f"output it seeds has shape {o.shape}")
        result.append(g)
    return tuple(result)
