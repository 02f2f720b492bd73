"""A 1,000,000-op chain, forward + backward: wall time and memory per op.

The chain is the one of ``overhead.py`` (``x = tanh((x + b) * 0.5)``, three ops a round) on a
shape-(1,) float64 value, long enough that recursion, reference cycles or the cyclic garbage
collector would show.  Targets: forward + backward under 5 s, peak memory under 600 bytes/op.

Memory method: each contestant runs in a fresh subprocess.  After the inputs exist and a full
``gc.collect()``, the child reads its resident set size (VmRSS) as the baseline and resets the
kernel's peak-RSS mark (``/proc/self/clear_refs``; where that is refused, ``ru_maxrss`` serves, as
the graph dwarfs the import-time peak).  "graph B/op" is VmRSS after the forward pass (the whole
graph alive) minus the baseline; "peak B/op" is the peak RSS over forward + backward minus the
baseline, divided by the number of ops.  RSS sees every allocator (Python objects, NumPy
buffers, PyTorch's C++ heap) alike.  The NumPy contestant keeps every intermediate output for
its backward pass, as an engine must: the floor.  ``--tracemalloc`` adds a run of ours under
tracemalloc (Python and NumPy allocations only) as a cross-check.
"""
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import harness  # (first: pins threads before NumPy loads)
import numpy as np

OPS = 1_000_000
TARGET_SECONDS = 5.0
TARGET_BYTES_PER_OP = 600
CONTESTANTS = ("autograd (ours)", "numpy (by hand)", "pytorch")


def _op_ours(i, h, b):
    k = i % 3
    return h + b if k == 0 else h * 0.5 if k == 1 else h.tanh()


def build_ours():
    from autograd import Tensor

    x = Tensor(np.array([0.3]), requires_grad=True)
    b = Tensor(np.array([0.1]), requires_grad=True)

    def forward():
        h = x
        for i in range(OPS):
            h = _op_ours(i, h, b)
        return h

    def backward(h):
        h.sum().backward()
        return x.grad, b.grad

    return forward, backward


def build_numpy():
    x0, b0 = np.array([0.3]), np.array([0.1])

    def forward():
        outs = []
        h = x0
        for i in range(OPS):
            k = i % 3
            h = h + b0 if k == 0 else h * 0.5 if k == 1 else np.tanh(h)
            outs.append(h)
        return outs

    def backward(outs):
        g = np.ones_like(x0)
        gb = np.zeros_like(b0)
        for i in range(OPS - 1, -1, -1):
            k = i % 3
            if k == 0:
                gb = gb + g
            elif k == 1:
                g = g * 0.5
            else:
                out = outs[i]
                g = g * (1 - out * out)
            outs[i] = None  # free each saved output once used, as the engine does
        return g, gb

    return forward, backward


def build_torch():
    torch = harness.load_torch()
    x = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.1], dtype=torch.float64, requires_grad=True)

    def forward():
        h = x
        for i in range(OPS):
            h = _op_ours(i, h, b)
        return h

    def backward(h):
        h.sum().backward()
        return x.grad.numpy(), b.grad.numpy()

    return forward, backward


BUILDERS = {"autograd (ours)": build_ours, "numpy (by hand)": build_numpy, "pytorch": build_torch}


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(name, use_tracemalloc=False):
    """Run one contestant once; print its figures as JSON."""
    forward, backward = BUILDERS[name]()
    gc_seconds = [0.0]
    gc_start = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            gc_start[0] = time.perf_counter()
        else:
            gc_seconds[0] += time.perf_counter() - gc_start[0]

    gc.collect()
    gc.callbacks.append(on_gc)
    if use_tracemalloc:
        import tracemalloc

        tracemalloc.start()
    base = harness.rss_bytes()
    peak_reset = _reset_peak()
    t0 = time.perf_counter()
    out = forward()
    t1 = time.perf_counter()
    graph = harness.rss_bytes() - base
    traced_graph = tracemalloc.get_traced_memory()[0] if use_tracemalloc else None
    grads = backward(out)
    t2 = time.perf_counter()
    del out
    peak = (harness.rss_bytes("VmHWM") if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) - base
    peak = max(peak, graph)  # the kernel refreshes VmHWM lazily; it can lag the last VmRSS reading
    result = {"forward": t1 - t0, "backward": t2 - t1, "total": t2 - t0, "graph_bytes": graph, "peak_bytes": peak,
              "gc_seconds": gc_seconds[0], "grad_b": float(np.asarray(grads[1])[0])}
    if use_tracemalloc:
        result["traced_graph_bytes"] = traced_graph
        result["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    print(json.dumps(result))


def run_child(name, use_tracemalloc=False):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name] + (["--tracemalloc"] if use_tracemalloc else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(repeats=3, use_tracemalloc=False):
    torch = harness.load_torch()
    names = [n for n in CONTESTANTS if n != "pytorch" or torch is not None]
    runs = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(run_child(name))
    med = {n: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for n, rs in runs.items()}
    print(harness.describe_machine(torch))
    print(f"long_chain: {OPS:,}-op chain (add / mul-by-constant / tanh, shape (1,) float64), forward + backward, "
          f"median of {repeats} fresh processes")
    harness.print_table("  time", {n: m["total"] for n, m in med.items()})
    head = f"  {'contestant':<17} {'forward':>8} {'backward':>9} {'gc':>7} {'graph B/op':>11} {'peak B/op':>10}"
    print("  memory (RSS) and split")
    print(head)
    for n, m in med.items():
        print(f"  {n:<17} {m['forward']:>7.2f}s {m['backward']:>8.2f}s {m['gc_seconds']:>6.2f}s "
              f"{m['graph_bytes'] / OPS:>11.0f} {m['peak_bytes'] / OPS:>10.0f}")
    grads = {n: m["grad_b"] for n, m in med.items()}
    if max(grads.values()) - min(grads.values()) > 1e-9 * max(1.0, abs(max(grads.values()))):
        print(f"  WARNING: the contestants disagree on d/db: {grads}")
    if use_tracemalloc:
        t = run_child("autograd (ours)", use_tracemalloc=True)
        print(f"  tracemalloc cross-check, ours: graph {t['traced_graph_bytes'] / OPS:.0f} B/op, "
              f"peak {t['traced_peak_bytes'] / OPS:.0f} B/op (Python + NumPy allocations only)")
    ours = med["autograd (ours)"]
    harness.verdict("ours forward + backward, s", ours["total"], TARGET_SECONDS)
    harness.verdict("ours peak bytes/op", ours["peak_bytes"] / OPS, TARGET_BYTES_PER_OP, fmt="{:.0f}")
    return med


if __name__ == "__main__":
    if "--child" in sys.argv:
        child(sys.argv[sys.argv.index("--child") + 1], use_tracemalloc="--tracemalloc" in sys.argv)
    else:
        main(use_tracemalloc="--tracemalloc" in sys.argv)
