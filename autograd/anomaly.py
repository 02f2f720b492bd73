"""Anomaly mode: where each operation was called, and which backward rule first made a NaN or Inf.

>>> with detect_anomaly():
...     loss = model(x)          # each recorded op remembers the user's line that called it
...     loss.backward()          # a rule turning finite values into NaN/Inf raises, naming that line

Off by default; when off, recording pays one integer test per op and backward nothing.
"""
import contextlib
import linecache
import os
import sys
import threading

import numpy as np

from autograd.grad_mode import _Process, _state
from autograd.tensor import Tensor

# frames inside dagrad's packages are library code: the user's line is the first frame outside them
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY = tuple(os.path.join(_ROOT, package) + os.sep for package in ("autograd", "nn"))
_lock = threading.Lock()


class AnomalyError(RuntimeError):
    """A backward rule produced NaN or Inf from finite values; the message names it and where it was called."""


@contextlib.contextmanager
def detect_anomaly():
    """Record, for each op, the user's source line that called it, and check every backward rule's output.

    A rule whose gradient has NaN or Inf entries while its incoming gradient and saved values are
    finite raises :class:`AnomalyError` naming the primitive, its input shapes and the forward call's
    file, line and code.  Per thread; nests.  Run both the forward and ``backward()`` inside the block.
    """
    outer = _state.anomaly
    if not outer:
        with _lock:
            _Process.anomaly_threads += 1
    _state.anomaly = True
    try:
        yield
    finally:
        _state.anomaly = outer
        if not outer:
            with _lock:
                _Process.anomaly_threads -= 1


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` in this thread."""
    return _state.anomaly


def caller():
    """(filename, line number, code) of the innermost frame outside dagrad's packages, or None."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY):
        frame = frame.f_back
    if frame is None:
        return None
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    return filename, lineno, linecache.getline(filename, lineno).strip()


class _TracedStamp(int):
    """A recording stamp (ordered as the int it is) that also holds where the op was called."""


def traced(stamp: int) -> int:
    """``stamp`` carrying the caller's (filename, line, code): how anomaly mode records an op's source line."""
    stamp = _TracedStamp(stamp)
    stamp.trace = caller()
    return stamp


def trace_of(t):
    """(filename, line number, code) of the call that recorded ``t`` in anomaly mode, or None."""
    return getattr(t._stamp, "trace", None)


def where(t) -> str:
    """Where ``t``'s op was called, as recorded in anomaly mode, or a hint to turn anomaly mode on."""
    trace = trace_of(t)
    if trace is None:
        return "(run the forward inside autograd.detect_anomaly() to see the line that called it)"
    filename, lineno, code = trace
    return f'called at File "{filename}", line {lineno}: {code}'


def _array(value):
    return value._data if isinstance(value, Tensor) else value


def _finite(value) -> bool:
    data = _array(value)
    if not isinstance(data, np.ndarray | np.generic) or data.dtype.kind not in "fc":
        return True
    return bool(np.isfinite(data).all())


def check_rule_output(t, k, g, inputs, ga):
    """Raise when ``t``'s rule sent a non-finite gradient ``ga`` to input ``k`` from finite values."""
    if _finite(ga) or not _finite(g) or not all(_finite(a) for a in inputs):
        return
    bad = "NaN" if np.isnan(_array(ga)).any() else "Inf"
    shapes = ", ".join(str(np.shape(_array(a))) for a in inputs)
    raise AnomalyError(
        f"backward of {t._prim.name} (input shapes {shapes}) returned {bad} in the gradient of input {k} from "
        f"finite values; the op was {where(t)}"
    )
