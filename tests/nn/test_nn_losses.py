"""Losses against reference NumPy formulas (PyTorch's definitions): values, gradients,
reductions, stability and error messages."""

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor

rng = np.random.default_rng(7)
LOGITS = rng.normal(size=(5, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2])
ONE_HOT = np.eye(4)[LABELS]


def ref_log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def ref_softmax(z):
    return np.exp(ref_log_softmax(z))


def grad_of(fn, x):
    x = Tensor(x, requires_grad=True)
    fn(x).backward()
    return x.grad


# ---- cross entropy ----------------------------------------------------------------------------

@pytest.mark.parametrize("reduction, reduce", [("mean", np.mean), ("sum", np.sum),
                                               ("none", lambda a: a)])
def test_cross_entropy_with_indices(reduction, reduce):
    expected = reduce(-ref_log_softmax(LOGITS)[np.arange(5), LABELS])
    got = nn.cross_entropy(Tensor(LOGITS), LABELS, reduction=reduction)
    np.testing.assert_allclose(got.data, expected, rtol=1e-13)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    g = grad_of(lambda z: nn.cross_entropy(z, LABELS), LOGITS)
    np.testing.assert_allclose(g, (ref_softmax(LOGITS) - ONE_HOT) / 5, rtol=1e-12, atol=1e-15)


