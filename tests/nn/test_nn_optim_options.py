"""AdamW against torch.optim.AdamW's documented algorithm; options living in param_groups (one
truth, no dead attributes, finite values); loading state from another optimizer; frozen
parameters; gradient clipping against torch.nn.utils' formulas."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn
from autograd import Tensor
from tests.nn.test_nn_optim import P0, STEPS, assert_same_path, grad_fn, run_ours


def ref_adamw(p0, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """torch.optim.AdamW's documented algorithm: theta <- theta - lr wd theta, then Adam's step."""
    b1, b2 = betas
    p, m, v, path = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), []
    for t in range(1, STEPS + 1):
        g = grad_fn(p)
        p = p - lr * weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        path.append(p)
    return np.array(path)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0),
])
def test_adamw_matches_reference(kwargs):
    assert_same_path(run_ours(lambda ps: nn.AdamW(ps, **kwargs), P0), ref_adamw(P0, **kwargs))


def test_adamw_differs_from_adam_with_l2():
    ours = run_ours(lambda ps: nn.AdamW(ps, lr=0.01, weight_decay=0.5), P0)
    adam = run_ours(lambda ps: nn.Adam(ps, lr=0.01, weight_decay=0.5), P0)
    assert np.abs(ours - adam).max() > 1e-3


# ---- options: one truth ------------------------------------------------------------------------

def test_lr_reads_and_writes_the_param_groups():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = nn.SGD([a, b], lr=0.1)
    assert opt.lr == 0.1
    opt.lr = 0.5
    assert opt.param_groups[0]["lr"] == 0.5
    opt.param_groups[0]["lr"] = 0.25
    assert opt.lr == 0.25
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_allclose(a.data, [0.75, 0.75])       # the rate in the group is the one used


def test_lr_of_differing_groups_must_be_read_per_group():
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    opt = nn.SGD([{"params": [a]}, {"params": [b], "lr": 0.2}], lr=0.1)
    with pytest.raises(AttributeError, match=r"groups differ \(\[0.1, 0.2\]\).*param_groups\[k\]"):
        _ = opt.lr
    opt.lr = 0.3                                             # sets every group
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.3]


def test_setting_a_dead_attribute_is_an_error():
    opt = nn.Adam([nn.Parameter(np.ones(1))])
    with pytest.raises(AttributeError, match="Adam has no option 'learning_rate'.*lr, betas"):
        opt.learning_rate = 0.01
    with pytest.raises(AttributeError, match="no option 'momentum'"):
        opt.momentum = 0.9
    opt.betas = (0.5, 0.9)
    assert opt.param_groups[0]["betas"] == (0.5, 0.9)


@pytest.mark.parametrize("make", [
    lambda ps: nn.SGD(ps, lr=math.nan),
    lambda ps: nn.SGD(ps, lr=0.1, momentum=math.inf),
    lambda ps: nn.Adam(ps, lr=math.inf),
    lambda ps: nn.Adam(ps, betas=(math.nan, 0.9)),
    lambda ps: nn.AdamW(ps, weight_decay=-math.inf),
    lambda ps: nn.RMSprop(ps, eps=math.nan),
])
def test_non_finite_hyperparameters_are_refused(make):
    with pytest.raises(ValueError, match="must be finite"):
        make([nn.Parameter(np.ones(1))])


def test_non_finite_values_written_later_are_refused():
    p = nn.Parameter(np.ones(1))
    opt = nn.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="SGD: lr must be finite, got nan"):
        opt.lr = math.nan
    assert opt.lr == 0.1                                      # unchanged
    opt.param_groups[0]["lr"] = math.nan                     # bypasses the setter ...
    p.grad = np.ones(1)
    with pytest.raises(ValueError, match="lr must be finite"):
        opt.step()                                           # ... and is caught at the step
    np.testing.assert_array_equal(p.data, [1.0])


def test_adam_state_into_sgd_is_refused_naming_both():
    p = nn.Parameter(np.ones(2))
    adam = nn.Adam([p])
    p.grad = np.ones(2)
    adam.step()
    sgd = nn.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match=r"saved by Adam or AdamW .*not by SGD"):
        sgd.load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match="saved by SGD"):
        nn.RMSprop([p]).load_state_dict(sgd.state_dict())


# ---- frozen parameters -------------------------------------------------------------------------

def test_frozen_parameters_are_skipped():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    model[0].requires_grad_(False)
    frozen = model[0].weight.data.copy()
    opt = nn.SGD(model.parameters(), lr=0.1)
    model[0].weight.grad = np.ones((3, 4), dtype=np.float32)   # a stale gradient from before
    nn.mse_loss(model(np.ones((2, 3))), np.zeros((2, 1))).backward()
    opt.step()
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    assert model[0].bias.grad is None
    assert model[1].weight.grad is not None
    assert model.num_parameters() == 21 and model.num_parameters(trainable_only=True) == 5


# ---- gradient clipping: torch.nn.utils' formulas ----------------------------------------------

grads = hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                   elements=st.floats(-100, 100))


@given(st.lists(grads, min_size=1, max_size=3), st.floats(0.01, 50),
       st.sampled_from([1.0, 2.0, 3.0, math.inf]))
def test_clip_grad_norm_matches_torch_formula(gs, max_norm, norm_type):
    params = [nn.Parameter(np.zeros(g.shape)) for g in gs]
    for p, g in zip(params, gs):
        p.grad = g.copy()
    total = nn.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    flat = np.concatenate([g.ravel() for g in gs])
    if norm_type == math.inf:
        expected = np.abs(flat).max() if flat.size else 0.0
    else:
        expected = np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-12)
    coefficient = min(1.0, max_norm / (expected + 1e-6))
    for p, g in zip(params, gs):
        np.testing.assert_allclose(p.grad, g * coefficient, rtol=1e-9, atol=1e-12)


def test_clip_grad_norm_keeps_dtype_skips_missing_grads_and_checks_nonfinite():
    a, b = nn.Parameter(np.ones(2, dtype=np.float32)), nn.Parameter(np.ones(3))
    a.grad = np.array([3.0, 4.0], dtype=np.float32)
    assert nn.clip_grad_norm_([a, b], 1.0) == pytest.approx(5.0)
    assert a.grad.dtype == np.float32 and b.grad is None
    np.testing.assert_allclose(a.grad, [0.6, 0.8], rtol=1e-5)
    a.grad = np.array([np.inf, 1.0], dtype=np.float32)
    with pytest.raises(RuntimeError, match="total norm of the gradients is inf"):
        nn.clip_grad_norm_(a, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm must be finite"):
        nn.clip_grad_norm_(a, math.nan)


@given(grads, st.floats(0, 20))
def test_clip_grad_value_clamps(g, clip):
    p = nn.Parameter(np.zeros(g.shape))
    p.grad = g.copy()
    nn.clip_grad_value_([p], clip)
    np.testing.assert_array_equal(p.grad, np.minimum(np.maximum(g, -clip), clip))


def test_clip_grad_value_refuses_negative():
    p = Tensor(np.ones(1), requires_grad=True)
    p.grad = np.ones(1)
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        nn.clip_grad_value_(p, -1.0)
