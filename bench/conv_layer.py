"""A LeNet-sized pair of convolutions, forward + backward: batch 64, 28x28, 1 -> 8 -> 16 channels, 5x5.

conv(1 -> 8, 5x5) -> ReLU -> conv(8 -> 16, 5x5), then the gradients of sum(out * G) with respect to
both weights and biases (the input needs none, as for a network's first layer), float32.  "numpy
(by hand)" is the same im2col computation written directly (one matmul per convolution and per
weight gradient, a slice-add per kernel position for the input gradient): the floor for an
im2col engine.  Target: ours within 1.5x of PyTorch CPU with one thread.
"""
import itertools

import harness
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autograd import Tensor
from autograd.conv import conv2d

N, SIZE, K = 64, 28, 5
CHANNELS = (1, 8, 16)
TARGET_VS_TORCH = 1.5


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, CHANNELS[0], SIZE, SIZE)).astype(np.float32)
    weights = []
    for c_in, c_out in itertools.pairwise(CHANNELS):
        bound = 1 / np.sqrt(c_in * K * K)
        weights += [rng.uniform(-bound, bound, (c_out, c_in, K, K)).astype(np.float32),
                    rng.uniform(-bound, bound, c_out).astype(np.float32)]
    out_size = SIZE - 2 * (K - 1)
    G = rng.standard_normal((N, CHANNELS[2], out_size, out_size)).astype(np.float32)
    return x, weights, G


class Ours:
    def __init__(self, x, weights, G):
        self.x, self.G = Tensor(x), G
        self.params = [Tensor(w, requires_grad=True) for w in weights]

    def step(self):
        w1, b1, w2, b2 = self.params
        out = conv2d(conv2d(self.x, w1, b1).relu(), w2, b2)
        (out * self.G).sum().backward()
        grads = [p.grad for p in self.params]
        for p in self.params:
            p.grad = None
        return grads


def _cols(x):
    """(C*K*K, N*OH*OW) columns of x's K x K windows."""
    c = x.shape[1]
    win = sliding_window_view(x, (K, K), axis=(2, 3))  # (N, C, OH, OW, K, K)
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(c * K * K, -1), win.shape[2]


class NumpyByHand:
    def __init__(self, x, weights, G):
        self.x, self.G = x, G
        self.params = [w.copy() for w in weights]

    @staticmethod
    def conv(x, w, b):
        cols, side = _cols(x)
        y = w.reshape(len(w), -1) @ cols + b[:, None]
        return np.ascontiguousarray(y.reshape(len(w), len(x), side, side).transpose(1, 0, 2, 3))

    def step(self):
        w1, b1, w2, b2 = self.params
        z = self.conv(self.x, w1, b1)
        h = np.maximum(z, 0)
        self.conv(h, w2, b2)
        # the columns are made again for the weight gradients (keeping them from the forward is slower here)
        g2 = self.G.transpose(1, 0, 2, 3).reshape(len(w2), -1)
        dw2, db2 = (g2 @ _cols(h)[0].T).reshape(w2.shape), g2.sum(axis=1)
        # input gradient: window gradients (K, K, C, OH, OW, N) added back with the batch axis innermost
        side = self.G.shape[2]
        g2t = self.G.transpose(1, 2, 3, 0).reshape(len(w2), -1)
        dcols = (w2.transpose(2, 3, 1, 0).reshape(-1, len(w2)) @ g2t).reshape(K, K, CHANNELS[1], side, side, N)
        dh = np.zeros((CHANNELS[1], *z.shape[2:], N), np.float32)
        for a in range(K):
            for b in range(K):
                dh[:, a:a + side, b:b + side] += dcols[a, b]
        dz = np.ascontiguousarray(dh.transpose(3, 0, 1, 2)) * (z > 0)
        g1 = dz.transpose(1, 0, 2, 3).reshape(len(w1), -1)
        dw1, db1 = (g1 @ _cols(self.x)[0].T).reshape(w1.shape), g1.sum(axis=1)
        return [dw1, db1, dw2, db2]


class Torch:
    def __init__(self, torch, x, weights, G):
        self.torch, self.F = torch, torch.nn.functional
        self.x, self.G = torch.from_numpy(x), torch.from_numpy(G)
        self.params = [torch.tensor(w, requires_grad=True) for w in weights]

    def step(self):
        w1, b1, w2, b2 = self.params
        out = self.F.conv2d(self.F.conv2d(self.x, w1, b1).relu(), w2, b2)
        (out * self.G).sum().backward()
        grads = [p.grad.numpy() for p in self.params]
        for p in self.params:
            p.grad = None
        return grads


def check_same_gradients(models):
    reference = models["numpy (by hand)"].step()
    for name, model in models.items():
        for got, want in zip(model.step(), reference):
            np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3, err_msg=name)


def main(repeats=15):
    torch = harness.load_torch()
    x, weights, G = make_data()
    models = {"autograd (ours)": Ours(x, weights, G), "numpy (by hand)": NumpyByHand(x, weights, G)}
    if torch is not None:
        models["pytorch"] = Torch(torch, x, weights, G)
    check_same_gradients(models)
    medians = harness.interleaved({name: m.step for name, m in models.items()}, repeats=repeats, number=3)
    print(harness.describe_machine(torch))
    harness.print_table(f"conv_layer: conv {CHANNELS[0]}->{CHANNELS[1]} -> relu -> conv {CHANNELS[1]}->{CHANNELS[2]}, "
                        f"{K}x{K}, batch {N}, {SIZE}x{SIZE}, float32; forward + backward", medians)
    if "pytorch" in medians:
        harness.verdict("autograd (ours) / pytorch", medians["autograd (ours)"] / medians["pytorch"], TARGET_VS_TORCH)
    return medians


if __name__ == "__main__":
    main()
