"""Full training epochs of a 784-512-10 ReLU MLP with ``nn.fit``: time and memory.

MNIST-sized synthetic data (60,000 x 784 float32, labels from a random linear teacher), batch
128, float32, Adam (lr 1e-3), cross-entropy, shuffled every epoch, loss and accuracy tracked per
batch.  Contestants: ``nn.fit`` (progress bar off), the same training written by hand in NumPy
(Adam by hand), and PyTorch (``torch.nn`` + ``torch.optim.Adam``).  All start from the same weights
and see the same batches.  Targets: an epoch within 1.2x of NumPy; training memory within 1.3x of
NumPy's and flat across epochs.

Memory method: each contestant runs in a fresh subprocess.  After the data and the model exist
and a full ``gc.collect()``, the child reads its resident set size (VmRSS) as the baseline and
resets the kernel's peak-RSS mark (``/proc/self/clear_refs``).  "train MB" is the peak RSS since
then minus the baseline (what training adds on top of the libraries and the data), read after
each epoch, so it must stay flat from epoch to epoch.
"""
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time

import harness  # (first: pins threads before NumPy loads)
import numpy as np

N, D, H, C = 60_000, 784, 512, 10
BATCH = 128
LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
SEED = 0
TARGET_TIME_VS_NUMPY = 1.2
TARGET_MEMORY_VS_NUMPY = 1.3
CONTESTANTS = ("nn.fit (ours)", "numpy (by hand)", "pytorch")


def make_data():
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((N, D), dtype=np.float32)
    teacher = rng.standard_normal((D, C), dtype=np.float32)
    y = (X @ teacher).argmax(axis=1)
    limit1, limit2 = np.sqrt(6 / (D + H)), np.sqrt(6 / (H + C))  # Glorot uniform, as nn.Linear
    W1 = rng.uniform(-limit1, limit1, (D, H)).astype(np.float32)
    W2 = rng.uniform(-limit2, limit2, (H, C)).astype(np.float32)
    return X, y, [W1, np.zeros(H, np.float32), W2, np.zeros(C, np.float32)]


def setup_ours(X, y, weights):
    import nn

    model = nn.Sequential(nn.Dense(D, H, activation="relu"), nn.Dense(H, C))
    model.load_state_dict(dict(zip(["0.weight", "0.bias", "1.weight", "1.bias"], weights)))
    optimizer = nn.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    rng = np.random.default_rng(SEED + 1)

    def epoch():
        history = nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=optimizer, epochs=1, batch_size=BATCH,
                         progress=False, rng=rng)
        return history["loss"][0]

    return epoch


def setup_numpy(X, y, weights):
    params = [w.copy() for w in weights]
    moments = []  # Adam's state, made at the first step as nn.Adam and torch.optim.Adam do
    rng = np.random.default_rng(SEED + 1)
    step = [0]
    rows = np.arange(BATCH)

    def train_step(Xb, yb):
        W1, b1, W2, b2 = params
        n = len(Xb)
        z = Xb @ W1 + b1
        h = np.maximum(z, 0)
        logits = h @ W2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        r = rows[:n]
        loss = -logp[r, yb].mean()
        accuracy = np.mean(logits.argmax(axis=1) == yb)
        dlogits = np.exp(logp)
        dlogits[r, yb] -= 1
        dlogits *= 1.0 / n
        dh = dlogits @ W2.T
        dh *= z > 0
        grads = (Xb.T @ dh, dh.sum(axis=0), h.T @ dlogits, dlogits.sum(axis=0))
        if not moments:
            moments.extend((np.zeros_like(p), np.zeros_like(p)) for p in params)
        step[0] += 1
        t = step[0]
        b1c, b2c = 1 - BETAS[0] ** t, 1 - BETAS[1] ** t
        for p, g, (m, v) in zip(params, grads, moments):
            m *= BETAS[0]
            m += (1 - BETAS[0]) * g
            v *= BETAS[1]
            v += (1 - BETAS[1]) * g * g
            p -= (LR / b1c) * m / (np.sqrt(v) / math.sqrt(b2c) + EPS)
        return float(loss), float(accuracy)

    def epoch():
        order = rng.permutation(N)
        loss_sum = acc_sum = 0.0
        for start in range(0, N, BATCH):
            index = order[start:start + BATCH]
            loss, acc = train_step(X[index], y[index])
            loss_sum += loss * len(index)
            acc_sum += acc * len(index)
        return loss_sum / N

    return epoch


