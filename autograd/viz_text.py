"""Text for graph images: node kinds, DOT-safe labels and short summaries of numbers."""
import graphviz
import numpy as np

PARAM, CONST, OUTPUT, TENSOR, OP, SCOPE = "param", "const", "output", "tensor", "op", "scope"


def _text(lines):
    """A DOT label from plain lines: backslashes kept literal, never read as an HTML label."""
    return graphviz.nohtml("\\n".join(line.replace("\\", "\\\\") for line in lines))


def _num(v, digits=3):
    v = v.item() if isinstance(v, (np.generic, np.ndarray)) else v
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def _nonfinite(a):
    """True when float array ``a`` holds a NaN or an Inf (one cheap sum first, then an exact check)."""
    if a.dtype.kind not in "fc" or a.size == 0:
        return False
    with np.errstate(all="ignore"):
        if np.isfinite(np.add.reduce(a, axis=None)):
            return False
    return not np.isfinite(a).all()


def _summary(a):
    """A short text for the numbers in ``a``: the value of a scalar, else mean and min..max (+ NaN/Inf counts)."""
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    if a.size == 1:
        return _num(a.reshape(()), 4)
    bad = ""
    if _nonfinite(a):
        counts = [(int(np.isnan(a).sum()), "NaN"), (int((a == np.inf).sum()), "+Inf"), (int((a == -np.inf).sum()), "-Inf")]
        bad = ", ".join(f"{n} {what}" for n, what in counts if n)
        a = a[np.isfinite(a)]
        if a.size == 0:
            return bad
    low, high = a.min(), a.max()
    if low == high:
        text = f"all {_num(low)}"
    else:
        text = f"mean {_num(a.mean(dtype=np.float64))}, {_num(low)}..{_num(high)}"
    return f"{text}; {bad}" if bad else text


def _shape_text(a):
    return f"{'scalar' if a.ndim == 0 else a.shape} {a.dtype.name}"
