"""Two recordings of a call, compared into one replay plan (for ``autograd.compile``).

``resolve`` compares two recordings (``compile_trace``) of calls with the same input signature and
decides what every outside value is at replay:

* a tensor or array seen in both (the same object): read at replay (a parameter updated in place
  between calls, ``load_state_dict``, a closure array);
* a value made inside the call (a new object each time) that equals an input (cast to its dtype)
  in both calls: that input (``Tensor(x)``, ``np.asarray(y, dtype)`` inside the function);
* otherwise equal in both calls: a constant, baked in;
* anything else (a value computed from the inputs with NumPy, outside autograd): not replayable.

The plan (``ops``, ``walks``, ``outputs``) is what ``compile_plan.generate`` writes as code.
"""
from __future__ import annotations

import numpy as np

from autograd.tensor import Tensor


class NotReplayable(Exception):
    """The two recordings differ in a way a replay cannot reproduce (the message says how)."""


# ---------------------------------------------------------------- comparing two recordings
class _Resolver:
    def __init__(self, r1, r2):
        self.r1, self.r2 = r1, r2
        self.done = {}

    def ref(self, a, b, where):
        """The replay reference for reference ``a`` of the first recording and ``b`` of the second."""
        if a[0] in ("seq", "dict") or b[0] in ("seq", "dict"):
            if a[0] != b[0] or a[1] != b[1] or len(a[2]) != len(b[2]):
                raise NotReplayable(f"{where}: the structure differs between calls")
            return (a[0], a[1], tuple(self.ref(x, y, where) for x, y in zip(a[2], b[2])))
        if a[0] in ("v", "arg") or b[0] in ("v", "arg"):
            if a != b:
                raise NotReplayable(f"{where}: the two calls used different values")
            return a
        if a[0] == "py" or b[0] == "py":
            if a[0] != b[0] or not _same_py(a[1], b[1]):
                raise NotReplayable(f"{where}: a Python value differs between calls ({a[1]!r}, then {b[1]!r}); "
                                    "it was computed from the inputs outside autograd")
            return a
        key = (a, b)
        if key not in self.done:
            self.done[key] = self._outside(a, b, where)
        return self.done[key]

    def _outside(self, a, b, where):
        (obj1, (print1, equals1)), (obj2, (print2, equals2)) = self._value(self.r1, a), self._value(self.r2, b)
        shape = (obj2.data if isinstance(obj2, Tensor) else obj2).shape
        if obj1 is obj2:  # the same tensor or array both times: read it at replay
            if isinstance(obj1, Tensor):
                return ("ext", obj1)
            if print1 != print2:
                raise NotReplayable(f"{where}: an array of shape {shape} was changed in place by the call")
            return ("obj", obj1)
        if isinstance(obj2, Tensor) and obj2.requires_grad:
            raise NotReplayable(f"{where}: a tensor that requires grad is created inside the function; "
                                "create parameters outside it")
        both = [j for j in equals1 if j in equals2]
        data = obj2.data if isinstance(obj2, Tensor) else obj2
        if both:  # Tensor(x), np.asarray(y, dtype) of an input
            return ("cast", both[0], data.dtype)
        if print1 == print2:
            return ("bake", np.array(data, copy=True))
        raise NotReplayable(f"{where}: an array of shape {shape} differs between calls and is not one of "
                            "the inputs; it was computed from the inputs with NumPy, outside autograd")

    @staticmethod
    def _value(rec, ref):
        obj = rec.externals[ref[1]] if ref[0] == "ext" else rec.consts[ref[1]]
        return obj, rec.seen[ref[0], ref[1]]


def _same_py(x, y):
    if x is y:
        return True
    try:
        return type(x) is type(y) and bool(x == y)
    except Exception:
        return False


def resolve(r1, r2):
    """The replay plan of two recordings, or ``NotReplayable``."""
    for r in (r1, r2):
        if r.taint is not None:
            raise NotReplayable(r.taint)
    if len(r1.ops) != len(r2.ops) or len(r1.walks) != len(r2.walks):
        raise NotReplayable("the two calls recorded different operations (Python control flow on values "
                            "computed outside autograd?)")
    res = _Resolver(r1, r2)
    ops = []
    for s, (o1, o2) in enumerate(zip(r1.ops, r2.ops)):
        where = f"operation {s} ({o1.prim.name})"
        if o1.prim is not o2.prim or len(o1.refs) != len(o2.refs) or (o1.params is None) != (o2.params is None) \
                or (o1.params and o1.params.keys() != o2.params.keys()) or o1.shape != o2.shape:
            raise NotReplayable(f"{where}: the two calls recorded different operations")
        refs = tuple(res.ref(a, b, where) for a, b in zip(o1.refs, o2.refs))
        params = {k: res.ref(v, o2.params[k], f"{where}, parameter {k}") for k, v in o1.params.items()} \
            if o1.params else None
        ops.append((o1.prim, refs, params, o1.shape, o1.dtype))
    walks = []
    for w1, w2 in zip(r1.walks, r2.walks):
        if w1.root != w2.root or len(w1.events) != len(w2.events) or len(w1.leaves) != len(w2.leaves):
            raise NotReplayable("the two calls ran different backward walks")
        events = []
        for e1, e2 in zip(w1.events, w2.events):
            if e1[:3] != e2[:3]:
                raise NotReplayable("the two calls ran different backward walks")
            events.append(e1 if e1[0] == "step" else (*e1[:3], res.ref(e1[3], e2[3], "a backward walk")))
        leaves = [res.ref(a, b, "a backward walk") for a, b in zip(w1.leaves, w2.leaves)]
        walks.append((w1.root, events, leaves))
    outputs = res.ref(r1.outputs, r2.outputs, "the outputs")
    return ops, walks, outputs
