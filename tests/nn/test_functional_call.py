"""nn.functional_call: a module run with given tensors in place of its parameters (and buffers)."""
import numpy as np
import pytest

import nn
from autograd import Tensor, gradcheck
from autograd.func import grad


def mlp(seed=0, dtype=np.float64):
    gen = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 4, dtype=dtype, generator=gen), nn.Tanh(),
                         nn.Linear(4, 2, dtype=dtype, generator=gen))


def data(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 3)), rng.standard_normal((5, 2))


def fresh_params(model, scale=1.0, seed=2):
    rng = np.random.default_rng(seed)
    return {name: Tensor(scale * rng.standard_normal(p.shape), requires_grad=True)
            for name, p in model.named_parameters()}


def test_output_is_the_module_run_with_the_given_values():
    model, twin = mlp(0), mlp(5)
    X, _ = data()
    params = fresh_params(model)
    twin.load_state_dict({name: value.data for name, value in params.items()})
    out = nn.functional_call(model, params, X)
    np.testing.assert_allclose(out.data, twin(X).data, rtol=1e-12)
    assert not np.allclose(out.data, model(X).data)


def test_gradients_flow_to_the_given_tensors_not_to_the_parameters():
    model = mlp()
    X, y = data()
    params = fresh_params(model)
    nn.mse_loss(nn.functional_call(model, params, X), y).backward()
    assert all(p.grad is None for p in model.parameters())
    twin = mlp(7)
    twin.load_state_dict({name: value.data for name, value in params.items()})
    nn.mse_loss(twin(X), y).backward()
    for (name, p), value in zip(twin.named_parameters(), params.values()):
        np.testing.assert_allclose(value.grad, p.grad, rtol=1e-12, err_msg=name)


def test_gradcheck_of_a_float64_mlp_loss_with_respect_to_its_weights():
    model = mlp()
    X, y = data()
    names = [name for name, _ in model.named_parameters()]
    weights = tuple(Tensor(p.data.copy(), requires_grad=True) for p in model.parameters())

    def loss(*ws):
        return nn.mse_loss(nn.functional_call(model, dict(zip(names, ws)), X), y)

    assert gradcheck(loss, weights)
    grads = grad(loss, argnums=tuple(range(len(weights))))(*weights)
    nn.mse_loss(model(X), y).backward()
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g.data, p.grad, rtol=1e-12)


def test_partial_dict_keeps_the_other_parameters_and_accepts_arrays():
    model = mlp()
    X, _ = data()
    zero_bias = {"2.bias": np.zeros(2)}
    out = nn.functional_call(model, zero_bias, X)
    expected = model[1](model[0](X)) @ model[2].weight
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-12)


def test_parameters_are_restored_afterwards_and_after_an_error():
    model = mlp()
    before = list(model.named_parameters())
    params = fresh_params(model)
    nn.functional_call(model, params, data()[0])
    assert list(model.named_parameters()) == before
    with pytest.raises(ValueError, match="last dimension must be 3"):
        nn.functional_call(model, params, np.ones((2, 7)))
    after = list(model.named_parameters())
    assert [n for n, _ in after] == [n for n, _ in before]
    assert all(p is q and p.name == n for (n, p), (_, q) in zip(after, before))


class Tied(nn.Module):
    def __init__(self):
        self.encode = nn.Linear(2, 2, bias=False, dtype=np.float64)
        self.decode = nn.Linear(2, 2, bias=False, dtype=np.float64)
        self.decode.weight = self.encode.weight        # one parameter in two places
        self.extra = [nn.Parameter(np.ones(2))]        # a parameter inside a list

    def forward(self, x):
        return self.decode(self.encode(x)) * self.extra[0]


def test_tied_weights_and_parameters_in_lists_are_replaced_everywhere():
    model = Tied()
    assert [name for name, _ in model.named_parameters()] == ["encode.weight", "extra.0"]
    w = Tensor(np.array([[2.0, 0.0], [0.0, 3.0]]), requires_grad=True)
    out = nn.functional_call(model, {"encode.weight": w, "extra.0": np.array([1.0, -1.0])}, np.ones((1, 2)))
    np.testing.assert_allclose(out.data, [[4.0, -9.0]])
    out.sum().backward()
    # both uses of w contribute: x^T (e W^T) from the encoder plus (x W)^T e from the decoder
    np.testing.assert_allclose(w.grad, [[4.0, -5.0], [5.0, -6.0]])
    assert model.decode.weight is model.encode.weight and isinstance(model.extra[0], nn.Parameter)


def test_tied_weight_gradient_sums_both_uses():
    model = Tied()
    x = np.array([[1.0, 2.0]])
    w0 = model.encode.weight.data.copy()

    def f(w):
        return nn.functional_call(model, {"encode.weight": w}, x).sum()

    g = grad(f)(w0)
    eps, numeric = 1e-6, np.zeros_like(w0)
    for i in np.ndindex(w0.shape):
        plus, minus = w0.copy(), w0.copy()
        plus[i] += eps
        minus[i] -= eps
        numeric[i] = (f(plus).item() - f(minus).item()) / (2 * eps)
    np.testing.assert_allclose(g.data, numeric, rtol=1e-6, atol=1e-8)


class Scaled(nn.Module):
    def __init__(self):
        self.linear = nn.Linear(2, 1, dtype=np.float64)
        self.register_buffer("scale", np.array(2.0))

    def forward(self, x):
        self.scale = self.scale * 1.0          # a forward may reassign its buffer
        return self.linear(x) * self.scale


def test_buffers_can_be_replaced_and_are_restored():
    model = Scaled()
    x = np.ones((1, 2))
    base = model(x).data
    own = model.scale
    np.testing.assert_allclose(nn.functional_call(model, {"scale": np.array(6.0)}, x).data, 3 * base)
    s = Tensor(4.0, requires_grad=True)
    nn.functional_call(model, {"scale": s}, x).sum().backward()
    np.testing.assert_allclose(s.grad, base.sum() / 2)
    assert model.scale is own and own == 2.0


def test_bad_arguments_are_clear_errors_and_change_nothing():
    model = mlp()
    before = list(model.parameters())
    with pytest.raises(ValueError, match=r"no parameter or buffer '0\.wieght'; it has: 0\.weight, 0\.bias"):
        nn.functional_call(model, {"0.wieght": np.zeros((3, 4))}, np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"'0\.bias' must have the shape \(4,\) it has in the module, got \(3,\)"):
        nn.functional_call(model, {"0.weight": np.zeros((3, 4)), "0.bias": np.zeros(3)}, np.ones((1, 3)))
    with pytest.raises(TypeError, match="expected an nn.Module"):
        nn.functional_call(lambda x: x, {}, 1.0)
    with pytest.raises(TypeError, match="params must be a dict"):
        nn.functional_call(model, [np.zeros((3, 4))], np.ones((1, 3)))
    assert all(p is q for p, q in zip(model.parameters(), before))
