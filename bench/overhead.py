"""Per-operation overhead on tiny tensors: a chain of add, multiply-by-constant and tanh.

A float64 value goes through STEPS rounds of ``x = tanh((x + b) * 0.5)`` (three primitive ops a
round, ``b`` a second leaf), then backward to both leaves.  The arrays are so small that the time
is all bookkeeping: recording a node, finding the order, calling the rule.  Figures are
microseconds per op, forward + backward, for shape (1,) (the headline) and for 0-d values, where
NumPy's ufuncs return scalars whose arithmetic is cheaper.  Target: at most 0.6x PyTorch.
"""
import harness
import numpy as np

from autograd import Tensor

STEPS = 100
OPS = 3 * STEPS
TARGET_VS_TORCH = 0.6


def ours(x0, b0):
    x = Tensor(x0, requires_grad=True)
    b = Tensor(b0, requires_grad=True)
    h = x
    for _ in range(STEPS):
        h = ((h + b) * 0.5).tanh()
    h.sum().backward()  # sum: a one-element root, as in the other contestants
    return x.grad, b.grad


def numpy_by_hand(x0, b0):
    outs = []
    h = x0
    for _ in range(STEPS):
        h = np.tanh((h + b0) * 0.5)
        outs.append(h)
    g = np.ones_like(h)
    gb = np.zeros_like(b0)
    for out in reversed(outs):
        g = g * (1 - out * out)  # tanh
        g = g * 0.5  # mul by the constant
        gb = gb + g  # add: the same gradient flows to b and to h
    return g, gb


def make_torch(torch):
    def run(x0, b0):
        x = torch.tensor(x0, requires_grad=True)
        b = torch.tensor(b0, requires_grad=True)
        h = x
        for _ in range(STEPS):
            h = ((h + b) * 0.5).tanh()
        h.sum().backward()
        return x.grad.numpy(), b.grad.numpy()

    return run


def main(repeats=31):
    torch = harness.load_torch()
    print(harness.describe_machine(torch))
    medians = {}
    for shape in ((1,), ()):
        x0 = np.full(shape, 0.3)
        b0 = np.full(shape, 0.1)
        contestants = {"autograd (ours)": ours, "numpy (by hand)": numpy_by_hand}
        if torch is not None:
            contestants["pytorch"] = make_torch(torch)
        reference = numpy_by_hand(x0, b0)
        for name, fn in contestants.items():
            for got, want in zip(fn(x0, b0), reference):
                np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
        calls = {name: (lambda fn=fn, x0=x0, b0=b0: fn(x0, b0)) for name, fn in contestants.items()}
        medians[shape] = m = harness.interleaved(calls, repeats=repeats, number=20)
        harness.print_table(f"overhead: {OPS}-op chain of add / mul-by-constant / tanh on shape {shape} float64, "
                            "forward + backward", m, unit=("us/op", OPS / 1e6))
        if torch is not None:
            harness.verdict("ours / pytorch", m["autograd (ours)"] / m["pytorch"], TARGET_VS_TORCH)
    return medians


if __name__ == "__main__":
    main()
