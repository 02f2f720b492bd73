"""One SGD training step of a 784-512-10 ReLU MLP, batch 128, float32.

The loss is softmax cross-entropy written as raw Tensor expressions (``log_softmax``, then the
labels picked by one-hot product or by integer indexing), the update plain SGD on ``.data``.
All contestants start from the same weights and batch.  Target: ours within 1.15x of NumPy.
"""
import harness
import numpy as np

import autograd
from autograd import Tensor

N, D, H, C = 128, 784, 512, 10
LR = 0.01
TARGET_VS_NUMPY = 1.15


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D)).astype(np.float32)
    y = rng.integers(0, C, N)
    W1 = (rng.standard_normal((D, H)) * np.sqrt(2 / D)).astype(np.float32)
    b1 = np.zeros(H, np.float32)
    W2 = (rng.standard_normal((H, C)) * np.sqrt(2 / H)).astype(np.float32)
    b2 = np.zeros(C, np.float32)
    return X, y, [W1, b1, W2, b2]


class Ours:
    def __init__(self, X, y, weights, labels="one-hot"):
        self.X = Tensor(X)
        self.y = y
        self.onehot = np.eye(C, dtype=np.float32)[y]
        self.rows = np.arange(N)
        self.labels = labels
        self.params = [Tensor(w, requires_grad=True) for w in weights]

    def step(self):
        W1, b1, W2, b2 = self.params
        h = (self.X @ W1 + b1).relu()
        logp = autograd.log_softmax(h @ W2 + b2, axis=1)
        if self.labels == "one-hot":
            loss = -(logp * self.onehot).sum() * (1.0 / N)
        else:
            loss = -logp[self.rows, self.y].mean()
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad
            p.grad = None
        return loss.item()


class NumpyByHand:
    def __init__(self, X, y, weights):
        self.X, self.y = X, y
        self.rows = np.arange(N)
        self.params = [w.copy() for w in weights]

    def step(self):
        W1, b1, W2, b2 = self.params
        X = self.X
        z = X @ W1 + b1
        h = np.maximum(z, 0)
        logits = h @ W2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -logp[self.rows, self.y].mean()
        dlogits = np.exp(logp)
        dlogits[self.rows, self.y] -= 1
        dlogits *= 1.0 / N
        dW2 = h.T @ dlogits
        db2 = dlogits.sum(axis=0)
        dh = dlogits @ W2.T
        dz = dh * (z > 0)
        dW1 = X.T @ dz
        db1 = dz.sum(axis=0)
        for p, g in zip(self.params, (dW1, db1, dW2, db2)):
            p -= LR * g
        return float(loss)


class Torch:
    def __init__(self, torch, X, y, weights):
        self.torch = torch
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(y)
        self.rows = torch.arange(N)
        self.params = [torch.tensor(w, requires_grad=True) for w in weights]

    def step(self):
        torch = self.torch
        W1, b1, W2, b2 = self.params
        h = (self.X @ W1 + b1).relu()
        logp = torch.log_softmax(h @ W2 + b2, dim=1)
        loss = -logp[self.rows, self.y].mean()
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None
        return loss.item()


def check_same_trajectory(models):
    """A few steps from the same start must give the same losses (float32 round-off apart)."""
    losses = {name: [m.step() for _ in range(3)] for name, m in models.items()}
    reference = losses["numpy (by hand)"]
    for name, got in losses.items():
        np.testing.assert_allclose(got, reference, rtol=1e-4, err_msg=name)


def main(repeats=21):
    torch = harness.load_torch()
    X, y, weights = make_data()
    models = {
        "autograd (ours), one-hot": Ours(X, y, weights, "one-hot"),
        "autograd (ours), int index": Ours(X, y, weights, "index"),
        "numpy (by hand)": NumpyByHand(X, y, weights),
    }
    if torch is not None:
        models["pytorch"] = Torch(torch, X, y, weights)
    check_same_trajectory(models)
    medians = harness.interleaved({name: m.step for name, m in models.items()}, repeats=repeats, number=10)
    print(harness.describe_machine(torch))
    harness.print_table(f"mlp_step: {D}-{H}-{C} ReLU MLP, batch {N}, float32, log-softmax cross-entropy, "
                        "SGD; time per training step", medians)
    for name in medians:
        if name.startswith("autograd"):
            harness.verdict(f"{name} / numpy", medians[name] / medians["numpy (by hand)"], TARGET_VS_NUMPY)
    return medians


if __name__ == "__main__":
    main()
