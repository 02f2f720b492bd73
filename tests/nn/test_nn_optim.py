"""Optimizer trajectories against reference implementations of torch.optim's documented
algorithms (written here from the pseudo-code in PyTorch's documentation), plus state and
bookkeeping semantics."""

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor

STEPS = 60


def grad_fn(p):
    """A fixed, mildly nonlinear gradient field: g(p) = A p + sin(p) - c."""
    rng = np.random.default_rng(42)
    A = rng.normal(size=(p.size, p.size)) * 0.3
    A = A @ A.T + np.eye(p.size)
    c = rng.normal(size=p.size)
    return (A @ p.ravel() + np.sin(p.ravel()) - c).reshape(p.shape)


def run_ours(make_optimizer, p0, steps=STEPS):
    p = nn.Parameter(p0.copy())
    opt = make_optimizer([p])
    path = []
    for _ in range(steps):
        p.grad = grad_fn(p.data)
        opt.step()
        path.append(p.data.copy())
    return np.array(path)


# ---- references: the algorithms in torch.optim's documentation -----------------------------------

def ref_sgd(p0, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, b, path = p0.copy(), None, []
    for t in range(1, STEPS + 1):
        g = grad_fn(p)
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            b = g.copy() if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
        path.append(p)
    return np.array(path)


def ref_adam(p0, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    p, m, v, path = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), []
    for t in range(1, STEPS + 1):
        g = grad_fn(p)
        if weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(p)
    return np.array(path)


def ref_rmsprop(p0, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False):
    p, v, b, g_avg, path = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), np.zeros_like(p0), []
    for _ in range(STEPS):
        g = grad_fn(p)
        if weight_decay:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g ** 2
        v_tilde = v
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            v_tilde = v - g_avg ** 2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(v_tilde) + eps)
        path.append(p)
    return np.array(path)


P0 = np.random.default_rng(0).normal(size=(3, 2))


def assert_same_path(ours, ref):
    # equal to float64 round-off: a few ulps, relative to the size of the parameters
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.05),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.5, weight_decay=0.1),
    dict(lr=0.05, weight_decay=0.01, momentum=0.8, nesterov=True),
])
def test_sgd_matches_reference(kwargs):
    assert_same_path(run_ours(lambda ps: nn.SGD(ps, **kwargs), P0), ref_sgd(P0, **kwargs))


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(lr=0.01),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.05),
])
def test_adam_matches_reference(kwargs):
    assert_same_path(run_ours(lambda ps: nn.Adam(ps, **kwargs), P0), ref_adam(P0, **kwargs))


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(lr=0.003, alpha=0.9),
    dict(lr=0.003, momentum=0.9),
    dict(lr=0.003, centered=True),
    dict(lr=0.003, centered=True, momentum=0.5, weight_decay=0.01),
])
def test_rmsprop_matches_reference(kwargs):
    assert_same_path(run_ours(lambda ps: nn.RMSprop(ps, **kwargs), P0),
                     ref_rmsprop(P0, **kwargs))


def test_trajectory_through_backward_matches_reference():
    """The same quadratic loss differentiated by autograd: Adam on a Linear layer."""
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    W0 = rng.normal(size=(3, 2))
    layer = nn.Linear(3, 2, bias=False, dtype=np.float64)
    layer.weight.data[...] = W0
    opt = nn.Adam(layer.parameters(), lr=0.05)
    W, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    for t in range(1, 31):
        opt.zero_grad()
        loss = ((layer(X) - Y) ** 2).sum()
        loss.backward()
        opt.step()
        g = 2 * X.T @ (X @ W - Y)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        W = W - 0.05 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(layer.weight.data, W, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: nn.Adam(ps, lr=0.1),
    lambda ps: nn.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
])
def test_state_dict_round_trip_continues_the_same_trajectory(make):
    full = run_ours(make, P0, steps=20)
    p = nn.Parameter(P0.copy())
    opt = make([p])
    for _ in range(10):
        p.grad = grad_fn(p.data)
        opt.step()
    saved_state, saved_p = opt.state_dict(), p.data.copy()
    # keep stepping, then rewind a fresh optimizer to the saved point
    for _ in range(3):
        p.grad = grad_fn(p.data)
        opt.step()
    q = nn.Parameter(saved_p)
    fresh = make([q])
    fresh.load_state_dict(saved_state)
    for _ in range(10):
        q.grad = grad_fn(q.data)
        fresh.step()
    np.testing.assert_array_equal(q.data, full[-1])