def test_cross_entropy_with_probabilities_and_one_hot():
    probs = ref_softmax(rng.normal(size=(5, 4)))
    expected = np.mean(-(probs * ref_log_softmax(LOGITS)).sum(axis=1))
    np.testing.assert_allclose(nn.cross_entropy(LOGITS, probs).item(), expected, rtol=1e-13)
    np.testing.assert_allclose(nn.cross_entropy(LOGITS, ONE_HOT).item(),
                               nn.cross_entropy(LOGITS, LABELS).item(), rtol=1e-13)
    # a Tensor target that requires grad gets d/dt = -log_softmax / N
    t = Tensor(probs, requires_grad=True)
    nn.cross_entropy(Tensor(LOGITS), t).backward()
    np.testing.assert_allclose(t.grad, -ref_log_softmax(LOGITS) / 5, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
def test_cross_entropy_takes_integer_one_hot_targets(dtype):
    one_hot = ONE_HOT.astype(dtype)
    expected = nn.cross_entropy(LOGITS, LABELS).item()
    np.testing.assert_allclose(nn.cross_entropy(LOGITS, one_hot).item(), expected, rtol=1e-13)
    np.testing.assert_allclose(nn.cross_entropy(LOGITS, Tensor(one_hot)).item(), expected,
                               rtol=1e-13)
    square = np.eye(4, dtype=dtype)                # (N, C) with N == C: still one-hot
    np.testing.assert_allclose(nn.cross_entropy(np.zeros((4, 4)), square).item(), np.log(4))
    logits32 = Tensor(LOGITS.astype(np.float32), requires_grad=True)
    out = nn.nll_loss(logits32.log_softmax(), one_hot)
    out.backward()
    assert out.dtype == np.float32 and logits32.grad.dtype == np.float32


def test_cross_entropy_single_sample_and_tensor_target():
    z = LOGITS[1]
    expected = -ref_log_softmax(z[None])[0, 3]
    np.testing.assert_allclose(nn.cross_entropy(z, 3).item(), expected, rtol=1e-13)
    np.testing.assert_allclose(nn.cross_entropy(LOGITS, Tensor(LABELS)).item(),
                               nn.cross_entropy(LOGITS, LABELS).item())


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    loss = nn.cross_entropy(Tensor(z, requires_grad=True), np.array([0, 2]))
    np.testing.assert_allclose(loss.item(), (0.0 + (1.0 + np.log1p(np.exp(-1.0)))) / 2,
                               rtol=1e-12)
    loss.backward()


def test_cross_entropy_float32_stays_float32():
    z = Tensor(LOGITS.astype(np.float32), requires_grad=True)
    loss = nn.cross_entropy(z, LABELS)
    loss.backward()
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32


def test_cross_entropy_errors_name_shapes_and_values():
    with pytest.raises(ValueError, match=r"target class 12 is out of range for 10 classes "
                                         r"\(input shape \(3, 10\)\); labels must be in \[0, 9\]"):
        nn.cross_entropy(np.zeros((3, 10)), np.array([1, 12, 0]))
    with pytest.raises(ValueError, match="target class -1"):
        nn.cross_entropy(np.zeros((3, 10)), np.array([1, -1, 0]))
    with pytest.raises(ValueError, match=r"target shape \(4,\).*\(3,\).*\(3, 10\)"):
        nn.cross_entropy(np.zeros((3, 10)), np.array([1, 2, 0, 1]))
    with pytest.raises(TypeError, match="must be integers, got dtype float64"):
        nn.cross_entropy(np.zeros((3, 10)), np.array([1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"\(N, C\) or \(C,\)"):
        nn.cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="reduction"):
        nn.cross_entropy(np.zeros((3, 10)), np.zeros(3, dtype=int), reduction="avg")


def test_nll_loss_and_categorical_crossentropy_agree_with_cross_entropy():
    ce = nn.cross_entropy(LOGITS, LABELS).item()
    log_probs = Tensor(LOGITS).log_softmax()
    np.testing.assert_allclose(nn.nll_loss(log_probs, LABELS).item(), ce, rtol=1e-13)
    np.testing.assert_allclose(nn.categorical_crossentropy(ref_softmax(LOGITS), LABELS).item(),
                               ce, rtol=1e-12)
    np.testing.assert_allclose(nn.categorical_crossentropy(ref_softmax(LOGITS), ONE_HOT).item(),
                               ce, rtol=1e-12)
    # through a softmax layer the gradient w.r.t. the logits is again softmax - one_hot
    g = grad_of(lambda z: nn.categorical_crossentropy(z.softmax(), LABELS), LOGITS)
    np.testing.assert_allclose(g, (ref_softmax(LOGITS) - ONE_HOT) / 5, rtol=1e-10, atol=1e-14)
    # probabilities of exactly 0 give a finite loss (log clamped at -100), never inf or nan
    p = np.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(nn.categorical_crossentropy(p, np.array([0, 0])).item(), 50.0)


# ---- mean squared error -----------------------------------------------------------------------

@pytest.mark.parametrize("reduction, reduce", [("mean", np.mean), ("sum", np.sum),
                                               ("none", lambda a: a)])
def test_mse(reduction, reduce):
    pred, target = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    np.testing.assert_allclose(nn.mse_loss(pred, target, reduction).data,
                               reduce((pred - target) ** 2), rtol=1e-13)
    g = grad_of(lambda p: nn.mse_loss(p, target, reduction="mean"), pred)
    np.testing.assert_allclose(g, 2 * (pred - target) / pred.size, rtol=1e-13)


def test_mse_refuses_silent_broadcasting():
    with pytest.raises(ValueError, match=r"input shape \(4, 1\) and target shape \(4,\) differ "
                                         r"\(reshape one of them, e.g. target.reshape\(4, 1\)\)"):
        nn.mse_loss(np.zeros((4, 1)), np.zeros(4))


# ---- binary cross entropy ------------------------------------------------------------------------

def ref_bce(p, t):
    return -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log1p(-p), -100))


def test_binary_cross_entropy_matches_reference():
    p = rng.uniform(0.01, 0.99, size=(7, 1))
    t = rng.integers(0, 2, size=(7, 1)).astype(float)
    np.testing.assert_allclose(nn.binary_cross_entropy(p, t).item(), ref_bce(p, t).mean(),
                               rtol=1e-12)
    np.testing.assert_allclose(nn.binary_cross_entropy(p, t, "none").data, ref_bce(p, t),
                               rtol=1e-12)
    g = grad_of(lambda q: nn.binary_cross_entropy(q, t, reduction="sum"), p)
    np.testing.assert_allclose(g, (p - t) / (p * (1 - p)), rtol=1e-10)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    with np.errstate(all="raise"):
        loss = nn.binary_cross_entropy(Tensor(p, requires_grad=True), t, reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0, 0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_gradient_at_saturation_is_torchs(dtype):
    """PyTorch's gradient (p - t) / max(p (1 - p), 1e-12): large but finite where the clamped
    log is flat (a zero gradient there would leave a saturated output stuck forever)."""
    p = np.array([0.0, 1.0, 1e-50, 1e-45, 1.0, 0.0, 0.5, 0.3], dtype=dtype)
    t = np.array([1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.7], dtype=dtype)
    x = Tensor(p, requires_grad=True)
    with np.errstate(all="raise"):
        loss = nn.binary_cross_entropy(x, t, reduction="sum")
        loss.backward()
    p64, t64 = p.astype(np.float64), t.astype(np.float64)
    expected = (p64 - t64) / np.maximum(p64 * (1 - p64), 1e-12)
    assert loss.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(x.grad)) and np.all(x.grad[:4] != 0)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)
    values = nn.binary_cross_entropy(Tensor(p), t, reduction="none").data
    np.testing.assert_array_equal(values[:6], [100.0, 100.0, 100.0, 100.0, 0.0, 0.0])
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(values, ref_bce(p64, t64), rtol=1e-6)


