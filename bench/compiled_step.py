"""Compiled steps (``autograd.compile``) against eager mode, hand-written NumPy and PyTorch CPU.

1. the tutorial 4-3-1 sigmoid network, one SGD step (target: compiled <= 1.3x NumPy);
2. the 784-512-10 ReLU MLP, batch 128, float32, log-softmax cross-entropy, one SGD step
   (target: compiled <= 1.0x NumPy);
3. the time to record and generate the MLP step (target < 50 ms), and the cache's bound;
4. ``nn.fit`` epochs on 60,000 MNIST-sized samples with Adam, compiled and eager, against
   ``fit_epoch.py``'s hand NumPy Adam loop (target: compiled <= 1.0x NumPy), and the training
   memory at batch 1024 (peak RSS above the pre-training RSS; target <= 1.0x NumPy), each
   contestant in a fresh process as in ``fit_epoch.py``.

``python bench/compiled_step.py [--quick]`` (``--quick``: fewer repeats, one epoch).
"""
import json
import os
import statistics
import subprocess
import sys
import time

import fit_epoch
import harness  # (first: pins threads before NumPy loads)
import mlp_step
import numpy as np
import tiny_net

import autograd
from autograd import Tensor
from autograd.compile import compile

TARGETS = {"tiny": 1.3, "mlp": 1.0, "record_ms": 50.0, "fit": 1.0, "memory": 1.0}


class TinyCompiled(tiny_net.Ours):
    """tiny_net's step compiled with its SGD update (``compile(..., optimizer=nn.SGD(...))``: zero_grad,
    forward, backward and ``p -= lr * p.grad`` replayed as one)."""

    def __init__(self, weights):
        import nn

        super().__init__(weights)
        self.forward_backward = compile(self._forward_backward, optimizer=nn.SGD(self.params, lr=tiny_net.LR))

    def _forward_backward(self):
        wh, bh, wout, bout = self.params
        hidden = (self.X @ wh + bh).sigmoid()
        output = (hidden @ wout + bout).sigmoid()
        loss = ((output - self.Y) ** 2).sum() * 0.5
        loss.backward()
        return loss

    def step(self):
        return self.forward_backward().item()


class MlpCompiled(mlp_step.Ours):
    """mlp_step's step (integer-index labels) compiled with its SGD update, as ``TinyCompiled``."""

    def __init__(self, X, y, weights):
        import nn

        super().__init__(X, y, weights, "index")
        self.forward_backward = compile(self._forward_backward, optimizer=nn.SGD(self.params, lr=mlp_step.LR))

    def _forward_backward(self, X, y):
        W1, b1, W2, b2 = self.params
        h = (Tensor(X) @ W1 + b1).relu()
        logp = autograd.log_softmax(h @ W2 + b2, axis=1)
        loss = -logp[self.rows, y].mean()
        loss.backward()
        return loss

    def step(self):
        return self.forward_backward(self.X.data, self.y).item()


def bench_tiny(torch, repeats):
    weights = tiny_net.initial_weights()
    models = {"compiled (ours)": TinyCompiled(weights), "eager (ours)": tiny_net.Ours(weights),
              "numpy (by hand)": tiny_net.NumpyByHand(weights)}
    if torch is not None:
        models["pytorch"] = tiny_net.Torch(torch, weights)
    losses = {name: [m.step() for _ in range(5)] for name, m in models.items()}
    for name, got in losses.items():
        np.testing.assert_allclose(got, losses["numpy (by hand)"], rtol=1e-12, err_msg=name)
    medians = harness.interleaved({n: m.step for n, m in models.items()}, repeats=repeats, number=200)
    harness.print_table("4-3-1 sigmoid network, 3 samples, squared error, SGD, float64; time per step", medians)
    return medians["compiled (ours)"] / medians["numpy (by hand)"]


def bench_mlp(torch, repeats):
    X, y, weights = mlp_step.make_data()
    models = {"compiled (ours)": MlpCompiled(X, y, weights), "eager (ours)": mlp_step.Ours(X, y, weights, "index"),
              "numpy (by hand)": mlp_step.NumpyByHand(X, y, weights)}
    if torch is not None:
        models["pytorch"] = mlp_step.Torch(torch, X, y, weights)
    mlp_step.check_same_trajectory(models)
    medians = harness.interleaved({n: m.step for n, m in models.items()}, repeats=repeats, number=10)
    harness.print_table("784-512-10 ReLU MLP, batch 128, float32, log-softmax cross-entropy, SGD; time per step",
                        medians)
    return medians["compiled (ours)"] / medians["numpy (by hand)"]


