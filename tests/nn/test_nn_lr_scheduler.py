"""Learning-rate schedules against torch.optim.lr_scheduler's documented formulas (written out
here independently: recursive forms where torch documents them, piecewise ones for 1cycle)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from nn import lr_scheduler as sched


def sgd(lr=0.1, momentum=0.9, groups=1):
    params = [nn.Parameter(np.ones(2)) for _ in range(groups)]
    return nn.SGD([{"params": [p]} for p in params], lr=lr, momentum=momentum)


def run(scheduler, steps):
    """The lr of group 0 before each of ``steps`` steps (index t = after t scheduler steps)."""
    lrs = []
    for _ in range(steps):
        lrs.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.step()
    return lrs


@given(st.integers(1, 7), st.floats(0.05, 0.99), st.floats(1e-4, 1.0))
def test_step_lr(step_size, gamma, lr):
    s = sched.StepLR(sgd(lr), step_size=step_size, gamma=gamma)
    expected, value = [], lr
    for t in range(25):                          # torch: multiply by gamma every step_size epochs
        if t > 0 and t % step_size == 0:
            value *= gamma
        expected.append(value)
    np.testing.assert_allclose(run(s, 25), expected, rtol=1e-12)


@given(st.lists(st.integers(1, 30), min_size=1, max_size=4), st.floats(0.05, 0.99))
def test_multistep_lr(milestones, gamma):
    s = sched.MultiStepLR(sgd(0.5), milestones=milestones, gamma=gamma)
    expected, value = [], 0.5
    for t in range(35):                          # one multiplication per milestone reached
        value *= gamma ** milestones.count(t)
        expected.append(value)
    np.testing.assert_allclose(run(s, 35), expected, rtol=1e-12)


@given(st.floats(0.5, 1.0))
def test_exponential_lr(gamma):
    s = sched.ExponentialLR(sgd(0.3), gamma=gamma)
    expected, value = [], 0.3
    for _ in range(20):
        expected.append(value)
        value *= gamma
    np.testing.assert_allclose(run(s, 20), expected, rtol=1e-12)


@given(st.integers(1, 12), st.floats(0.0, 0.05))
def test_cosine_annealing_matches_torch_recursive_form(T_max, eta_min):
    s = sched.CosineAnnealingLR(sgd(0.1), T_max=T_max, eta_min=eta_min)
    # torch's documented recursion (with its restart case when (t - 1 - T_max) % (2 T_max) == 0)
    expected, lr = [0.1], 0.1
    for t in range(1, 3 * T_max + 2):
        if (t - 1 - T_max) % (2 * T_max) == 0:
            lr = lr + (0.1 - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
        else:
            lr = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / (
                1 + math.cos(math.pi * (t - 1) / T_max))
        expected.append(lr)
    np.testing.assert_allclose(run(s, len(expected)), expected, rtol=1e-9, atol=1e-12)


def ref_one_cycle(t, total, max_lr, pct, div, final_div, three_phase, strategy):
    """(lr, momentum) at step t, from the 1cycle paper's phases as torch documents them."""
    def anneal(a, b, f):
        return b + (a - b) / 2 * (math.cos(math.pi * f) + 1) if strategy == "cos" else a + (b - a) * f
    initial, low = max_lr / div, max_lr / div / final_div
    up_end = pct * total - 1
    if three_phase:
        if t <= up_end:
            return anneal(initial, max_lr, t / up_end), anneal(0.95, 0.85, t / up_end)
        down_end = 2 * pct * total - 2
        if t <= down_end:
            f = (t - up_end) / (down_end - up_end)
            return anneal(max_lr, initial, f), anneal(0.85, 0.95, f)
        f = (t - down_end) / (total - 1 - down_end)
        return anneal(initial, low, f), 0.95
    if t <= up_end:
        return anneal(initial, max_lr, t / up_end), anneal(0.95, 0.85, t / up_end)
    f = (t - up_end) / (total - 1 - up_end)
    return anneal(max_lr, low, f), anneal(0.85, 0.95, f)


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("total, pct", [(100, 0.3), (37, 0.25), (10, 0.5)])
def test_one_cycle_lr_and_momentum(three_phase, strategy, total, pct):
    opt = sgd(0.123)
    s = sched.OneCycleLR(opt, max_lr=0.2, total_steps=total, pct_start=pct, div_factor=20.0,
                         final_div_factor=100.0, three_phase=three_phase, anneal_strategy=strategy)
    for t in range(total):
        if t:
            s.step()
        lr, momentum = ref_one_cycle(t, total, 0.2, pct, 20.0, 100.0, three_phase, strategy)
        assert opt.param_groups[0]["lr"] == pytest.approx(lr, rel=1e-12)
        assert opt.param_groups[0]["momentum"] == pytest.approx(momentum, rel=1e-12)
    s.step()                                           # step total_steps is allowed, as in torch
    with pytest.raises(ValueError, match="past total_steps"):
        s.step()


