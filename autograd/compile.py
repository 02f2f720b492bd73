"""``compile(fn)``: record a step (forward, ``loss.backward()``) once, then replay it as flat NumPy code.

>>> step = compile(lambda x, y: train_loss(model, x, y).backward())   # doctest: +SKIP

The compiled function has ``fn``'s results and side effects (``.grad`` of the leaves accumulates as
in eager mode).  Per input signature (each input's kind, shape and dtype, which tensors require
grad, and the grad mode), the first two calls run ``fn`` eagerly while recording it
(``compile_trace``); the second confirms that nothing outside autograd changed between them, and
the calls after that replay the recorded schedule (``compile_plan``): each primitive's forward on
arrays, then each backward walk in the engine's order, with no Tensor or graph objects.

When a replay would not be what eager mode does, the function runs eagerly instead, with one
warning (a Python decision on a value: ``bool(t)``, ``float(t)``, ``.item()``, ``if t > 0``; an array
computed from the inputs with NumPy outside autograd; ``autograd.grad`` / ``create_graph``;
``retain_grad()``; anomaly mode), or refuses with an error (an optimizer step, ``zero_grad()`` or
gradient clipping inside the function: pass the optimizer, ``compile(fn, optimizer=opt)``, or do
them outside it).  Parameters are read at each replay,
so in-place updates between calls (optimizer steps, ``load_state_dict``) are seen.  Python state
the function reads (``model.training``, a learning rate in an attribute) is fixed at recording:
call ``.reset()`` after changing it.
"""
from __future__ import annotations

import builtins
import collections
import functools
import warnings
from collections.abc import Callable

import numpy as np

from autograd.compile_plan import Stale, generate
from autograd.compile_resolve import NotReplayable, resolve
from autograd.compile_trace import RANDOM_PRIMITIVES, Recorder, Refusal
from autograd.compile_trace import primitive as _primitive
from autograd.grad_mode import _state, grad_enabled
from autograd.primitive import primitive
from autograd.tensor import Tensor

__all__ = ["compile", "CompiledFunction", "random_primitive", "Refusal"]


def random_primitive(forward: Callable, *, name: str | None = None, doc: str | None = None):
    """A primitive with no differentiable inputs whose ``forward(**params)`` draws random numbers.

    Its output is never baked into a compiled step: every replay runs ``forward`` again, drawing
    from the generator eager mode would use (pass the generator, or None for a default resolved
    inside ``forward``, as a parameter).  Used by ``nn.Dropout`` for its mask.
    """
    fn = primitive(forward, vjp=None, name=name, reads=(), doc=doc)
    RANDOM_PRIMITIVES.add(fn.primitive)
    return fn


class _Entry:
    __slots__ = ("first", "replay", "source", "eager", "objects", "plan", "hits", "busy")

    def __init__(self):
        self.first = self.replay = self.source = self.plan = self.hits = None
        self.busy = False
        self.eager = None  # the reason this signature runs eagerly, or None


