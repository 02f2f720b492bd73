"""This checkout's engine against an earlier revision's, in one process: did a change cost speed?

``python bench/against_revision.py [REV] [--chain]`` (REV defaults to 4b22acb, the engine before
the primitive rewrite).  REV's ``autograd`` package is exported with ``git archive`` into a
temporary folder; both packages are imported side by side (their modules swapped in
``sys.modules`` between turns) and timed in interleaved rounds on the same computations:

- the per-op chain of ``overhead.py`` (``x = tanh((x + b) * 0.5)``, 300 ops) on shape (1,) and
  0-d, forward + backward, in microseconds per op;
- the 4-3-1 sigmoid network's SGD step of ``tiny_net.py``;
- the graph's memory per op (tracemalloc, a 30,000-op chain alive).

``--chain`` adds the 1,000,000-op chain of ``long_chain.py`` (time and peak RSS per op), each
revision in fresh processes, alternating.  Ratios below 1 mean this checkout is faster/smaller.
"""
import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

import harness  # (first: pins threads before NumPy loads)
import numpy as np

DEFAULT_REV = "4b22acb"
STEPS = 100  # rounds of three ops


def export_revision(rev, into):
    """Write REV's ``autograd`` package under ``into``; return ``into``."""
    archive = subprocess.run(["git", "-C", harness.ROOT, "archive", rev, "autograd"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    return into


def import_autograd(root):
    """Import the ``autograd`` package found under ``root``; return it and its modules."""
    for name in [m for m in sys.modules if m == "autograd" or m.startswith("autograd.")]:
        del sys.modules[name]
    sys.path.insert(0, root)
    try:
        package = importlib.import_module("autograd")
    finally:
        sys.path.remove(root)
    return package, {m: mod for m, mod in sys.modules.items() if m == "autograd" or m.startswith("autograd.")}


def workloads(ag):
    """{name: (callable, units per call)} on package ``ag``."""
    Tensor = ag.Tensor

    def chain(x0, b0):
        x = Tensor(x0, requires_grad=True)
        b = Tensor(b0, requires_grad=True)
        h = x
        for _ in range(STEPS):
            h = ((h + b) * 0.5).tanh()
        h.sum().backward()

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 4)), rng.standard_normal((3, 1))
    params = [Tensor(rng.standard_normal((4, 3)), requires_grad=True), Tensor(np.zeros(3), requires_grad=True),
              Tensor(rng.standard_normal((3, 1)), requires_grad=True), Tensor(np.zeros(1), requires_grad=True)]

    def tiny_step():
        wh, bh, wo, bo = params
        hidden = (Tensor(X) @ wh + bh).sigmoid()
        out = (hidden @ wo + bo).sigmoid()
        loss = ((out - Y) ** 2).sum() * 0.5
        loss.backward()
        for p in params:
            p.data -= 0.0 * p.grad  # (a zero step: every round times the same values)
            p.grad = None

    shaped, scalar = (np.array([0.3]), np.array([0.1])), (np.array(0.3), np.array(0.1))
    return {"per-op chain (1,), us/op": (lambda: chain(*shaped), 3 * STEPS),
            "per-op chain 0-d, us/op": (lambda: chain(*scalar), 3 * STEPS),
            "4-3-1 SGD step, us": (tiny_step, 1)}


def graph_bytes_per_op(ag, ops=30_000):
    x = ag.Tensor(np.array([0.3]), requires_grad=True)
    b = ag.Tensor(np.array([0.1]), requires_grad=True)
    tracemalloc.start()
    h, base = x, tracemalloc.get_traced_memory()[0]
    for i in range(ops):
        h = h + b if i % 3 == 0 else h * 0.5 if i % 3 == 1 else h.tanh()
    size = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return size / ops


_CHAIN_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from autograd import Tensor
def rss(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))
x = Tensor(np.array([0.3]), requires_grad=True); b = Tensor(np.array([0.1]), requires_grad=True)
base = rss("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
t0 = time.perf_counter(); h = x
for i in range(1_000_000):
    h = h + b if i % 3 == 0 else h * 0.5 if i % 3 == 1 else h.tanh()
h.sum().backward()
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "bytes_per_op": (rss("VmHWM") - base) / 1e6}))
"""


def long_chain(roots, repeats=5):
    runs = {root: [] for root in roots}
    for r in range(repeats):
        for root in roots[r % 2:] + roots[:r % 2]:
            out = subprocess.run([sys.executable, "-c", _CHAIN_CHILD, root], capture_output=True, text=True, check=True)
            runs[root].append(json.loads(out.stdout))
    return {root: {**{k: statistics.median(run[k] for run in rs) for k in rs[0]},
                   "fastest": min(run["seconds"] for run in rs)} for root, rs in runs.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", default=DEFAULT_REV)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--chain", action="store_true", help="add the 1,000,000-op chain (fresh processes)")
    args = parser.parse_args()
    print(harness.describe_machine())
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"this checkout": harness.ROOT, args.rev: export_revision(args.rev, tmp)}
        loaded = {name: import_autograd(root) for name, root in roots.items()}
        work = {name: workloads(ag) for name, (ag, _) in loaded.items()}
        samples = {name: {w: [] for w in work[name]} for name in roots}
        names = list(roots)
        for r in range(args.rounds):
            for name in names[r % 2:] + names[:r % 2]:
                sys.modules.update(loaded[name][1])
                for w, (fn, units) in work[name].items():
                    calls = 20 if units > 1 else 200
                    start = time.perf_counter()
                    for _ in range(calls):
                        fn()
                    samples[name][w].append((time.perf_counter() - start) / calls / units * 1e6)
        print(f"this checkout against {args.rev}, {args.rounds} interleaved rounds: medians, and the ratio of the "
              "fastest rounds (the least disturbed by a noisy machine)")
        print(f"  {'workload':<28} {'this':>10} {args.rev:>10} {'ratio':>7} {'min ratio':>10}")
        ours, theirs = names
        for w in work[ours]:
            a, b = statistics.median(samples[ours][w]), statistics.median(samples[theirs][w])
            fastest = min(samples[ours][w]) / min(samples[theirs][w])
            print(f"  {w:<28} {a:>10.2f} {b:>10.2f} {a / b:>7.3f} {fastest:>10.3f}")
        sizes = {name: [] for name in names}
        for name in names + names[::-1]:  # (twice each, in both orders: the smaller is the graph's own)
            sys.modules.update(loaded[name][1])
            sizes[name].append(graph_bytes_per_op(loaded[name][0]))
        sizes = {name: min(s) for name, s in sizes.items()}
        print(f"  {'graph bytes/op (tracemalloc)':<28} {sizes[ours]:>10.0f} {sizes[theirs]:>10.0f} "
              f"{sizes[ours] / sizes[theirs]:>7.3f}")
        if args.chain:
            med = long_chain(list(roots.values()))
            a, b = med[roots[ours]], med[roots[theirs]]
            print(f"  {'1M-op chain, s':<28} {a['seconds']:>10.2f} {b['seconds']:>10.2f} {a['seconds'] / b['seconds']:>7.3f} "
                  f"{a['fastest'] / b['fastest']:>10.3f}")
            print(f"  {'1M-op chain, peak RSS B/op':<28} {a['bytes_per_op']:>10.0f} {b['bytes_per_op']:>10.0f} "
                  f"{a['bytes_per_op'] / b['bytes_per_op']:>7.3f}")


if __name__ == "__main__":
    main()