def test_one_cycle_cycles_adams_beta1_and_takes_epochs():
    opt = nn.Adam([nn.Parameter(np.ones(1))], betas=(0.9, 0.98))
    s = sched.OneCycleLR(opt, max_lr=0.01, epochs=4, steps_per_epoch=5)
    assert s.total_steps == 20 and opt.param_groups[0]["betas"] == (0.95, 0.98)
    s.step()
    expected = ref_one_cycle(1, 20, 0.01, 0.3, 25.0, 1e4, False, "cos")
    assert opt.param_groups[0]["lr"] == pytest.approx(expected[0])
    assert opt.param_groups[0]["betas"][0] == pytest.approx(expected[1])
    with pytest.raises(ValueError, match="total_steps, or epochs and steps_per_epoch"):
        sched.OneCycleLR(opt, max_lr=0.01)


def test_reduce_lr_on_plateau_torch_rule():
    opt = sgd(1.0)
    s = sched.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    # an improvement, then a plateau: patience 2 means the 3rd bad epoch reduces; then one
    # cooldown epoch in which bad epochs are not counted
    metrics = [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1]
    seen = []
    for m in metrics:
        s.step(m)
        seen.append(opt.param_groups[0]["lr"])
    # epochs 3-5 bad: reduce at 5; 6 in cooldown; 7-9 bad: reduce at 9; 10 cooldown; 11-13 bad:
    # reduce at 13 to max(0.125, min_lr)
    assert seen == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]
    for _ in range(20):
        s.step(1.0)
    assert s.get_last_lr() == [0.2]                   # floored at min_lr


def test_reduce_lr_on_plateau_threshold_modes():
    opt = sgd(1.0)
    s = sched.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.1, threshold_mode="abs")
    s.step(1.0)
    s.step(1.05)                                       # not above best + 0.1: a bad epoch
    assert opt.lr == pytest.approx(0.1)
    s = sched.ReduceLROnPlateau(sgd(1.0), mode="min", patience=0, threshold=0.1)
    s.step(1.0)
    s.step(0.95)                                       # not below best * (1 - 0.1)
    assert s.get_last_lr() == [pytest.approx(0.1)]


def test_schedulers_write_every_group_and_report_last_lr():
    opt = sgd(0.1, groups=2)
    opt.param_groups[1]["lr"] = 1.0
    s = sched.StepLR(opt, step_size=1, gamma=0.5)
    s.step()
    assert s.get_last_lr() == [0.05, 0.5]
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.5]
    state = s.state_dict()
    s.step()
    s.load_state_dict(state)
    assert s.last_epoch == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        sched.StepLR(sgd(), step_size=0)
    with pytest.raises(ValueError, match="gamma must be finite"):
        sched.ExponentialLR(sgd(), gamma=math.nan)
    with pytest.raises(TypeError, match="expected an nn.Optimizer"):
        sched.StepLR("sgd", step_size=1)
    with pytest.raises(ValueError, match="factor must be in"):
        sched.ReduceLROnPlateau(sgd(), factor=1.5)
