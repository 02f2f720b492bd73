"""The replay of a plan (``compile_resolve``) as one function of flat NumPy code (for ``autograd.compile``).

``generate`` writes the replay as Python source: the forward (each primitive's ``forward``), then each
backward walk in the engine's order (each rule's ``vjp``, the engine's unbroadcast and cast, the
gradients summed in the engine's order, ``.grad`` of the leaves set or accumulated as ``backward`` does),
deleting each array after its last use.  It creates no Tensor, except to return outputs.
"""
from __future__ import annotations

import itertools
import re

import numpy as np

from autograd import compile_fold, compile_inline, compile_optim, engine, shape_ops
from autograd import ops as _ops
from autograd.compile_optim import Stale
from autograd.tensor import Tensor

__all__ = ["Stale", "generate"]

_MATMUL, _SUM = _ops._matmul.primitive, _ops._sum.primitive
_GETITEM = shape_ops._getitem.primitive
_UNKNOWN = object()  # (a value constant folding cannot stand in for)


def _data(arg):
    return arg.data if isinstance(arg, Tensor) else arg if isinstance(arg, np.ndarray) else None


# ---------------------------------------------------------------- the replay as Python source
def _conform(ga, shape, dtype):
    """The engine's fitting of a rule's gradient to its input: Tensor -> data, unbroadcast, cast."""
    if isinstance(ga, Tensor):
        ga = ga.data
    if ga.shape != shape:
        ga = engine.unbroadcast(ga, shape)
    if ga.dtype != dtype:
        ga = ga.astype(dtype)
    return ga


def _assign(leaf, g, given):
    """What ``backward`` does with a leaf's summed gradient ``g``."""
    if leaf.grad is None:
        g = engine._owned(g, leaf.data.dtype)
        if id(g) in given:
            g = g.copy()
        given.add(id(g))
        leaf.grad = g
    else:
        leaf.grad = engine._accumulated(leaf, g)


def _stale(what):
    raise Stale(what)


class _Writer:
    def __init__(self, args):
        self.args = args
        self.names = {"_wrap": Tensor._wrap, "_ones": np.ones, "_asarray": np.asarray, "_ndarray": np.ndarray,
                      "_conform": _conform, "_assign": _assign, "_stale": _stale, "_Tensor": Tensor,
                      "_add_reduce": np.add.reduce, "_matmul": np.matmul,
                      "_accumulated": engine._accumulated, **compile_inline.NAMES}
        self.head = []  # statements reading the inputs and the tensors read at replay
        self.body = []  # (statement, names it uses)
        self.guards = []  # (source, value it must have): what a tensor read at replay must still be
        self.known = {}

    def bind(self, prefix, value):
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def expr(self, ref):
        """Source for the value of ``ref`` at replay (and the variables it uses)."""
        kind = ref[0]
        if kind == "v":
            return f"v{ref[1]}", {f"v{ref[1]}"}
        if kind == "seq" or kind == "dict":
            parts = [self.expr(r) for r in ref[2]]
            used = set().union(*(u for _, u in parts)) if parts else set()
            items = ", ".join(p for p, _ in parts)
            if kind == "dict":
                keys = self.bind("K", ref[1])
                return f"dict(zip({keys}, ({items},)))", used
            if ref[1] is tuple:
                return f"({items},)", used
            return (f"[{items}]", used) if ref[1] is list else (f"{self.bind('K', ref[1])}(({items},))", used)
        key = (kind, id(ref[1])) if kind in ("ext", "obj", "bake", "py") else ref
        if key in self.known:
            return self.known[key], set()
        if kind == "arg":
            name = f"a{ref[1]}"
            self.head.append(f"{name} = args[{ref[1]}]" + (".data" if isinstance(self.args[ref[1]], Tensor) else ""))
        elif kind == "ext":
            t = ref[1]
            tensor = self.bind("E", t)
            name = f"x{tensor[1:]}"
            self.head.append(f"{name} = {tensor}._data")
            self.guards.append((f"{name}.shape, {name}.dtype, {tensor}.requires_grad",
                                (t.data.shape, t.data.dtype, t.requires_grad)))
        elif kind == "cast":
            source, _ = self.expr(("arg", ref[1]))
            if _data(self.args[ref[1]]).dtype == ref[2]:
                return source, set()
            name = f"c{len(self.head)}"
            self.head.append(f"{name} = {source}.astype({self.bind('D', ref[2])})")
        else:  # obj, bake, py: a name bound to the value
            name = self.bind("K", ref[1])
        self.known[key] = name
        return name, set()

    def leaf(self, ref):
        if ref[0] == "arg":
            return f"args[{ref[1]}]"
        self.expr(ref)
        return next(name for name, value in self.names.items() if value is ref[1] and name.startswith("E"))

    def operands(self, refs, params):
        """Sources of the operands and of the parameters, and the variables they use."""
        parts = [self.expr(r) for r in refs]
        used = set().union(*(u for _, u in parts)) if parts else set()
        options = {}
        for key, ref in (params or {}).items():
            options[key], u = self.expr(ref)
            used |= u
        return [p for p, _ in parts], options, used

    def call(self, fn, refs, params, lead=()):
        inputs, options, used = self.operands(refs, params)
        text = [*lead, *inputs, *(f"{key}={source}" for key, source in options.items())]
        return f"{fn}({', '.join(text)})", used


