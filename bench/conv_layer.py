"""A LeNet-sized pair of convolutions, forward + backward: batch 64, 28x28, 1 -> 8 -> 16 channels, 5x5.

conv(1 -> 8, 5x5) -> ReLU -> conv(8 -> 16, 5x5), then the gradients of sum(out * G) with respect to
both weights and biases (the input needs none, as for a network's first layer), float32.  "numpy
(by hand)" is the same computation written directly, the way autograd.conv does it (the floor for
an im2col engine): images stored batch-innermost, (C, H, W, N); im2col and one matmul per band of
output rows for each convolution and weight gradient (the latter as columns @ g.T, the taller
operand on the left), in cache-sized bands; the input gradient as one matmul per band over
(output channel, kernel row) and one slice-add per kernel column.
Target: ours within 1.5x of PyTorch CPU with one thread.
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
        self.x, self.G = Tensor(x), Tensor(G)  # as the PyTorch contestant, G made a tensor once
        self.params = [Tensor(w, requires_grad=True) for w in weights]

    def step(self):
        w1, b1, w2, b2 = self.params
        out = conv2d(conv2d(self.x, w1, b1).relu(), w2, b2)
        (out * self.G).sum().backward()
        grads = [p.grad for p in self.params]
        for p in self.params:
            p.grad = None
        return grads


BAND_BYTES = 1 << 20  # each band's gathered windows: about the size of a core's L2 cache


def _windows(xc):
    """(C, K, K, OH, OW, N) view of every K x K window of xc (C, H, W, N)."""
    return sliding_window_view(xc, (K, K), axis=(1, 2)).transpose(0, 4, 5, 1, 2, 3)


def _bands(win):
    """(rows, columns (C*K*K, rows*OW*N)) for bands of output rows, gathered into one reused buffer."""
    c, _, _, oh, ow, n = win.shape
    per_band = max(1, BAND_BYTES // (c * K * K * ow * n * 4))
    buf = np.empty((c, K, K, min(per_band, oh), ow, n), np.float32)
    for y in range(0, oh, per_band):
        r = min(per_band, oh - y)
        cols = buf[:, :, :, :r] if r == buf.shape[3] else np.empty((c, K, K, r, ow, n), np.float32)
        np.copyto(cols, win[:, :, :, y:y + r])
        yield slice(y, y + r), cols.reshape(c * K * K, -1)


class NumpyByHand:
    """Images stored batch-innermost, (C, H, W, N), so that a window row across the batch is one
    contiguous run; im2col and its products one band of output rows at a time (in cache)."""

    def __init__(self, x, weights, G):
        self.x, self.G = x, G
        self.params = [w.copy() for w in weights]

    @staticmethod
    def conv(xc, w, b):
        """xc (C, H, W, N) -> (O, OH, OW, N)."""
        win = _windows(xc)
        y = np.empty((len(w), *win.shape[3:]), np.float32)
        for rows, cols in _bands(win):
            np.matmul(w.reshape(len(w), -1), cols, out=y[:, rows].reshape(len(w), -1))
        y += b[:, None, None, None]
        return y

    @staticmethod
    def weight_grad(xc, gc):
        """xc (C, H, W, N), gc (O, OH, OW, N) -> (O, C, K, K)."""
        o = len(gc)
        dwt = np.zeros((xc.shape[0] * K * K, o), np.float32)  # transposed: the taller operand on the left is faster
        for rows, cols in _bands(_windows(xc)):
            dwt += cols @ gc[:, rows].reshape(o, -1).T
        return np.ascontiguousarray(dwt.T).reshape(o, xc.shape[0], K, K)

    @staticmethod
    def input_grad(gc, w):
        """gc (O, OH, OW, N) -> (C, H, W, N): one product over (o, kernel row a) per band of input
        rows, then one add per kernel column b."""
        o, oh, ow, n = gc.shape
        c, h = w.shape[1], oh + K - 1
        padded = np.zeros((o, oh + 2 * (K - 1), ow * n), np.float32)
        padded[:, K - 1:K - 1 + oh] = gc.reshape(o, oh, -1)
        wm = w.transpose(1, 3, 0, 2).reshape(c * K, o * K)  # rows (c, b), columns (o, a)
        dx = np.zeros((c, h, h, n), np.float32)
        per_band = max(1, BAND_BYTES // (o * K * ow * n * 4))
        for y in range(0, h, per_band):
            r = min(per_band, h - y)
            shifted = np.empty((o, K, r, ow * n), np.float32)
            for a in range(K):  # input row y meets kernel row a in output row y - a
                shifted[:, a] = padded[:, y - a + K - 1:y - a + K - 1 + r]
            v = (wm @ shifted.reshape(o * K, -1)).reshape(c, K, r, ow, n)
            for b in range(K):
                dx[:, y:y + r, b:b + ow] += v[:, b]
        return dx

    def step(self):
        w1, b1, w2, b2 = self.params
        xc = np.ascontiguousarray(self.x.transpose(1, 2, 3, 0))
        z = self.conv(xc, w1, b1)
        h = np.maximum(z, 0)
        self.conv(h, w2, b2)
        gc = np.ascontiguousarray(self.G.transpose(1, 2, 3, 0))
        dw2, db2 = self.weight_grad(h, gc), gc.sum(axis=(1, 2, 3))
        dz = self.input_grad(gc, w2) * (z > 0)
        dw1, db1 = self.weight_grad(xc, dz), dz.sum(axis=(1, 2, 3))
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
