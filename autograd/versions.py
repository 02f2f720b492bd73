"""Version tracking: one clock orders recordings and in-place changes, so backward can refuse stale values.

Every recorded tensor gets a stamp from the clock (reverse stamp order is a topological order of
the graph) and every in-place change of a tensor's data gets one too, kept for the array that owns
the memory (the base of a view).  A rule that reads a value saved at stamp ``s`` must not run once
that value changed after ``s``: directly, or through any tensor whose data shares that memory (a
reshape, ``.T``, a slice, ``detach()``).
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


def _owner(array):
    """The array that owns ``array``'s memory (``array`` itself unless it is a view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _stamp_owner(t, stamp, changed=_Clock.changed):
    """Keep ``stamp`` as the last in-place change of the array that owns ``t``'s data."""
    owner = t._data
    if owner.base is not None:
        owner = _owner(owner)
    key = id(owner)
    entry = changed.get(key)
    if entry is not None and entry[0]() is owner:
        entry[1] = stamp
    else:
        changed[key] = [weakref.ref(owner, lambda _, key=key: changed.pop(key, None)), stamp]  # (safe at exit)


def mark_changed(t):
    """Stamp an in-place change of tensor ``t``'s data (through whichever view it was written)."""
    _Clock.last_inplace = stamp = next_stamp()
    _stamp_owner(t, stamp)


def mark_changed_many(tensors):
    """Stamp in-place changes of several tensors' data made together (an optimizer step): one stamp
    for all, which is what separate stamps say when nothing is recorded between the changes."""
    _Clock.last_inplace = stamp = next_stamp()
    for t in tensors:
        _stamp_owner(t, stamp)


def changed_since(a, stamp) -> bool:
    """True when tensor ``a``'s data was changed in place after ``stamp``, through any view of its memory."""
    owner = _owner(a._data)
    entry = _Clock.changed.get(id(owner))
    return entry is not None and entry[1] > stamp and entry[0]() is owner


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
            if hasattr(a, "_prim") and changed_since(a, stamp):  # (a Tensor; constants were copied)
                name = f" {a.name!r}" if a.name else ""
                raise RuntimeError(
                    f"input {k}{name} of {prim.name} (shape {a.shape}) was changed in place after it was saved "
                    "for backward (directly, or through a tensor sharing its memory: one it is a reshape, .T, slice "
                    "or detach() of); its gradient would be wrong. Change it only after backward(), or on a copy"
                )