def generate(plan, args, hits=None, buffers=False, optimizer=None):
    """Python source of ``replay(args)`` for ``plan`` (from ``resolve``), and the names it reads.

    ``hits``: None for a first version that checks every gradient's shape and dtype (recording in
    ``names["_hits"]`` where the engine's fitting was needed, and what it was given); then what it
    found, for a version that fits exactly those gradients, written out, and checks none.
    ``buffers``: ufunc forwards write into buffers allocated once (see ``_reusable``).
    ``optimizer``: its ``zero_grad()`` first and its ``step()`` last (``compile_optim``).
    """
    ops, walks, outputs = plan
    w = _Writer(args)
    w.names["_hits"] = {}
    emitter = compile_optim.Emitter(w, optimizer, [ref for walk in walks for ref in walk[2]]) \
        if optimizer is not None else None
    if emitter is not None:
        w.body.extend((line, set()) for line in emitter.zero())
    sites = itertools.count()
    reused = _reusable(ops, outputs) if buffers else set()
    into = {}  # body index -> the operand its ufunc may write into, if that is the operand's last use
    owned = _owned_values(ops, reused)
    for s, (prim, refs, params, shape, dtype) in enumerate(ops):
        # (sum's forward is np.sum, which calls add.reduce with these arguments: called directly)
        inputs, options, used = w.operands(refs, params)
        source = compile_inline.forward(prim, inputs, options)
        if source is None:
            source, used = w.call("_add_reduce" if prim is _SUM else w.bind("F", prim.forward), refs, params)
        if s in reused:  # the ufunc writes into a buffer allocated once (a view, so a leaf never adopts it as .grad)
            source = f"{source[:-1]}, out={w.bind('B', np.empty(shape, dtype).view())})"
        elif shape != () and (_elementwise(prim.forward) or prim in _INLINE_UFUNCS) and not params:
            dead = [f"v{r[1]}" for r in refs if r[0] == "v" and r[1] in owned and ops[r[1]][3:] == (shape, dtype)]
            if dead:
                into[len(w.body)] = dead
        w.body.append((f"v{s} = {'_asarray(' + source + ')' if shape == () else source}", used))
    for n, (root, events, leaves) in enumerate(walks):
        ones = np.ones(ops[root][3], ops[root][4])
        alias = {}  # gradient variable -> the name of the constant it holds (folded), not yet assigned
        if hits is not None:  # (the final version: constants folded; the first one checks every gradient)
            alias[f"g{root}"] = w.bind("K", ones)
        else:
            w.body.append((f"g{root} = {w.bind('K', ones)}.copy()", set()))  # copied: a leaf may adopt it
        w.body.append((f"given{n} = set()", set()))
        routed = set()
        fresh = set()  # leaf gradient variables known to hold an array made for them (not shared, not a view)
        shared = set()  # gradient variables a rule may have passed on (as they are, or a view)
        for position, event in enumerate(events):
            if event[0] == "step":
                continue
            _, s, k, target = event
            prim, refs, params, _, _ = ops[s]
            g = alias.get(f"g{s}", f"g{s}")
            if target[0] == "v":
                shape, dtype = ops[target[1]][3], ops[target[1]][4]
                sink = f"g{target[1]}"
            else:
                data = _data(args[target[1]]) if target[0] == "arg" else target[1].data
                shape, dtype = data.shape, data.dtype
                sink = f"l{n}_{next(i for i, r in enumerate(leaves) if r[0] == target[0] and r[1] is target[1])}"
            site = next(sites)
            value = _folded(w, ops, s, k, g, shape, dtype) if g != f"g{s}" else None
            if value is not None:  # a constant: no call at replay
                const = w.bind("K", value)
                if sink in routed:
                    w.body.append((f"{sink} = {alias.pop(sink, sink)} + {const}", {sink} - set(alias)))
                elif target[0] == "v":
                    alias[sink] = const
                else:  # (copied: the leaf adopts it as .grad)
                    w.body.append((f"{sink} = {const}.copy()", set()))
                    fresh.add(sink)
                routed.add(sink)
                continue
            if g != f"g{s}":  # a constant the rule needs at replay
                w.body.append((f"g{s} = {alias.pop(f'g{s}')}", set()))
            if prim.vjp is None:
                source, used, new = f"g{s}", {f"g{s}"}, False
            else:
                source, used, new = _vjp_call(w, ops, prim, refs, params, k, s)
                if not new:  # (the rule's value may be g itself or a view of it)
                    shared.add(f"g{s}")
                elif (hits is not None and site not in hits and f"g{s}" in fresh and f"g{s}" not in shared
                      and (shape, dtype) == ops[s][3:] and shape != () and not params
                      and not any(e[0] != "step" and e[1] == s for e in events[position + 1:])):
                    # g is an array made for this op's gradient, read by no later rule: written into
                    written = compile_inline.vjp_into(prim, k, f"g{s}", f"v{s}", w.operands(refs, params)[0])
                    source = written if written is not None else source
            w.body.append((f"_t = {source}", used))
            fit = f"_conform(_t, {shape!r}, {w.bind('D', dtype)})"
            if hits is None:  # the first replay finds which gradients need the engine's unbroadcast or cast
                w.body.append((f"if type(_t) is not _ndarray or _t.shape != {shape!r} or _t.dtype != "
                               f"{w.bind('D', dtype)}: _hits[{site}] = (isinstance(_t, _Tensor), _t.shape, "
                               f"_t.dtype); _t = {fit}", set()))
            elif site in hits:  # (fixed by the signature: the same at every replay)
                w.body.extend((line, set()) for line in _fitting(w, hits[site], shape, dtype, fit))
            # a new array of the leaf's shape and dtype (checked by the first replay, else fitted):
            # a product or an operator's result written here, a sum or a cast, or a sum of two gradients
            made = hits is not None and shape != () and (
                (new and site not in hits)
                or (site in hits and w.body[-1][0].startswith(("_t = _add_reduce(", "_t = _t.astype("))))
            if sink in routed:  # (the sum of two fitted gradients: a new array)
                w.body.append((f"{sink} = {alias.pop(sink, sink)} + _t", {sink} - set(alias)))
                made = hits is not None and shape != ()
            else:
                w.body.append((f"{sink} = _t", set()))
            (fresh.add if made else fresh.discard)(sink)
            routed.add(sink)
        for sink in [name for name in alias if name.startswith("l")]:
            w.body.append((f"{sink} = {alias.pop(sink)}.copy()", set()))
        for i, ref in enumerate(leaves):
            leaf, grad = w.leaf(ref), f"l{n}_{i}"
            if grad in fresh:  # what _assign does with an array no one else holds, written out
                # (._grad: the setter's checks hold, the array having the leaf's shape and dtype)
                w.body.append((f"{leaf}._grad = {grad} if {leaf}._grad is None else _accumulated({leaf}, {grad})",
                               {grad}))
            else:
                w.body.append((f"_assign({leaf}, {grad}, given{n})", {grad}))
    if emitter is not None:
        w.body.extend((line, set()) for line in emitter.step())
    result, used = _output(w, outputs)
    w.body.append((f"return {result}", used))
    lines = list(w.head)
    if w.guards:  # one comparison of every tensor's shape, dtype and requires_grad with the recorded ones
        expected = w.bind("G", tuple(v for _, value in w.guards for v in value))
        lines.append(f"if ({', '.join(source for source, _ in w.guards)},) != {expected}: _stale(None)")
    if emitter is not None:
        lines += emitter.head()
    lines += _with_deletes(_written_into(w.body, into))
    return "def replay(args):\n" + "".join(f"    {line}\n" for line in lines), w.names


