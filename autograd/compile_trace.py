"""Recording one eager call of a function for ``autograd.compile``: its primitives, its backward walks, its outputs.

While a ``Recorder`` is active, every primitive application (``primitive._tracer``), every step of a
backward walk (``engine.observe``) and every ``item()`` / ``bool()`` on a tensor (``tensor._value_guard``)
is reported to it.  The call itself runs eagerly and unchanged; the recorder only writes down what
happened, as references:

* ``("v", s)``: the output of recorded op ``s``;  ``("arg", j)``: the data of the function's flat input ``j``;
* ``("ext", e)``: a tensor from outside the inputs (a parameter, or a constant tensor built inside);
* ``("const", c)``: an array constant;  ``("py", x)``: a Python value (a number, a slice, a generator...).

Whether an ``ext`` or ``const`` is read at replay, baked in or computed from an input is decided by
comparing two recordings (``compile_plan``).  A recording is ``tainted`` (with the reason) when the
call did something a replay could not repeat; ``refused`` when the call changed state outside
autograd that a replay would silently skip (an optimizer step, ``zero_grad``, gradient clipping).
"""
from __future__ import annotations

import hashlib
import sys
import threading

import numpy as np

from autograd import tensor, versions
from autograd.grad_mode import _state, current_scope, grad_enabled
from autograd.tensor import Tensor, as_operand

primitive = sys.modules["autograd.primitive"]  # the module (``autograd.primitive`` is also a function's name)
RANDOM_PRIMITIVES: set = set()
_RELEASED = np.empty(0)  # primitives whose forward draws random numbers: run again at every replay


class Op:
    """One recorded primitive application: ``prim`` on ``refs`` with ``params`` (references) giving value ``slot``."""

    __slots__ = ("prim", "refs", "params", "shape", "dtype")

    def __init__(self, prim, refs, params, shape, dtype):
        self.prim, self.refs, self.params, self.shape, self.dtype = prim, refs, params, shape, dtype


class Walk:
    """One backward walk: its root value, then ``events`` in the engine's order: ("step", s) and
    ("send", s, k, target) (the rule of op ``s`` sent input ``k``'s gradient to ``target``)."""

    def __init__(self, root):
        self.root = root
        self.events = []
        self.leaves = []  # leaf references in the order they were first reached (the engine's order)
        self.leaf_sums = {}  # reference -> the gradient summed so far (for the check after the walk)
        self.leaf_before = {}  # reference -> (tensor, a copy of its .grad before the walk, or None)


class Refusal(RuntimeError):
    """The compiled function changed state outside autograd that a replay would not repeat."""