def setup_torch(X, y, weights):
    torch = harness.load_torch()
    model = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C))
    with torch.no_grad():
        for layer, W, b in ((model[0], weights[0], weights[1]), (model[2], weights[2], weights[3])):
            layer.weight.copy_(torch.from_numpy(W.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(SEED + 1)

    def epoch():
        order = torch.from_numpy(rng.permutation(N))
        loss_sum = acc_sum = 0.0
        for start in range(0, N, BATCH):
            index = order[start:start + BATCH]
            Xb, yb = Xt[index], yt[index]
            out = model(Xb)
            loss = torch.nn.functional.cross_entropy(out, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
            acc_sum += (out.argmax(dim=1) == yb).float().mean().item() * len(index)
        return loss_sum / N

    return epoch


SETUPS = {"nn.fit (ours)": setup_ours, "numpy (by hand)": setup_numpy, "pytorch": setup_torch}


def child(name, epochs):
    """Train one contestant for ``epochs`` epochs; print per-epoch time, loss and memory as JSON."""
    X, y, weights = make_data()
    epoch = SETUPS[name](X, y, weights)
    gc.collect()
    base = harness.rss_bytes()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak-RSS mark: VmHWM now measures from here
    times, losses, peaks = [], [], []
    for _ in range(epochs):
        start = time.perf_counter()
        losses.append(epoch())
        times.append(time.perf_counter() - start)
        peaks.append(max(harness.rss_bytes("VmHWM"), harness.rss_bytes()) - base)
    print(json.dumps({"times": times, "losses": losses, "peaks": peaks}))


def run_child(name, epochs):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, str(epochs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(repeats=3, epochs=3):
    torch = harness.load_torch()
    names = [n for n in CONTESTANTS if n != "pytorch" or torch is not None]
    runs = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(run_child(name, epochs))
    epoch_time = {n: statistics.median(t for run in rs for t in run["times"]) for n, rs in runs.items()}
    # peak after each epoch, median over the fresh processes
    peaks = {n: [statistics.median(run["peaks"][e] for run in rs) for e in range(epochs)] for n, rs in runs.items()}
    print(harness.describe_machine(torch))
    harness.print_table(f"fit_epoch: {D}-{H}-{C} ReLU MLP, {N:,} samples, batch {BATCH}, float32, Adam; median time "
                        f"per epoch ({epochs} epochs x {repeats} fresh processes)", epoch_time)
    print("  training memory: peak RSS above the pre-training baseline, MB, after each epoch "
          "(x numpy: last epoch)")
    for n in names:
        cells = "  ".join(f"{p / 2**20:7.1f}" for p in peaks[n])
        print(f"  {n:<17} {cells}   x numpy {peaks[n][-1] / peaks['numpy (by hand)'][-1]:.2f}")
    print("  first-process loss per epoch: " + "; ".join(
        f"{n}: " + ", ".join(f"{v:.4f}" for v in rs[0]["losses"]) for n, rs in runs.items()))
    ours = "nn.fit (ours)"
    harness.verdict("ours / numpy, time per epoch", epoch_time[ours] / epoch_time["numpy (by hand)"],
                    TARGET_TIME_VS_NUMPY)
    harness.verdict("ours / numpy, training memory", peaks[ours][-1] / peaks["numpy (by hand)"][-1],
                    TARGET_MEMORY_VS_NUMPY)
    growth = (peaks[ours][-1] - peaks[ours][0]) / 2**20
    print(f"  ours, memory growth from epoch 1 to {epochs}: {growth:+.1f} MB")
    return epoch_time, peaks


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        child(sys.argv[i + 1], int(sys.argv[i + 2]))
    else:
        main()