def _shape_of(w, ops, ref):
    """The (shape, dtype) of a reference's value at replay (fixed by the signature), or None for a Python value."""
    kind = ref[0]
    if kind == "v":
        return ops[ref[1]][3], ops[ref[1]][4]
    if kind == "arg":
        data = _data(w.args[ref[1]])
        return data.shape, data.dtype
    if kind == "cast":
        return _data(w.args[ref[1]]).shape, ref[2]
    if kind == "ext":
        return ref[1].data.shape, ref[1].data.dtype
    if kind in ("obj", "bake") and isinstance(ref[1], np.ndarray):
        return ref[1].shape, ref[1].dtype
    return None


def _folded(w, ops, s, k, g, shape, dtype):
    """The gradient op ``s``'s rule sends to input ``k`` when its own gradient is the constant named
    ``g`` and the rule reads no value known only at replay, fitted to (shape, dtype); else None."""
    prim, refs, params, out_shape, out_dtype = ops[s]

    def value(ref):
        if ref[0] in ("py", "bake"):
            return ref[1]
        if ref[0] == "seq":
            items = [value(r) for r in ref[2]]
            return ref[1](items) if ref[1] in (tuple, list) and not any(v is _UNKNOWN for v in items) \
                else _UNKNOWN
        known = _shape_of(w, ops, ref)
        return _UNKNOWN if known is None else compile_fold.Placeholder(*known)

    grad = w.names[g]
    if prim.vjp is None:
        result = grad
    else:
        inputs = [value(r) for r in refs]
        options = {key: value(r) for key, r in (params or {}).items()}
        if any(v is _UNKNOWN for v in (*inputs, *options.values())):
            return None
        result = compile_fold.fold(prim.vjp, (k, grad, compile_fold.Placeholder(out_shape, out_dtype), *inputs),
                                   options)
    if result is None:
        return None
    try:
        return _conform(result, shape, dtype)
    except Exception:
        return None


