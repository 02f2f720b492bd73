"""Graph-level gradient check: which primitive of a recorded graph has a wrong rule.

``gradcheck`` says *that* a model's gradient is wrong; ``check_graph(loss)`` says *where*.  It walks
the graph recorded for ``loss`` (before ``backward()``, or after ``backward(retain_graph=True)``)
and checks every recorded primitive's VJP rule at the values that primitive actually saw, in
forward order, on float64 copies of its inputs, with its keyword parameters:

* for each input that requires grad, a random output gradient ``g`` and random directions ``u``:
  the rule's ``<vjp(g), u>`` must equal the directional derivative ``<g, (f(x + h u) - f(x - h u)) / 2h>``
  of the primitive's forward (two forward calls per direction, so a check costs about as much as
  a few forward passes of the op, whatever its size);
* the first primitive that fails is then checked entry by entry (central differences of
  ``<g, f>`` with respect to each input element, at most ``max_entries`` of them), and the error
  names it: primitive, input index, worst entry, the shapes and parameters, the name scope and,
  when the forward ran under ``autograd.detect_anomaly()``, the user's source line.

A point where the forward is not differentiable along the direction drawn (``relu`` at 0, tied
maxima, ``clip`` at a bound: one-sided differences disagree) or not defined next to it (``sqrt``
at 0) is skipped, not reported; so is a primitive whose forward does not compute in float64 from
float64 inputs (``astype(float32)``).
"""
from __future__ import annotations

import numpy as np

from autograd import anomaly, versions
from autograd.anomaly import where
from autograd.engine import unbroadcast
from autograd.gradcheck import VJP_RTOL, GradcheckError
from autograd.tensor import Tensor

__all__ = ["check_graph", "GraphcheckError"]

_NOISE = 64 * np.finfo(np.float64).eps  # round-off of a forward evaluation, relative to its magnitude


class GraphcheckError(GradcheckError):
    """A recorded primitive's rule disagrees with its forward.  Besides :class:`GradcheckError`'s
    attributes: ``primitive`` (its name), ``tensor`` (the recorded output), ``trace`` (file, line,
    code, or None), ``wrong`` (every failing primitive as (name, input index))."""

    def __init__(self, message: str, *, primitive=None, tensor=None, trace=None, wrong=(), **located):
        super().__init__(message, **located)
        self.primitive = primitive
        self.tensor = tensor
        self.trace = trace
        self.wrong = list(wrong)


def check_graph(*roots: Tensor, eps: float = 1e-6, rtol: float = VJP_RTOL, directions: int = 2,
                max_entries: int = 4096, seed: int = 0, raise_exception: bool = True) -> bool:
    """Check the rule of every primitive recorded for ``roots`` (e.g. a loss) at the values it saw.

    Returns True when every rule agrees with central differences of its forward within
    ``rtol`` (relative to ``sum |g| |df|``, plus float64 round-off); otherwise raises
    :class:`GraphcheckError` naming the first wrong primitive in forward order (or returns False
    with ``raise_exception=False``).  ``directions``: random directions per input; ``seed``: for
    the random gradients and directions.
    """
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError("check_graph: pass the recorded Tensors to check, e.g. check_graph(loss), got "
                        + ", ".join(type(r).__name__ for r in roots) or "nothing")
    if not (eps > 0 and rtol >= 0 and directions >= 1 and max_entries >= 1):
        raise ValueError(f"check_graph: need eps > 0, rtol >= 0, directions >= 1 and max_entries >= 1, got "
                         f"eps={eps!r}, rtol={rtol!r}, directions={directions!r}, max_entries={max_entries!r}")
    nodes = _recorded(roots)
    if not nodes:
        raise ValueError("check_graph: nothing was recorded for these tensors (no operation on a tensor "
                         "that requires grad, or computed under no_grad())")
    rng = np.random.default_rng(seed)
    failures = []
    for position, t in enumerate(nodes):
        for k in _differentiable(t):
            if _agrees(t, k, rng, eps, rtol, directions, max_entries) is False:
                failures.append((position, t, k))
    if not failures:
        return True
    position, t, k = failures[0]
    error = _located_error(t, k, position, len(nodes), failures, rng, eps, rtol, max_entries)
    if raise_exception:
        raise error
    return False