class Recorder:
    """Collects one eager call's ops, walks and outputs (see the module docstring)."""

    def __init__(self, flat_args, known_externals=()):
        self.thread = threading.get_ident()
        self.args = flat_args
        self.arg_of = {id(a): j for j, a in enumerate(flat_args)}
        self.ops: list[Op] = []
        self.walks: list[Walk] = []
        # id(tensor) -> (slot, its stamp): a recorded tensor's stamp is unique, so an id reused after it
        # died is told apart; unstamped outputs (nothing to record) are kept alive, so their ids stay theirs
        self.slot_of = {}
        self.keep = []
        self.externals = []  # Tensors from outside
        self.ext_of = {}
        self.ext_seen = []  # (data as first seen, its fingerprint, .grad as first seen)
        self.consts = []  # the array objects
        self.seen = {}  # ("ext" or "const", index) -> (fingerprint, input indices it equals): set by finish()
        self.const_of = {}
        self.taint = None
        self.pending = set()
        self.walk = None
        self.outputs = None
        # tensors of an earlier recording: their .grad must not change before this call uses them
        self.grad_at_start = {id(t): (t, t.grad) for t in known_externals}

    # ---------------------------------------------------------------- activation
    @staticmethod
    def active() -> bool:
        """True while some call is being recorded."""
        return primitive._tracer is not None

    def __enter__(self):
        if primitive._tracer is not None or tensor._value_guard is not None or _state.observer is not None:
            raise RuntimeError("compile: already tracing or observing a backward walk")
        primitive._tracer, tensor._value_guard = self, self.value_used
        _state.observer = self
        self.changes_before = versions.last_change()
        return self

    def __exit__(self, *exc):
        primitive._tracer = tensor._value_guard = None
        _state.observer = None
        return False

    def finish(self, result):
        """Record the outputs of the call and check the gradients left by the last walk."""
        self._end_walk()
        self.outputs = self._output_ref(result)
        for t, (data, print_, _) in zip(self.externals, self.ext_seen):
            if t.data is not data or fingerprint(data) != print_:
                raise Refusal(
                    f"compile: the function changed the data of a tensor it reads (shape {t.shape}"
                    f"{', ' + repr(t.name) if t.name else ''}) outside the recorded operations (an optimizer "
                    "step or an in-place update?); a replay would not repeat it. Call optimizer.step() and "
                    "other updates outside the compiled function"
                )
        if self.taint is None and versions.last_change() != self.changes_before:
            self.taint = "an in-place change of a tensor (+=, item assignment) inside the function"
        self.keep = []
        for walk in self.walks:  # (the checks are done)
            walk.leaf_sums = walk.leaf_before = None
        arrays = [("ext", e, t.data) for e, t in enumerate(self.externals)] + \
            [("const", c, a) for c, a in enumerate(self.consts)]
        inputs = [a.data if isinstance(a, Tensor) else a for a in self.args]
        for kind, index, array in arrays:
            if kind == "ext" and self.externals[index].requires_grad:
                # a tensor that requires grad is read at replay when the next call reads it too, and
                # refused otherwise (compile_plan): its values are not compared
                self.seen[kind, index] = (None, ())
                continue
            print_ = self.ext_seen[index][1] if kind == "ext" else fingerprint(array)  # (checked unchanged above)
            equals = tuple(j for j, x in enumerate(inputs) if isinstance(x, np.ndarray) and x.shape == array.shape
                           and fingerprint(x.astype(array.dtype, copy=False)) == print_)
            self.seen[kind, index] = (print_, equals)
        self.args = [None] * len(self.args)  # (the inputs are not kept)

    def release_temporaries(self):
        """Drop the data of the outside tensors nobody else holds (made inside the call, such as
        ``Tensor(x)``): only their identity is compared with the next recording's."""
        for e in range(len(self.externals)):
            t = self.externals[e]
            if sys.getrefcount(t) <= 3 and not t.requires_grad:  # (this list, t, getrefcount's argument)
                t._data = _RELEASED  # (not an in-place change the version checks should see)
                self.ext_seen[e] = (None, None, None)

    # ---------------------------------------------------------------- the forward
    def __call__(self, prim, inputs, params, run):
        out = primitive.apply_untraced(prim, inputs, params)  # (another thread's ops run here too: not recorded)
        if threading.get_ident() == self.thread:
            self._record(prim, inputs, params or None, out, unary=run is not None and len(inputs) == 1)
        return out

    def _record(self, prim, inputs, params, out, unary):
        refs = []
        traced = prim in RANDOM_PRIMITIVES
        for a in inputs:
            if isinstance(a, Tensor):
                refs.append(self._tensor_ref(a))
                traced = True
            else:
                value = as_operand(a, prim.name)
                ref = self._value_ref(np.asarray(value) if unary else value)
                traced = traced or ref[0] == "arg"
                refs.append(ref)
        if params:
            params = {key: self._param_ref(value) for key, value in params.items()}
            traced = traced or any(_mentions_arg(p) for p in params.values())
        if not traced:  # constants only: the result is a constant too, compared between recordings
            return
        if self.walk is not None and (self.pending or not grad_enabled()):
            self.taint = f"{prim.name} applied during a backward walk (create_graph=True, or grad() of grad)"
        self.slot_of[id(out)] = (len(self.ops), out._stamp)
        if not out._stamp:
            self.keep.append(out)
        self.ops.append(Op(prim, tuple(refs), params, out.data.shape, out.data.dtype))

    def _slot(self, t):
        hit = self.slot_of.get(id(t))
        return hit[0] if hit is not None and hit[1] == t._stamp else None

    def _tensor_ref(self, t):
        slot = self._slot(t)
        if slot is not None:
            return ("v", slot)
        j = self.arg_of.get(id(t))
        if j is not None:
            return ("arg", j)
        e = self.ext_of.get(id(t))
        if e is None:
            e = self.ext_of[id(t)] = len(self.externals)
            self.externals.append(t)
            self.ext_seen.append((t.data, fingerprint(t.data), t.grad))
            start = self.grad_at_start.get(id(t))
            if start is not None and start[1] is not t.grad:
                raise _grad_refusal(t, "before it was used")
        return ("ext", e)

    def _value_ref(self, value):
        if isinstance(value, np.ndarray):
            j = self.arg_of.get(id(value))
            if j is not None:
                return ("arg", j)
            c = self.const_of.get(id(value))
            if c is None:
                c = self.const_of[id(value)] = len(self.consts)
                self.consts.append(value)
            return ("const", c)
        if isinstance(value, Tensor):
            return self._tensor_ref(value)
        return ("py", value)

    def _param_ref(self, value):
        if isinstance(value, (tuple, list)):
            return ("seq", type(value), tuple(self._param_ref(v) for v in value))
        return self._value_ref(value)

    # ---------------------------------------------------------------- the backward (engine observer)
    def step(self, t, g):
        if threading.get_ident() != self.thread:
            return
        slot = self._slot(t)
        if slot is None:
            self.taint = "backward through a graph recorded outside the compiled function"
            return
        if slot in self.pending:
            self.pending.discard(slot)
        else:  # the root of a new walk
            self._end_walk()
            scope = current_scope()
            if not grad_enabled() or (scope and getattr(scope[-1], "derivative", False)):
                self.taint = "autograd.grad() (or backward under no_grad()); compile replays loss.backward() only"
            elif _state.anomaly:
                self.taint = "detect_anomaly() is on"
            elif g.shape != t.shape or g.dtype != t.data.dtype or not np.all(g == 1):
                self.taint = "backward(gradient=...) with a gradient other than ones"
            self.walk = Walk(slot)
            self.walks.append(self.walk)
        if t._retain:
            self.taint = "retain_grad() on an intermediate tensor"
        self.walk.events.append(("step", slot))

    def send(self, t, k, a, ga):
        if threading.get_ident() != self.thread or self.walk is None:
            return
        slot, walk = self._slot(t), self.walk
        target = self._tensor_ref(a)
        walk.events.append(("send", slot, k, target))
        if target[0] == "v":
            self.pending.add(target[1])
            return
        if target not in walk.leaf_sums:
            walk.leaves.append(target)
            # the gradient itself and its fingerprint, not a copy (a copy of a weight's gradient raised
            # the recording's peak memory above eager mode's); checked unchanged when used
            walk.leaf_sums[target] = _Sent(ga)
            old = a.grad
            if target[0] == "ext":
                first_seen = self.ext_seen[target[1]][2]
                if old is not first_seen and self.taint is None:
                    raise _grad_refusal(a, "between its use and backward()")
            walk.leaf_before[target] = (a, None if old is None else np.array(old, copy=True))
        else:
            sent = walk.leaf_sums[target]
            walk.leaf_sums[target] = (sent.array if type(sent) is _Sent else sent) + ga

    def _end_walk(self):
        """Check that each leaf's .grad is what the walk gave it: nothing outside autograd changed it since."""
        walk, self.walk = self.walk, None
        self.pending = set()
        if walk is None or self.taint is not None:  # (a tainted call is not replayed: nothing to check)
            return
        for ref in walk.leaves:
            leaf, old = walk.leaf_before[ref]
            expected = _sent_value(walk.leaf_sums[ref], leaf)
            if old is not None:
                expected = np.add(old, expected, dtype=leaf.data.dtype, casting="same_kind")
            got = leaf.grad
            if got is None or got.shape != expected.shape or not np.array_equal(got, expected, equal_nan=True):
                raise _grad_refusal(leaf, "after backward()")
            if ref[0] == "ext":  # later walks compare against the gradient this one left
                data, print_, _ = self.ext_seen[ref[1]]
                self.ext_seen[ref[1]] = (data, print_, got)

    # ---------------------------------------------------------------- Python decisions and outputs
    def value_used(self, t):
        """``item()`` / ``bool()`` on tensor ``t`` while recording."""
        # any tensor: `t > 0` makes a new one, and a parameter's value changes between calls
        if threading.get_ident() == self.thread and self.taint is None:
            self.taint = (f"a Python decision on a tensor's value (bool(), float(), int(), .item() or `if t > 0` "
                          f"on a tensor of shape {t.shape})")

    def _output_ref(self, value):
        if isinstance(value, (tuple, list)):
            return ("seq", type(value), tuple(self._output_ref(v) for v in value))
        if isinstance(value, dict):
            return ("dict", tuple(value), tuple(self._output_ref(v) for v in value.values()))
        if isinstance(value, Tensor):
            return self._tensor_ref(value)
        if isinstance(value, np.ndarray):
            return self._value_ref(value)
        return ("py", value)


