"""Every loss's gradient with respect to a target that requires grad (gradcheck on
hypothesis-drawn shapes, float32 and float64), the edges of the targets each loss accepts,
empty batches, and each loss drawn as one named cluster."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
import nn
from autograd import Tensor, gradcheck

DTYPES = st.sampled_from([np.float32, np.float64])


def floats32(low, high):
    """Finite floats in [low, high] that float32 represents exactly (for either dtype)."""
    return st.floats(float(np.float32(low)), float(np.float32(high)), width=32)


@st.composite
def pairs(draw, low=-3.0, high=3.0, target_low=-3.0, target_high=3.0, min_dims=0):
    """(prediction, target) Tensors of one drawn shape (0-d and size-1 included) and dtype,
    both requiring grad."""
    dtype = draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=3))
    pred = draw(hnp.arrays(dtype, shape, elements=floats32(low, high)))
    target = draw(hnp.arrays(dtype, shape, elements=floats32(target_low, target_high)))
    return Tensor(pred, requires_grad=True), Tensor(target, requires_grad=True)


@st.composite
def class_pairs(draw):
    """(N, C) logits and (N, C) float class probabilities (rows summing to 1), both with grad."""
    dtype = draw(DTYPES)
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    logits = draw(hnp.arrays(dtype, (n, c), elements=floats32(-3, 3)))
    weights = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0.1, 1.0)))
    probs = (weights / weights.sum(axis=1, keepdims=True)).astype(dtype)
    return Tensor(logits, requires_grad=True), Tensor(probs, requires_grad=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(xy=pairs())
def test_mse_gradient_with_respect_to_target(reduction, xy):
    assert gradcheck(lambda p, t: nn.mse_loss(p, t, reduction=reduction), xy)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@given(xy=pairs(low=0.05, high=0.95, target_low=0.02, target_high=0.98))
def test_bce_gradient_with_respect_to_target(reduction, xy):
    assert gradcheck(lambda p, t: nn.binary_cross_entropy(p, t, reduction=reduction), xy)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@given(xy=pairs(target_low=0.02, target_high=0.98))
def test_bce_with_logits_gradient_with_respect_to_target(reduction, xy):
    assert gradcheck(lambda x, t: nn.binary_cross_entropy_with_logits(x, t, reduction=reduction),
                     xy)


@given(xy=class_pairs())
def test_cross_entropy_family_gradient_with_respect_to_probability_targets(xy):
    logits, probs = xy
    assert gradcheck(lambda z, t: nn.cross_entropy(z, t), (logits, probs))
    assert gradcheck(lambda z, t: nn.nll_loss(z.log_softmax(axis=-1), t), (logits, probs))
    assert gradcheck(lambda z, t: nn.categorical_crossentropy(z.softmax(axis=-1), t),
                     (logits, probs))


def test_a_detached_target_would_be_noticed():
    # the gradient with respect to the target is really computed (-2 (p - t) / n for MSE)
    p = Tensor([1.0, 2.0], requires_grad=True)
    t = Tensor([0.5, 3.0], requires_grad=True)
    nn.mse_loss(p, t).backward()
    np.testing.assert_allclose(t.grad, [-0.5, 1.0])


# ---- targets each loss refuses ------------------------------------------------------------------

def test_bce_refuses_targets_outside_the_unit_interval():
    with pytest.raises(ValueError, match=r"the target must hold probabilities in \[0, 1\], got "
                                         r"values in \[-0.5, 2.0\]"):
        nn.binary_cross_entropy(np.array([0.5, 0.5, 0.5]), np.array([1.0, -0.5, 2.0]))
    with pytest.raises(ValueError, match="the target holds 1 NaN"):
        nn.BCELoss()(np.array([0.5, 0.5]), np.array([np.nan, 1.0]))


def test_bce_names_a_nan_probability():
    with pytest.raises(ValueError, match=r"the input holds 2 NaN value\(s\) \(of 3\)"):
        nn.binary_cross_entropy(np.array([np.nan, 0.5, np.nan]), np.zeros(3))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*with_logits"):
        nn.binary_cross_entropy(np.array([0.5, 1.5]), np.array([1.0, 0.0]))


def test_cross_entropy_refuses_integer_targets_that_are_not_one_hot():
    logits = np.zeros((2, 3))
    with pytest.raises(TypeError, match=r"cross_entropy: integer target of the input's shape "
                                        r"\(2, 3\) is not one-hot.*must be float"):
        nn.cross_entropy(logits, np.array([[0, 2, 0], [1, 0, 0]]))
    with pytest.raises(TypeError, match="nll_loss: integer target"):
        nn.nll_loss(logits, np.array([[1, 1, 0], [1, 0, 0]]))
    one_hot = np.array([[0, 1, 0], [1, 0, 0]])
    assert nn.cross_entropy(logits, one_hot).item() == pytest.approx(np.log(3))
    assert nn.cross_entropy(logits, one_hot.astype(bool)).item() == pytest.approx(np.log(3))


@pytest.mark.parametrize("loss, pred, target", [
    (nn.cross_entropy, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)),
    (nn.nll_loss, np.zeros((0, 3)), np.zeros(0, dtype=np.int64)),
    (nn.mse_loss, np.zeros((0, 2)), np.zeros((0, 2))),
    (nn.binary_cross_entropy_with_logits, np.zeros(0), np.zeros(0)),
])
def test_empty_batch_is_an_error_naming_the_loss(loss, pred, target):
    with pytest.raises(ValueError, match=f"{loss.__name__}: the batch is empty .*reduction='sum'"):
        loss(pred, target)
    assert loss(pred, target, reduction="sum").item() == 0.0
    assert loss(pred, target, reduction="none").shape[0] == 0


# ---- one cluster per loss in graph images ------------------------------------------------------

@pytest.mark.parametrize("loss, args", [
    (nn.cross_entropy, (np.zeros((2, 3)), np.array([0, 1]))),
    (nn.mse_loss, (np.zeros(2), np.ones(2))),
    (nn.binary_cross_entropy, (np.full(2, 0.5), np.ones(2))),
    (nn.binary_cross_entropy_with_logits, (np.zeros(2), np.ones(2))),
    (nn.nll_loss, (np.zeros((2, 3)), np.array([0, 1]))),
    (nn.categorical_crossentropy, (np.full((2, 3), 1 / 3), np.array([0, 1]))),
])
def test_each_loss_runs_in_a_name_scope_of_its_name(monkeypatch, loss, args):
    import nn.losses

    opened = []

    def recording_scope(name, label=None):
        opened.append(name)
        return autograd.name_scope(name, label=label)

    monkeypatch.setattr(nn.losses, "name_scope", recording_scope)
    loss(Tensor(args[0], requires_grad=True), args[1])
    assert opened == [loss.__name__]
