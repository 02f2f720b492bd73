"""The classic tutorial network: 4-3-1 sigmoid, 3 samples, squared error, full-batch SGD lr 0.1.

Arrays this small make the step overhead-bound: what is measured is the cost of recording and
walking about 15 nodes.  Float64, as in the tutorial.  Target: ours within 3x of NumPy.
"""
import harness
import numpy as np

from autograd import Tensor

X = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=np.float64)
Y = np.array([[1], [1], [0]], dtype=np.float64)
LR = 0.1
TARGET_VS_NUMPY = 3.0


def initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(size=(4, 3)), rng.uniform(size=(1, 3)), rng.uniform(size=(3, 1)), rng.uniform(size=(1, 1))]


class Ours:
    def __init__(self, weights):
        self.X, self.Y = Tensor(X), Tensor(Y)
        self.params = [Tensor(w, requires_grad=True) for w in weights]

    def step(self):
        wh, bh, wout, bout = self.params
        hidden = (self.X @ wh + bh).sigmoid()
        output = (hidden @ wout + bout).sigmoid()
        loss = ((output - self.Y) ** 2).sum() * 0.5
        loss.backward()
        for p in self.params:
            p.data -= LR * p.grad
            p.grad = None
        return loss.item()


class NumpyByHand:
    def __init__(self, weights):
        self.params = [w.copy() for w in weights]

    def step(self):
        wh, bh, wout, bout = self.params
        hidden = 1 / (1 + np.exp(-(X @ wh + bh)))
        output = 1 / (1 + np.exp(-(hidden @ wout + bout)))
        error = output - Y
        loss = 0.5 * (error ** 2).sum()
        d_out = error * output * (1 - output)
        d_hidden = (d_out @ wout.T) * hidden * (1 - hidden)
        grads = (X.T @ d_hidden, d_hidden.sum(axis=0, keepdims=True), hidden.T @ d_out, d_out.sum(axis=0, keepdims=True))
        for p, g in zip(self.params, grads):
            p -= LR * g
        return float(loss)


class Torch:
    def __init__(self, torch, weights):
        self.torch = torch
        self.X, self.Y = torch.from_numpy(X), torch.from_numpy(Y)
        self.params = [torch.tensor(w, requires_grad=True) for w in weights]

    def step(self):
        wh, bh, wout, bout = self.params
        hidden = (self.X @ wh + bh).sigmoid()
        output = (hidden @ wout + bout).sigmoid()
        loss = ((output - self.Y) ** 2).sum() * 0.5
        loss.backward()
        with self.torch.no_grad():
            for p in self.params:
                p -= LR * p.grad
                p.grad = None
        return loss.item()


def main(repeats=31):
    torch = harness.load_torch()
    weights = initial_weights()
    models = {"autograd (ours)": Ours(weights), "numpy (by hand)": NumpyByHand(weights)}
    if torch is not None:
        models["pytorch"] = Torch(torch, weights)
    losses = {name: [m.step() for _ in range(5)] for name, m in models.items()}
    for name, got in losses.items():
        np.testing.assert_allclose(got, losses["numpy (by hand)"], rtol=1e-12, err_msg=name)
    medians = harness.interleaved({name: m.step for name, m in models.items()}, repeats=repeats, number=200)
    print(harness.describe_machine(torch))
    harness.print_table("tiny_net: 4-3-1 sigmoid, 3 samples, squared error, SGD lr 0.1, float64; "
                        "time per training step", medians)
    harness.verdict("ours / numpy", medians["autograd (ours)"] / medians["numpy (by hand)"], TARGET_VS_NUMPY)
    return medians


if __name__ == "__main__":
    main()
