"""nn.BatchNorm1d / BatchNorm2d: batch statistics in training mode, running statistics in eval mode,
PyTorch's momentum rule (unbiased variance in the running update), gradients, buffers in
checkpoints (not trained), errors, and PyTorch parity."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd import Tensor, gradcheck, gradgradcheck
from autograd.testing import float_arrays, float_dtypes


def reference(x, weight, bias, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * weight.reshape(shape) + bias.reshape(shape)


@st.composite
def batches(draw):
    """(layer class, x) for BatchNorm1d on (N, C) / (N, C, L) and BatchNorm2d on (N, C, H, W)."""
    dtype = draw(float_dtypes())
    two_d = draw(st.booleans())
    n, c = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    rest = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if two_d else draw(st.sampled_from([(), (2,), (3,)]))
    x = draw(float_arrays((n, c, *rest), dtype, min_value=-3, max_value=3, min_gap=0.01))
    return (nn.BatchNorm2d if two_d else nn.BatchNorm1d), x


@given(batches())
def test_training_mode_uses_batch_statistics_and_updates_running_ones_as_pytorch(case):
    cls, x = case
    layer = cls(x.shape[1], momentum=0.3, dtype=x.dtype)
    layer.weight.data[...] = np.linspace(0.5, 1.5, x.shape[1])
    layer.bias.data[...] = np.linspace(-1, 1, x.shape[1])
    axes = (0, *range(2, x.ndim))
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=axes), x64.var(axis=axes)  # biased, for normalising
    n = x.size // x.shape[1]
    out = layer(x)
    assert out.dtype == x.dtype
    tol = dict(rtol=2e-4, atol=2e-4) if x.dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    expected = reference(x64, layer.weight.data.astype(np.float64), layer.bias.data.astype(np.float64), mean, var, 1e-5)
    np.testing.assert_allclose(out.data, expected, **tol)
    np.testing.assert_allclose(layer.running_mean, 0.3 * mean, **tol)
    np.testing.assert_allclose(layer.running_var, 0.7 + 0.3 * var * n / (n - 1), **tol)  # unbiased
    assert layer.running_mean.dtype == layer.running_var.dtype == x.dtype


def test_eval_mode_uses_running_statistics():
    layer = nn.BatchNorm2d(2, dtype=np.float64)
    layer.running_mean = np.array([1.0, -2.0])
    layer.running_var = np.array([4.0, 0.25])
    layer.eval()
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 3))  # one sample is fine in eval mode
    expected = reference(x, np.ones(2), np.zeros(2), layer.running_mean, layer.running_var, 1e-5)
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-12)
    before = layer.running_mean.copy()
    layer(x)
    np.testing.assert_array_equal(layer.running_mean, before)  # eval never updates


@given(batches())
def test_gradcheck_in_training_mode(case):
    cls, x = case
    layer = cls(x.shape[1], dtype=x.dtype)
    w = Tensor(np.linspace(0.5, 1.5, x.shape[1]).astype(x.dtype), requires_grad=True)
    b = Tensor(np.linspace(-1, 1, x.shape[1]).astype(x.dtype), requires_grad=True)
    def fn(x, w, b):
        return nn.functional_call(layer, {"weight": w, "bias": b}, x)

    assert gradcheck(fn, (Tensor(x, requires_grad=True), w, b))


def test_gradgradcheck_in_both_modes():
    x = Tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)
    layer = nn.BatchNorm1d(3, dtype=np.float64)
    assert gradgradcheck(lambda x: layer(x) ** 2, x)
    layer.eval()
    assert gradgradcheck(lambda x: layer(x) ** 2, x)


def test_running_statistics_are_buffers_saved_in_checkpoints_but_not_trained(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, generator=0), nn.BatchNorm2d(2), nn.Flatten(), nn.BatchNorm1d(8),
                          nn.Linear(8, 2, generator=1))
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias", "4.weight", "4.bias"]
    assert [name for name, _ in model.named_buffers()] == [
        "1.running_mean", "1.running_var", "3.running_mean", "3.running_var"]
    x = np.random.default_rng(2).standard_normal((5, 1, 4, 4)).astype(np.float32)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        loss = (model(x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert not np.allclose(model[1].running_mean, 0)
    nn.save(model, tmp_path / "cnn.npz")
    copy = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.BatchNorm1d(8), nn.Linear(8, 2))
    copy.load_state_dict(nn.load(tmp_path / "cnn.npz"))
    np.testing.assert_array_equal(copy[1].running_var, model[1].running_var)
    np.testing.assert_array_equal(copy[3].running_mean, model[3].running_mean)
    model.eval()
    copy.eval()
    np.testing.assert_array_equal(copy(x).data, model(x).data)


def test_errors_name_the_layer_and_the_fix():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) got input of shape \(2, 3, 4\); it takes \(N, C, H, W\)"):
        nn.BatchNorm2d(3)(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\) got input of shape \(2, 4\).*C = 3"):
        nn.BatchNorm1d(3)(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"more than one value per channel.*model.eval\(\)"):
        nn.BatchNorm1d(3)(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="momentum in"):
        nn.BatchNorm1d(3, momentum=1.5)
    assert nn.BatchNorm1d(3, affine=False).weight is None


def test_batchnorm_matches_pytorch_over_training_steps_and_in_eval():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for ours, theirs, shape in ((nn.BatchNorm2d(3, momentum=0.2, dtype=np.float64),
                                 torch.nn.BatchNorm2d(3, momentum=0.2).double(), (4, 3, 5, 2)),
                                (nn.BatchNorm1d(3, dtype=np.float64), torch.nn.BatchNorm1d(3).double(), (6, 3))):
        for _ in range(3):
            x = rng.standard_normal(shape) * 2 + 1
            xt = torch.tensor(x, requires_grad=True)
            xo = Tensor(x, requires_grad=True)
            out, ref = ours(xo), theirs(xt)
            np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
            g = rng.standard_normal(shape)
            out.backward(g)
            ref.backward(torch.tensor(g))
            np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
            ours.zero_grad()
            theirs.zero_grad()
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
        ours.eval()
        theirs.eval()
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_buffers_convert_with_to_and_state_dict_returns_copies():
    layer = nn.BatchNorm1d(2)
    state = layer.state_dict()
    state["running_mean"][...] = 5.0
    assert np.array_equal(layer.running_mean, [0.0, 0.0])  # a copy, not the buffer itself
    layer.to(np.float64)
    assert layer.running_mean.dtype == layer.running_var.dtype == layer.weight.dtype == np.float64
    assert layer(np.ones((3, 2))).dtype == np.float64
    with pytest.raises(ValueError, match=r"shape mismatch for running_var: checkpoint has \(3,\), model has \(2,\)"):
        layer.load_state_dict({**layer.state_dict(), "running_var": np.ones(3)})