def _recorded(roots) -> list[Tensor]:
    """The recorded tensors reachable from ``roots``, in forward (creation) order."""
    seen, stack, nodes = set(), list(roots), []
    while stack:
        t = stack.pop()
        if id(t) in seen or t._prim is None:
            continue
        seen.add(id(t))
        if t._inputs is None:
            raise RuntimeError(f"check_graph: the graph through {t._prim.name} (shape {t.shape}) was released by "
                               "backward(); call check_graph before backward(), or backward(retain_graph=True)")
        for k, a in enumerate(t._inputs):
            if isinstance(a, Tensor) and versions.changed_since(a, t._stamp):
                raise RuntimeError(f"check_graph: input {k} of {t._prim.name} (shape {a.shape}) was changed in place "
                                   "after the forward pass, so the values it saw are gone; check the graph before "
                                   "changing it, or on a fresh forward pass")
        nodes.append(t)
        stack.extend(a for a in t._inputs if isinstance(a, Tensor))
    return sorted(nodes, key=lambda t: t._stamp)


def _differentiable(t) -> list[int]:
    return [k for k, a in enumerate(t._inputs) if isinstance(a, Tensor) and a.requires_grad]


class _Local:
    """One primitive at the values it saw, on float64 copies: its forward as a function of input k."""

    def __init__(self, t, k):
        self.t, self.k = t, k
        self.prim, self.params = t._prim, t._params or {}
        self.arrays = [_float64(a.data if isinstance(a, Tensor) else a) for a in t._inputs]
        self.x = self.arrays[k]
        self.out = self.forward(self.x)

    def forward(self, x):
        arrays = list(self.arrays)
        arrays[self.k] = x
        out = self.prim.forward(*arrays, **self.params)
        return np.asarray(out.data if isinstance(out, Tensor) else out)

    def rule(self, g):
        """The rule's gradient for input k, summed to its shape as the engine does."""
        if self.prim.vjp is None:
            ga = g
        else:
            try:
                ga = self.prim.vjp(self.k, g, self.out, *self.arrays, **self.params)
            except Exception as exc:
                raise GraphcheckError(f"check_graph: the rule of {self.prim.name} raised {type(exc).__name__} for "
                                      f"input {self.k}: {exc}; the op was {where(self.t)}",
                                      primitive=self.prim.name, tensor=self.t, input_index=self.k,
                                      trace=anomaly.trace_of(self.t)) from exc
        ga = np.asarray(ga.data if isinstance(ga, Tensor) else ga, dtype=np.float64)
        try:
            return unbroadcast(ga, self.x.shape)
        except ValueError:
            raise GraphcheckError(f"check_graph: the rule of {self.prim.name} returned a gradient of shape {ga.shape} "
                                  f"for input {self.k} of shape {self.x.shape}; the op was {where(self.t)}",
                                  primitive=self.prim.name, tensor=self.t, input_index=self.k,
                                  trace=anomaly.trace_of(self.t)) from None

    def noise(self, g, eps):
        return _NOISE * float(np.abs(g).sum()) * max(1.0, _max_abs(self.out)) / eps


def _agrees(t, k, rng, eps, rtol, directions, max_entries):
    """True / False, or None when the check does not apply here (no reference anywhere, non-float64 forward)."""
    local = _Local(t, k)
    if local.out.dtype != np.float64 or local.x.dtype != np.float64:
        return None
    g = rng.standard_normal(local.out.shape)
    ga = local.rule(g)
    noise = local.noise(g, eps)
    for _ in range(directions):
        u = rng.standard_normal(local.x.shape)
        plus, minus = local.forward(local.x + eps * u), local.forward(local.x - eps * u)
        numerical = float(np.sum(g * (plus - minus))) / (2 * eps)
        analytical = float(np.sum(ga * u))
        scale = float(np.sum(np.abs(g * (plus - minus)))) / (2 * eps) + float(np.sum(np.abs(ga * u)))
        right = float(np.sum(g * (plus - local.out))) / eps
        left = float(np.sum(g * (local.out - minus))) / eps
        if not np.isfinite(numerical) or abs(right - left) > 1e-3 * (abs(right) + abs(left)) + 2 * noise:
            # some element sits at a kink or next to the forward's domain edge (relu at 0, sqrt at 0):
            # no directional derivative along u, so compare entry by entry, skipping those elements
            entries = _entrywise(local, g, ga.reshape(-1), eps, rtol, max_entries, rng)
            return None if not np.any(entries[3] >= 0) else not entries[4].any()
        if abs(numerical - analytical) > rtol * scale + noise:
            return False
    return True


