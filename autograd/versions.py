"""Version tracking: one clock orders recordings and in-place changes, so backward can refuse stale values.

Every recorded tensor gets a stamp from the clock (reverse stamp order is a topological order of
the graph) and every in-place change of a tensor's data gets one too (its ``_version``).  A rule
that reads a value saved at stamp ``s`` must not run once that value changed after ``s``: directly,
or through another tensor whose data is a view of the same memory (a reshape, ``.T``, a slice,
``detach()``), which ``changed`` tracks by the base array.
"""
import itertools
import typing
import weakref

import numpy as np


class _Clock:
    """Process-wide: the clock, the newest in-place stamp (0: nothing ever changed in place), and the
    changed base arrays: id(array) -> [weak reference to it, stamp of its last in-place change]."""

    next = itertools.count(1).__next__
    last_inplace = 0
    changed: typing.ClassVar[dict] = {}


next_stamp = _Clock.next


def mark_changed(t):
    """Stamp an in-place change of tensor ``t``'s data (an array it owns)."""
    data = t._data
    t._version = _Clock.last_inplace = stamp = next_stamp()
    key = id(data)
    entry = _Clock.changed.get(key)
    if entry is None or entry[0]() is not data:
        ref = weakref.ref(data, lambda _, key=key, changed=_Clock.changed: changed.pop(key, None))  # (safe at exit)
        entry = _Clock.changed[key] = [ref, 0]
    entry[1] = stamp


def changed_since(a, stamp) -> bool:
    """True when tensor ``a`` was changed in place after ``stamp``, directly or through the array its data views."""
    if a._version > stamp:
        return True
    array = a._data
    while isinstance(array.base, np.ndarray):
        array = array.base
    entry = _Clock.changed.get(id(array))
    return entry is not None and entry[1] > stamp and entry[0]() is array


def last_change() -> int:
    """The stamp of the newest in-place change (0: none): values recorded after it need no check."""
    return _Clock.last_inplace


def check_unchanged(t):
    """Raise if a value that ``t``'s rule reads was changed in place after ``t`` was recorded."""
    prim, stamp = t._prim, t._stamp
    if prim.reads_out and changed_since(t, stamp):
        raise RuntimeError(
            f"the output of {prim.name} (shape {t.shape}) was changed in place after it was saved for backward; "
            "its gradient would be wrong. Change a copy instead, or recompute it"
        )
    if prim.reads_inputs:
        for k, a in enumerate(t._inputs):
            if hasattr(a, "_version") and changed_since(a, stamp):
                name = f" {a.name!r}" if a.name else ""
                raise RuntimeError(
                    f"input {k}{name} of {prim.name} (shape {a.shape}) was changed in place after it was saved "
                    "for backward (directly, or through a tensor sharing its memory: one it is a reshape, .T, slice "
                    "or detach() of); its gradient would be wrong. Change it only after backward(), or on a copy"
                )