def test_binary_cross_entropy_rejects_non_probabilities():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*with_logits"):
        nn.binary_cross_entropy(np.array([0.5, 1.5]), np.array([1.0, 0.0]))


def test_bce_with_logits_matches_reference_and_is_stable():
    x = np.array([-1000.0, -30.0, -1.5, 0.0, 0.7, 30.0, 1000.0])
    t = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.3, 0.0])
    expected = np.logaddexp(0, x) - x * t   # softplus(x) - x t
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        xt = Tensor(x, requires_grad=True)
        loss = nn.binary_cross_entropy_with_logits(xt, t, reduction="none")
        loss.sum().backward()
    # absolute error ~1e-16 where the loss is tiny: log(1 + e) rather than log1p(e)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-13, atol=1e-15)
    sigmoid = 0.5 * (1 + np.tanh(x / 2))
    np.testing.assert_allclose(xt.grad, sigmoid - t, rtol=1e-12, atol=1e-15)
    # agrees with binary_cross_entropy(sigmoid(x)) where the latter is accurate
    y = np.array([-2.0, 0.3, 4.0])
    u = np.array([0.0, 1.0, 1.0])
    np.testing.assert_allclose(nn.binary_cross_entropy_with_logits(y, u).item(),
                               nn.binary_cross_entropy(Tensor(y).sigmoid(), u).item(), rtol=1e-12)


# ---- module forms and names ---------------------------------------------------------------------

def test_module_forms_equal_functions():
    p = rng.uniform(0.1, 0.9, size=(3, 2))
    t = rng.uniform(size=(3, 2))
    pairs = [(nn.MSELoss(), nn.mse_loss, p, t),
             (nn.CrossEntropyLoss(reduction="sum"),
              lambda a, b: nn.cross_entropy(a, b, "sum"), LOGITS, LABELS),
             (nn.NLLLoss(), nn.nll_loss, -LOGITS ** 2, LABELS),
             (nn.BCELoss(), nn.binary_cross_entropy, p, t),
             (nn.BCEWithLogitsLoss(reduction="none"),
              lambda a, b: nn.binary_cross_entropy_with_logits(a, b, "none"), p, t)]
    for module, fn, a, b in pairs:
        np.testing.assert_array_equal(module(a, b).data, fn(a, b).data)
    assert repr(nn.MSELoss()) == "MSELoss(reduction='mean')"
    with pytest.raises(ValueError, match="reduction"):
        nn.BCELoss(reduction="max")


def test_loss_names():
    assert nn.losses.get_loss("mse") is nn.mse_loss
    assert nn.losses.get_loss("sparse_categorical_crossentropy") is nn.categorical_crossentropy
    assert nn.losses.get_loss("binary_crossentropy") is nn.binary_cross_entropy
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        nn.losses.get_loss("hinge")


def test_constants_a_loss_makes_are_labelled_by_role_in_graph_images():
    p = Tensor([0.2, 0.7], requires_grad=True)
    source = autograd.draw_graph(nn.binary_cross_entropy(p, np.array([0.0, 1.0]))).source
    assert 'label="target (const)' in source and 'label="1 - target (const)' in source
    source = autograd.draw_graph(nn.binary_cross_entropy_with_logits(p, np.array([0.0, 1.0]))).source
    assert 'label="target (const)' in source