def _entrywise(local, g, ga, eps, rtol, max_entries, rng):
    """<g, f> by central differences entry by entry (at most ``max_entries``, sampled):
    (entries, numerical, analytical, err, bad), err -1 where there is no reference (a kink, or
    the forward undefined next to the point), such entries never being bad."""
    size = local.x.size
    entries = np.arange(size) if size <= max_entries else np.sort(rng.choice(size, max_entries, replace=False))
    numerical = np.empty(len(entries))
    one_sided = np.empty((len(entries), 2))
    flat = local.x.reshape(-1)
    for n, i in enumerate(entries):
        plus, minus = flat.copy(), flat.copy()
        plus[i] += eps
        minus[i] -= eps
        up = np.sum(g * (local.forward(plus.reshape(local.x.shape)) - local.out))
        down = np.sum(g * (local.out - local.forward(minus.reshape(local.x.shape))))
        numerical[n] = (up + down) / (plus[i] - minus[i])
        one_sided[n] = up / (plus[i] - flat[i]), down / (flat[i] - minus[i])
    noise = local.noise(g, eps)
    right, left = one_sided[:, 0], one_sided[:, 1]
    with np.errstate(invalid="ignore"):
        smooth = np.isfinite(numerical) & (np.abs(right - left) <= 1e-3 * (np.abs(right) + np.abs(left)) + 2 * noise)
    analytical = ga[entries]
    err = np.where(smooth, np.abs(analytical - numerical), -1.0)
    err = np.where(np.isnan(err), np.inf, err)  # a NaN from the rule where the forward is smooth: wrong
    bad = err > rtol * (np.abs(numerical) + np.abs(analytical)) + noise
    return entries, numerical, analytical, err, bad


def _located_error(t, k, position, count, failures, rng, eps, rtol, max_entries) -> GraphcheckError:
    local = _Local(t, k)
    g = rng.standard_normal(local.out.shape)
    size = local.x.size
    entries, numerical, analytical, err, bad = _entrywise(local, g, local.rule(g).reshape(-1), eps, rtol,
                                                          max_entries, rng)
    worst = int(np.argmax(err))
    element = tuple(int(i) for i in np.unravel_index(int(entries[worst]), local.x.shape))
    index = "[" + ", ".join(map(str, element)) + "]" if element else "[()]"
    shapes = ", ".join(str(np.shape(a)) for a in local.arrays)
    params = ", ".join(f"{name}={value!r}" for name, value in local.params.items()) or "none"
    scope = "/".join(t._scope) if getattr(t, "_scope", None) else None
    sampled = "" if size <= max_entries else f" (of {max_entries} sampled entries)"
    lines = [
        f"check_graph: the rule of {t._prim.name} (op {position + 1} of {count} in forward order) is wrong for "
        f"input {k},",
        f"  {where(t)}",
        *([f"  in scope {scope}"] if scope else []),
        f"  worst entry: input{k}{index} of <g, {t._prim.name}(...)> for a random output gradient g",
        f"    numerical (central differences of the forward): {float(numerical[worst]):.8g}",
        f"    rule (vjp):                                      {float(analytical[worst]):.8g}",
        f"  {int(bad.sum())} of {len(entries)} entries wrong{sampled}; input shapes {shapes}, output shape "
        f"{local.out.shape}, parameters: {params}",
        "  (the values are those the op saw in the forward pass, as float64)",
    ]
    others = [f"{o._prim.name} (input {j}, op {p + 1})" for p, o, j in failures[1:]]
    if others:
        lines.append(f"  also wrong: {', '.join(others[:8])}{', ...' if len(others) > 8 else ''}")
    return GraphcheckError("\n".join(lines), primitive=t._prim.name, tensor=t, input_index=k,
                           trace=anomaly.trace_of(t), input_element=element,
                           numerical=float(numerical[worst]), analytical=float(analytical[worst]),
                           max_abs_error=float(err.max()), wrong=[(o._prim.name, j) for _, o, j in failures])


def _float64(value):
    array = np.asarray(value)
    return array.astype(np.float64) if array.dtype.kind == "f" else array


def _max_abs(array) -> float:
    return float(np.max(np.abs(array))) if array.size else 0.0