def test_state_dict_is_a_copy():
    p = nn.Parameter(P0.copy())
    opt = nn.Adam([p])
    p.grad = grad_fn(p.data)
    opt.step()
    state = opt.state_dict()
    before = state["state"][0]["exp_avg"].copy()
    p.grad = grad_fn(p.data)
    opt.step()
    np.testing.assert_array_equal(state["state"][0]["exp_avg"], before)
    assert state["state"][0]["step"] == 1
    assert state["param_groups"][0]["lr"] == 1e-3
    assert state["param_groups"][0]["params"] == [0]


def test_load_state_dict_rejects_wrong_shapes_and_counts():
    p = nn.Parameter(np.zeros((2, 2)))
    opt = nn.Adam([p])
    p.grad = np.ones((2, 2))
    opt.step()
    state = opt.state_dict()
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*\(3,\)"):
        nn.Adam([nn.Parameter(np.zeros(3))]).load_state_dict(state)
    with pytest.raises(ValueError, match="1 parameters in the state, 2 here"):
        nn.Adam([nn.Parameter(np.zeros((2, 2))), nn.Parameter(np.zeros(1))]).load_state_dict(state)


def test_step_updates_in_place_and_records_no_graph():
    layer = nn.Linear(3, 2)
    X = np.ones((4, 3), dtype=np.float32)
    for make in (lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9), nn.Adam, nn.RMSprop):
        opt = make(layer.parameters())
        layer(X).sum().backward()
        arrays = [p.data for p in layer.parameters()]
        before = [a.copy() for a in arrays]
        opt.step()
        for p, array, old in zip(layer.parameters(), arrays, before):
            assert p.data is array          # the same buffer, changed in place
            assert p.is_leaf and p.requires_grad and p.dtype == np.float32
            assert not np.array_equal(array, old)
        opt.zero_grad()
        assert all(p.grad is None for p in layer.parameters())
        assert autograd.is_grad_enabled()


def test_parameters_without_grad_are_skipped():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = nn.SGD([a, b], lr=0.5)
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(a.data, [0.5, 0.5])
    np.testing.assert_array_equal(b.data, [1.0, 1.0])


def test_float32_parameters_keep_float32_state():
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    opt = nn.Adam([p], lr=0.1)
    p.grad = np.ones(3, dtype=np.float32)
    opt.step()
    assert p.dtype == np.float32
    assert opt.state[0][0]["exp_avg"].dtype == np.float32


def test_parameter_groups_override_defaults():
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    opt = nn.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = np.ones(1), np.ones(1)
    opt.step()
    np.testing.assert_allclose(a.data, [0.9])
    np.testing.assert_allclose(b.data, [0.5])
    opt.param_groups[0]["lr"] = 1.0  # PyTorch's way of changing the learning rate
    a.grad = np.ones(1)
    opt.step()
    np.testing.assert_allclose(a.data, [-0.1])


def test_closure_is_evaluated_with_grad_enabled():
    p = nn.Parameter(np.array([3.0]))
    opt = nn.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(p.data, [1.5])


def test_bad_arguments_give_clear_errors():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        nn.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        nn.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        nn.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="leaf Tensor, got ndarray"):
        nn.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="leaf Tensor"):
        nn.SGD([Tensor([1.0], requires_grad=True) * 2], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        nn.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="nesterov"):
        nn.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        nn.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="alpha"):
        nn.RMSprop([p], alpha=1.5)
    with pytest.raises(ValueError, match="unknown option"):
        nn.SGD([{"params": [p], "momentun": 0.9}], lr=0.1)