def bench_recording():
    """Milliseconds of the two recording calls (eager calls that also record) and of the first replay."""
    X, y, weights = mlp_step.make_data()
    model = MlpCompiled(X, y, weights)
    times = []
    for _ in range(4):
        start = time.perf_counter()
        model.forward_backward(X, y)
        times.append((time.perf_counter() - start) * 1e3)
    eager = mlp_step.Ours(X, y, weights, "index")
    start = time.perf_counter()
    eager.step()
    eager_ms = (time.perf_counter() - start) * 1e3
    print(f"recording the MLP step: call 1 {times[0]:.1f} ms, call 2 (and generating the replay) {times[1]:.1f} ms; "
          f"first replay {times[2]:.1f} ms, then {times[3]:.1f} ms; an eager step {eager_ms:.1f} ms")
    bounded = compile(lambda x: (Tensor(x) * 2.0).sum(), cache_size=8)
    for n in range(1, 41):
        for _ in range(3):
            bounded(np.ones((n, 3)))
    info = bounded.cache_info()
    print(f"cache: 40 input shapes x 3 calls -> {info['signatures']} signatures kept (cache_size 8)")
    return max(times[0], times[1]), info["signatures"] <= 8


# ---------------------------------------------------------------- nn.fit epochs, in fresh processes
def setup_fit(compiled):
    def setup(X, y, weights):
        import nn

        model = nn.Sequential(nn.Dense(fit_epoch.D, fit_epoch.H, activation="relu"), nn.Dense(fit_epoch.H, fit_epoch.C))
        model.load_state_dict(dict(zip(["0.weight", "0.bias", "1.weight", "1.bias"], weights)))
        optimizer = nn.Adam(model.parameters(), lr=fit_epoch.LR, betas=fit_epoch.BETAS, eps=fit_epoch.EPS)
        rng = np.random.default_rng(fit_epoch.SEED + 1)

        def epoch():
            history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=1,
                             batch_size=fit_epoch.BATCH, progress=False, rng=rng, compile=compiled)
            return history["loss"][0]
        return epoch
    return setup


fit_epoch.SETUPS.update({"nn.fit compiled": setup_fit(True), "nn.fit eager": setup_fit(False)})
FIT_CONTESTANTS = ("nn.fit compiled", "nn.fit eager", "numpy (by hand)")


def run_child(name, epochs, batch):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, str(epochs), str(batch)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_fit(repeats, epochs, batch):
    runs = {n: [] for n in FIT_CONTESTANTS}
    for r in range(repeats):
        for name in FIT_CONTESTANTS[r % 3:] + FIT_CONTESTANTS[:r % 3]:
            runs[name].append(run_child(name, epochs, batch))
    times = {n: statistics.median(t for run in rs for t in run["times"]) for n, rs in runs.items()}
    peaks = {n: statistics.median(run["peaks"][-1] for run in rs) for n, rs in runs.items()}
    harness.print_table(f"nn.fit epoch, 784-512-10 MLP, 60,000 samples, batch {batch}, float32, Adam "
                        f"({epochs} epochs x {repeats} processes)", times)
    print("  training memory (peak RSS above the pre-training RSS), MB: " +
          ", ".join(f"{n} {p / 2**20:.1f}" for n, p in peaks.items()))
    print("  first-process losses: " + "; ".join(
        f"{n}: " + ", ".join(f"{v:.5f}" for v in rs[0]["losses"]) for n, rs in runs.items()))
    return times["nn.fit compiled"] / times["numpy (by hand)"], peaks["nn.fit compiled"] / peaks["numpy (by hand)"]


def main(quick=False):
    torch = harness.load_torch()
    print(harness.describe_machine(torch))
    repeats = 7 if quick else 21
    ratios = {"tiny": bench_tiny(torch, repeats), "mlp": bench_mlp(torch, repeats)}
    ratios["record_ms"], bounded = bench_recording()
    ratios["fit"], _ = bench_fit(1 if quick else 3, 1 if quick else 2, 128)
    _, ratios["memory"] = bench_fit(1 if quick else 2, 1, 1024)
    harness.verdict("4-3-1 step, compiled / numpy", ratios["tiny"], TARGETS["tiny"])
    harness.verdict("MLP step, compiled / numpy", ratios["mlp"], TARGETS["mlp"])
    harness.verdict("recording the MLP step, ms per recording call", ratios["record_ms"], TARGETS["record_ms"], "{:.1f}")
    print(f"  cache bounded: {'met' if bounded else 'MISSED'}")
    harness.verdict("nn.fit epoch, compiled / numpy", ratios["fit"], TARGETS["fit"])
    harness.verdict("training memory at batch 1024, compiled / numpy", ratios["memory"], TARGETS["memory"])


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        fit_epoch.BATCH = int(sys.argv[i + 3])
        fit_epoch.child(sys.argv[i + 1], int(sys.argv[i + 2]))
    else:
        main(quick="--quick" in sys.argv)