def _vjp_call(w, ops, prim, refs, params, k, s):
    """Source of op ``s``'s rule for input ``k``, the variables it uses, and whether its value is a new
    array when it is an ndarray (written out for matmul of matrices and ``compile_inline``'s rules)."""
    if prim is _MATMUL and not params:
        a, b = (_shape_of(w, ops, r) for r in refs)
        if a is not None and b is not None and len(a[0]) == 2 and len(b[0]) == 2:
            # _matmul_vjp's common case (`g @ b.swapaxes(-1, -2)`, `a.swapaxes(-1, -2) @ g`): .T is that view
            other, used = w.expr(refs[1 - k])
            text = f"_matmul(g{s}, {other}.T)" if k == 0 else f"_matmul({other}.T, g{s})"
            return text, used | {f"g{s}"}, True
    if prim is _GETITEM and len(refs) == 1 and params is not None and set(params) == {"index"}:
        x, accumulate = _shape_of(w, ops, refs[0]), _accumulates(w, ops, params["index"])
        if x is not None and accumulate is not None:
            index, used = w.expr(params["index"])
            source = compile_inline.getitem_vjp(prim, f"g{s}", x[0], index, accumulate)
            if source is not None:
                return source, used | {f"g{s}"}, True
    inputs, options, used = w.operands(refs, params)
    constants = [r[1] if r[0] == "py" else compile_inline.NOT_CONSTANT for r in refs]
    inline = compile_inline.vjp(prim, k, f"g{s}", f"v{s}", inputs, options, constants)
    if inline is not None:  # (the variables it names: an operand a rule does not read is freed sooner)
        source, new = inline
        return source, set(re.findall(r"[A-Za-z_]\w*", source)) & (used | {f"g{s}", f"v{s}"}), new
    source, used = w.call(w.bind("R", prim.vjp), refs, params, lead=(str(k), f"g{s}", f"v{s}"))
    return source, used | {f"g{s}", f"v{s}"}, False


def _accumulates(w, ops, ref):
    """Whether ``shape_ops._scatter_forward`` adds with ``np.add.at`` (True) or assigns (False) for the index
    ``ref``, as its kind is fixed by the signature; None when that is not known here."""
    def basic(r):
        return r[0] == "py" and (r[1] is None or r[1] is Ellipsis or isinstance(r[1], (int, np.integer, slice)))

    if ref[0] == "seq":
        return None if ref[1] is not tuple else not all(basic(r) for r in ref[2])
    if ref[0] == "py":
        return not basic(ref)
    known = _shape_of(w, ops, ref)  # (an array: a boolean mask alone is assigned)
    return None if known is None else known[1] != np.bool_