class _Sent:
    """A gradient sent to a leaf, kept with its fingerprint (its values when sent)."""

    __slots__ = ("array", "print")

    def __init__(self, array):
        self.array, self.print = array, fingerprint(np.asarray(array))


def _sent_value(sent, leaf):
    """The values sent (``_Sent``, checked unchanged since: else changed outside autograd), or a sum of them."""
    if type(sent) is not _Sent:
        return sent
    if fingerprint(np.asarray(sent.array)) != sent.print:
        raise _grad_refusal(leaf, "after backward()")
    return sent.array


def fingerprint(array) -> tuple:
    """(shape, dtype, a hash of the bytes): equal for arrays that are equal bit for bit."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return array.shape, array.dtype.str, hashlib.sha1(flat.data).digest()  # (sha1: about twice blake2b's speed)


def _mentions_arg(ref):
    if ref[0] == "seq":
        return any(_mentions_arg(r) for r in ref[2])
    return ref[0] == "arg"


def _grad_refusal(t, when):
    return Refusal(
        f"compile: the function changed .grad of a tensor (shape {t.shape}{', ' + repr(t.name) if t.name else ''}) "
        f"{when} outside autograd (zero_grad(), gradient clipping, an optimizer step?); a replay would not repeat "
        "it. Do that outside the compiled function: optimizer.zero_grad(); compiled(...); optimizer.step()"
    )