class CompiledFunction:
    """``fn`` compiled (see the module docstring); ``cache_size``: input signatures kept (least recent
    dropped); ``buffers`` and ``optimizer``: see ``compile``."""

    def __init__(self, fn: Callable, cache_size: int = 8, buffers: bool = False, optimizer=None):
        if not callable(fn):
            raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"compile: cache_size must be a positive int, got {cache_size!r}")
        if optimizer is not None and not (callable(getattr(optimizer, "zero_grad", None))
                                          and callable(getattr(optimizer, "step", None))):
            raise TypeError(f"compile: optimizer must have zero_grad() and step(), got {type(optimizer).__name__}")
        self.fn, self.cache_size, self.buffers, self.optimizer = fn, cache_size, bool(buffers), optimizer
        self._cache = collections.OrderedDict()
        self._last = None  # (key, entry) of the last call's signature
        self._warned = False
        self.stats = {"recordings": 0, "replays": 0, "eager": 0}
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if _primitive._tracer is not None or _state.observer is not None or _state.anomaly:
            # inside another compiled function's recording (be part of it), a watched backward
            # (backward_trace) or anomaly mode: what they look at happens only in eager mode
            return self._eager(args, kwargs)
        key = _quick_key(args) if not kwargs else None
        if key is not None:  # the common case: Tensors and arrays only
            flat, objects = args, ()
        else:
            flat, key, objects = [], [], []
            _flatten((args, kwargs), flat, key, objects)
            key = (grad_enabled(), tuple(key), _aliasing(flat))
        last = self._last
        if last is not None and last[0] == key:  # the signature of the last call: already the most recent
            entry = last[1]
        else:
            entry = self._cache.get(key)
            if entry is None:
                entry = self._cache[key] = _Entry()
                entry.objects = objects  # keeps the objects whose ids are in the key alive
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            self._last = (key, entry)
        replay = entry.replay
        if replay is not None and not entry.busy:  # (busy: called again from another thread meanwhile)
            entry.busy = True
            try:
                result = replay(flat)
            except Stale:  # a parameter changed shape, dtype or requires_grad: record afresh
                entry.replay = entry.source = entry.plan = None
            else:
                self.stats["replays"] += 1
                if entry.plan is not None:  # the first replay checked every gradient: now fit only those it had to
                    entry.source, names = generate(entry.plan, flat, entry.hits, self.buffers, self.optimizer)
                    exec(_code(entry.source), names)
                    entry.replay, entry.plan = names["replay"], None
                return result
            finally:
                entry.busy = False
        if entry.eager is not None or entry.busy:
            self.stats["eager"] += 1
            return self._eager(args, kwargs)
        return self._record(entry, flat, args, kwargs)

    def _eager(self, args, kwargs):
        if self.optimizer is None:
            return self.fn(*args, **kwargs)
        self.optimizer.zero_grad()
        result = self.fn(*args, **kwargs)
        self.optimizer.step()
        return result

    def _record(self, entry, flat, args, kwargs):
        if self.optimizer is not None:
            self.optimizer.zero_grad()
        known = entry.first.externals if entry.first is not None else ()
        recorder = Recorder(flat, known)
        with recorder:
            result = self.fn(*args, **kwargs)
            recorder.finish(result)
        self.stats["recordings"] += 1
        if self.optimizer is not None:
            self.optimizer.step()
        if recorder.taint is not None:
            self._fall_back(entry, recorder.taint)
        elif entry.first is None:
            entry.first = recorder
            recorder.release_temporaries()
        else:
            try:
                entry.plan = resolve(entry.first, recorder)
            except NotReplayable as exc:
                self._fall_back(entry, str(exc))
                return result
            entry.source, names = generate(entry.plan, flat, buffers=self.buffers, optimizer=self.optimizer)
            exec(_code(entry.source), names)  # the code generated from the two recordings
            entry.replay, entry.hits, entry.first = names["replay"], names["_hits"], None
        return result

    def _fall_back(self, entry, reason):
        entry.eager, entry.first = reason, None
        if not self._warned:
            self._warned = True
            warnings.warn(f"compile: {getattr(self.fn, '__qualname__', 'the function')} runs eagerly (not "
                          f"replayed) because of {reason}", RuntimeWarning, stacklevel=4)

    @property
    def sources(self) -> list[str]:
        """The generated replay code of each cached signature that replays (for reading)."""
        return [e.source for e in self._cache.values() if e.source is not None]

    def cache_info(self) -> dict:
        """Signatures cached, replaying and eager, the cache size, and the call counts (recordings, replays, eager)."""
        entries = list(self._cache.values())
        return {"signatures": len(entries), "replaying": sum(e.replay is not None for e in entries),
                "eager_signatures": sum(e.eager is not None for e in entries), "cache_size": self.cache_size, **self.stats}

    def reset(self):
        """Forget every recording (after changing Python state the function reads, e.g. ``model.eval()``)."""
        self._cache.clear()
        self._last = None
        self._warned = False


def compile(fn: Callable | None = None, *, cache_size: int = 8, buffers: bool = False, optimizer=None):
    """Compile ``fn`` (usable as ``@compile`` or ``@compile(cache_size=4)``); see the module docstring.

    ``buffers=True``: the replays' NumPy ufuncs write into buffers allocated once and reused from call
    to call (``out=``), which saves allocations but keeps the buffers between calls (more memory).
    ``optimizer``: each call is ``optimizer.zero_grad(); fn(...); optimizer.step()``, the update
    replayed with the rest (``compile_optim``); the parameters' ``.grad`` hold this call's gradients after it.
    """
    if fn is None:
        return lambda f: CompiledFunction(f, cache_size, buffers, optimizer)
    return CompiledFunction(fn, cache_size, buffers, optimizer)


@functools.lru_cache(maxsize=32)
def _code(source: str):
    """The compiled code of a replay's source: the same step compiled again (``nn.fit`` compiles its step at
    each call) generates the same source, its names bound to other values."""
    return builtins.compile(source, "<string>", "exec")


def _quick_key(args):
    """The signature of positional ``args`` that are all Tensors or ndarrays (as ``_flatten`` would
    tell them apart), or None for any other."""
    key = [grad_enabled()]
    seen = set()
    for a in args:
        if id(a) in seen:  # the same object twice: the general path keys the aliasing
            return None
        seen.add(id(a))
        kind = type(a)
        if kind is Tensor:
            data = a._data
            key.append((data.shape, data.dtype, a.requires_grad))
        elif kind is np.ndarray:
            key.append((a.shape, a.dtype))
        else:
            return None
    return tuple(key)


def _aliasing(flat):
    """None when the inputs are distinct objects, else each one's first position: a step recorded with
    ``f(x, x)`` reads one array for both, so ``f(x, y)`` must be recorded on its own."""
    ids = [id(a) for a in flat]
    if len(set(ids)) == len(ids):
        return None
    return tuple(ids.index(i) for i in ids)


def _flatten(value, flat, key, objects):
    """Collect the Tensors and arrays of ``value`` (nested tuples, lists, dicts) into ``flat`` and its signature into ``key``."""
    if isinstance(value, Tensor):
        flat.append(value)
        key.append(("T", value.data.shape, value.data.dtype.str, value.requires_grad))
    elif isinstance(value, np.ndarray):
        flat.append(value)
        key.append(("A", value.shape, value.dtype.str))
    elif isinstance(value, (tuple, list)):
        key.append((type(value), len(value)))
        for v in value:
            _flatten(v, flat, key, objects)
    elif isinstance(value, dict):
        key.append(("dict", tuple(value)))
        for v in value.values():
            _flatten(v, flat, key, objects)
    elif isinstance(value, (int, float, str, bool, type(None), np.generic)):
        key.append((type(value), value))
    else:  # any other object (a model, a loss function): by identity
        key.append(("obj", id(value)))
        objects.append(value)
