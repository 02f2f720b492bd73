"""Shared set-up for the benchmarks: one thread everywhere, interleaved timing, a small table.

Import this module before NumPy: it pins every BLAS/OpenMP pool to one thread and drops the
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE overrides, which only take effect if set before NumPy loads.
"""
import contextlib
import os
import sys

for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_var, None)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # run from a checkout without installing

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def rss_bytes(field="VmRSS"):
    """This process's resident set size (or its peak, field="VmHWM"), in bytes, from /proc."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def load_torch():
    """PyTorch pinned to one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):  # already set, or parallel work already started
        torch.set_num_interop_threads(1)
    return torch


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine(torch=None):
    """One line naming the CPU, core count and library versions."""
    parts = [f"{cpu_name()}, {os.cpu_count()} cores", f"Python {platform.python_version()}",
             f"NumPy {np.__version__}"]
    if torch is not None:
        parts.append(f"PyTorch {torch.__version__}")
    parts.append("1 thread")
    return "; ".join(parts)


def interleaved(contestants, repeats, number=1, warmup=1):
    """Median seconds per call of each contestant, timed in rounds that alternate between them.

    ``contestants`` maps a name to a callable.  Each round times ``number`` calls of every
    contestant, in an order that rotates from round to round, so drifts in the machine's speed
    hit all of them alike.  Returns {name: median seconds per call}.
    """
    names = list(contestants)
    for name in names:
        for _ in range(warmup):
            contestants[name]()
    samples = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn = contestants[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(s) for name, s in samples.items()}


def format_seconds(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def print_table(title, medians, numpy_name="numpy (by hand)", torch_name="pytorch", unit=None, note=None):
    """Print contestant, median time, ratio to the NumPy floor and to PyTorch (when timed).

    ``unit``: optional (label, divisor) adding a column such as ("us/op", 300 / 1e6).
    """
    has_torch = torch_name in medians
    head = ["contestant", "median"]
    if unit:
        head.append(unit[0])
    head.append("x numpy")
    if has_torch:
        head.append("x pytorch")
    rows = []
    for name, t in medians.items():
        row = [name, format_seconds(t)]
        if unit:
            row.append(f"{t / unit[1]:.2f}")
        row.append(f"{t / medians[numpy_name]:.2f}")
        if has_torch:
            row.append(f"{t / medians[torch_name]:.2f}")
        rows.append(row)
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print(title)
    print("  " + "  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for row in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    if note:
        print("  " + note)


def verdict(label, value, limit, fmt="{:.2f}"):
    """One line: ``label: value (target <= limit): met / MISSED``."""
    ok = value <= limit
    print(f"  {label}: {fmt.format(value)} (target <= {fmt.format(limit)}): {'met' if ok else 'MISSED'}")
    return ok