def test_get_optimizer_by_name():
    params = [nn.Parameter(np.ones(2))]
    assert isinstance(nn.optim.get_optimizer("adam", params), nn.Adam)
    sgd = nn.optim.get_optimizer("SGD", params)
    assert isinstance(sgd, nn.SGD) and sgd.param_groups[0]["lr"] == 0.01
    assert isinstance(nn.optim.get_optimizer("rmsprop", params), nn.RMSprop)
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        nn.optim.get_optimizer("adagrad", params)


# ---- the update goes through the Tensor, so stale graphs notice it -------------------------------

@pytest.mark.parametrize("make", [
    lambda ps: nn.SGD(ps, lr=1.0),
    lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    nn.Adam,
    lambda ps: nn.RMSprop(ps, momentum=0.5, centered=True),
])
def test_backward_through_a_graph_older_than_step_raises(make):
    """step() changes the parameter in place; a graph that saved its old value must refuse to
    backpropagate (as torch does) rather than give a gradient of the new value."""
    p = nn.Parameter(np.array([1.0, 2.0]))
    opt = make([p])
    loss = (p * p).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    opt.zero_grad()
    (p * p).sum().backward()                       # a graph recorded after the step is fine
    np.testing.assert_array_equal(p.grad, 2 * p.data)


# ---- optimizer checkpoints through nn.save / nn.load ---------------------------------------------

def _regression_data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(16, 4)), rng.normal(size=(16, 2))


def _train(model, opt, steps, X, Y):
    for _ in range(steps):
        opt.zero_grad()
        ((model(X) - Y) ** 2).mean().backward()
        opt.step()


@pytest.mark.parametrize("make", [
    lambda ps: nn.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: nn.Adam(ps, lr=0.01, betas=(0.8, 0.99)),
    lambda ps: nn.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: nn.Adam([{"params": ps[:1], "lr": 0.02}, {"params": ps[1:]}], lr=0.01),
])
def test_optimizer_checkpoint_resumes_training_exactly(make, tmp_path):
    X, Y = _regression_data()
    nn.manual_seed(0)
    model = nn.Linear(4, 2, dtype=np.float64)
    opt = make(list(model.parameters()))
    _train(model, opt, 5, X, Y)
    nn.save(model, tmp_path / "model.npz")
    nn.save(opt.state_dict(), tmp_path / "opt.npz")
    _train(model, opt, 5, X, Y)                    # the uninterrupted run

    nn.manual_seed(1)
    resumed = nn.Linear(4, 2, dtype=np.float64)
    nn.load(tmp_path / "model.npz", model=resumed)
    resumed_opt = make(list(resumed.parameters()))
    resumed_opt.load_state_dict(nn.load(tmp_path / "opt.npz"))
    assert resumed_opt.param_groups[0].keys() == opt.param_groups[0].keys()
    for saved, restored in zip(opt.param_groups, resumed_opt.param_groups):
        assert {k: v for k, v in saved.items() if k != "params"} == \
               {k: v for k, v in restored.items() if k != "params"}
    _train(resumed, resumed_opt, 5, X, Y)
    for a, b in zip(model.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_optimizer_itself_can_be_saved_and_keeps_int_steps(tmp_path):
    p = nn.Parameter(np.ones((2, 3), dtype=np.float32))
    opt = nn.Adam([p])
    p.grad = np.ones((2, 3), dtype=np.float32)
    opt.step()
    nn.save(opt, tmp_path / "opt.npz")
    state = nn.load(tmp_path / "opt.npz")
    assert state["state"][0]["step"] == 1 and isinstance(state["state"][0]["step"], int)
    assert state["state"][0]["exp_avg"].dtype == np.float32
    assert state["param_groups"][0]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="optimizer's state"):
        nn.load(tmp_path / "opt.npz", model=nn.Linear(3, 2))