def _fitting(w, hit, shape, dtype, fit):
    """The engine's ``_conform`` for a gradient found (at the first replay) as ``hit`` = (a Tensor?, its
    shape, its dtype), written out: the same ``sum`` calls as ``engine.unbroadcast``, then the cast."""
    tensor, have, have_dtype = hit
    lines = ["_t = _t.data"] if tensor else []
    if have != shape:
        lead = len(have) - len(shape)
        axes = tuple(lead + d for d, n in enumerate(shape) if n == 1 and have[lead + d] != 1) if lead >= 0 else ()
        summed = tuple(1 if lead + d in axes else n for d, n in enumerate(have[max(lead, 0):]))
        if lead < 0 or summed != shape:  # the engine raises here: let it
            return [*lines, f"_t = {fit}"]
        # (ndarray.sum is add.reduce with the same arguments: called directly)
        if axes:
            lines.append(f"_t = _add_reduce(_t, axis={axes!r}, keepdims=True)")
        if lead:
            lines.append(f"_t = _add_reduce(_t, axis={tuple(range(lead))!r})")
    if have_dtype != dtype:
        lines.append(f"_t = _t.astype({w.bind('D', dtype)})")
    return lines


def _reusable(ops, outputs):
    """The ops whose outputs can live in buffers reused from replay to replay: NumPy ufuncs (which
    write into ``out=`` bit for bit as they allocate), except outputs of the call and values that
    an output may be a view of."""
    kept = set()

    def mark(ref):
        if ref[0] == "v":
            kept.add(ref[1])
        elif ref[0] in ("seq", "dict"):
            for r in ref[2]:
                mark(r)

    mark(outputs)
    for s in reversed(range(len(ops))):
        prim, refs, params = ops[s][:3]
        if s in kept and not isinstance(prim.forward, np.ufunc):  # (a reshape or index may return a view)
            for r in (*refs, *(params or {}).values()):
                mark(r)
    return {s for s, (prim, _, _, shape, _) in enumerate(ops)
            if isinstance(prim.forward, np.ufunc) and prim.forward.nout == 1 and shape != () and s not in kept}


def _output(w, ref):
    kind = ref[0]
    if kind == "v":
        return f"_wrap(v{ref[1]})", {f"v{ref[1]}"}
    if kind == "arg":
        return f"args[{ref[1]}]", set()
    if kind in ("seq", "dict"):
        parts = [_output(w, r) for r in ref[2]]
        used = set().union(*(u for _, u in parts)) if parts else set()
        items = ", ".join(p for p, _ in parts)
        if kind == "dict":
            return f"dict(zip({w.bind('K', ref[1])}, ({items},)))", used
        return (f"({items},)" if ref[1] is tuple else f"[{items}]" if ref[1] is list
                else f"{w.bind('K', ref[1])}(({items},))"), used
    if kind == "ext":
        w.expr(ref)
        return w.leaf(ref), set()
    return w.expr(ref)


_INLINE_UFUNCS = (_ops.relu.primitive, _ops.sigmoid.primitive)  # (written inline as ufuncs of their operand)


def _elementwise(fn) -> bool:
    return isinstance(fn, np.ufunc) and fn.signature is None and fn.nout == 1


def _owned_values(ops, reused):
    """The ops whose value is an array the replay made for it (a ufunc's result, not a buffer kept between
    calls) that no op turns into a view (an index, a reshape): writing into it once it is dead touches no
    other live value."""
    owned = {s for s, (prim, *_) in enumerate(ops)
             if (isinstance(prim.forward, np.ufunc) or prim in _INLINE_UFUNCS) and s not in reused}
    for prim, refs, params, *_ in ops:
        if not (isinstance(prim.forward, np.ufunc) or prim in _INLINE_UFUNCS or prim is _SUM):
            owned -= {r[1] for r in (*refs, *(params or {}).values()) if r[0] == "v"}
    return owned


def _written_into(body, into):
    """``body`` with each forward ufunc in ``into`` writing its result into an operand whose last use it is
    (what NumPy's temporary elision does for ``a + b`` in hand-written code; the same bits)."""
    last = {}
    for i, (_, used) in enumerate(body):
        for name in used:
            last[name] = i
    body = list(body)
    for i, names in into.items():
        dead = next((name for name in names if last.get(name) == i), None)
        if dead is not None:
            line, used = body[i]
            body[i] = (f"{line[:-1]}, out={dead})", used)
    return body


def _with_deletes(body):
    """The statements, each array variable deleted right after its last use (as the engine frees them)."""
    last = {}
    for i, (_, used) in enumerate(body):
        for name in used:
            last[name] = i
    lines = []
    for i, (line, _) in enumerate(body):
        lines.append(line)
        dead = sorted(name for name, j in last.items() if j == i and i < len(body) - 1)
        if dead:
            lines.append(f"del {', '.join(dead)}")
    return lines
