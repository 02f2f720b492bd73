"""check_graph: every recorded primitive's rule checked at the values it saw; the first wrong one named."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn
from autograd import Tensor, primitive
from autograd.graphcheck import GraphcheckError, check_graph
from autograd.testing import broadcastable_shapes, tensors

FAST = settings(max_examples=25, deadline=None)


@primitive(vjp=lambda i, g, out, x: g / (1 + np.exp(-x)))
def softplus(x):
    return np.logaddexp(0, x)


@primitive(vjp=lambda i, g, out, x: g * out)   # wrong: the derivative is sigmoid(x), not softplus(x)
def wrong_softplus(x):
    return np.logaddexp(0, x)


@primitive(vjp=lambda i, g, out, x: 2 * x)    # ignores g: right only when g is all ones
def square_ignoring_g(x):
    return x * x


@primitive(vjp=lambda i, g, out, a, b: g * b if i == 0 else g * a * 1.5)   # input 1 wrong
def wrong_mul(a, b):
    return a * b


def mlp_loss(activation, dtype=np.float64, seed=0):
    gen = np.random.default_rng(seed)
    l1, l2 = nn.Linear(3, 4, dtype=dtype, generator=gen), nn.Linear(4, 2, dtype=dtype, generator=gen)
    X = gen.standard_normal((5, 3)).astype(dtype)
    hidden = activation(l1(X))
    return nn.cross_entropy(l2(hidden), np.array([0, 1, 1, 0, 1]))


# ----------------------------------------------------------------------------- correct rules pass

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", [softplus, lambda h: h.tanh(), lambda h: h.sigmoid() * h,
                                        lambda h: h.relu()], ids=["user", "tanh", "silu", "relu"])
def test_a_model_with_correct_rules_passes(activation, dtype):
    assert check_graph(mlp_loss(activation, dtype)) is True


@FAST
@given(broadcastable_shapes(2, max_side=3).flatmap(
    lambda s: st.tuples(tensors(s[0], np.float64, min_value=-3, max_value=3),
                        tensors(s[1], np.float64, min_value=0.5, max_value=3)))
       .filter(lambda xy: xy[0].ndim >= 1 or xy[1].ndim >= 1))
def test_built_in_compositions_pass_on_drawn_shapes(xy):
    x, y = xy
    z = (x * y).exp() / (1 + y) - (x ** 2).sum(axis=-1, keepdims=True) * y.log()
    z = z.reshape(-1)[::-1].softmax(axis=0) + autograd.maximum(z.reshape(-1), 0.5).mean()
    assert check_graph(z.sum())


def test_kinks_ties_and_domain_edges_are_skipped_not_reported():
    x = Tensor(np.array([-1.0, 0.0, 2.0, 2.0]), requires_grad=True)
    loss = x.relu().sum() + x.max() + x.abs().sum() + autograd.clip(x, 0.0, 2.0).sum()
    assert check_graph(loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert check_graph(Tensor(np.array([0.0, 4.0]), requires_grad=True).sqrt().sum())


def test_a_wrong_rule_is_found_next_to_a_skipped_domain_edge():
    @primitive(vjp=lambda i, g, out, x: g / out)   # wrong: sqrt's derivative is 1 / (2 sqrt(x))
    def bad_sqrt(x):
        return np.sqrt(x)

    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(GraphcheckError, match="bad_sqrt") as info:
        check_graph(bad_sqrt(x).sum())
    assert info.value.input_element == (1,)
    assert info.value.analytical == pytest.approx(2 * info.value.numerical)


# ----------------------------------------------------------------------------- wrong rules are named

def test_a_wrong_rule_is_found_next_to_a_kink():
    @primitive(vjp=lambda i, g, out, x: g * (x > 0) * 1.5)   # relu with a wrong slope
    def bad_relu(x):
        return np.maximum(x, 0)

    x = Tensor(np.array([[0.0, 1.0, -2.0], [3.0, 0.0, 0.5]]), requires_grad=True)
    with pytest.raises(GraphcheckError, match="bad_relu") as info:
        check_graph(bad_relu(x).sum())
    assert "3 of 6 entries wrong" in str(info.value)   # the two elements at the kink are not counted
    assert check_graph(x.relu().relu().max(axis=0).sum())   # ties at 0 after a relu: skipped


def test_a_wrong_user_rule_deep_in_a_model_is_named_with_its_source_line():
    with autograd.detect_anomaly():
        loss = mlp_loss(wrong_softplus)   # the line recorded: mlp_loss's call of activation
    with pytest.raises(GraphcheckError) as info:
        check_graph(loss)
    error, message = info.value, str(info.value)
    assert error.primitive == "wrong_softplus" and error.input_index == 0
    assert message.startswith("check_graph: the rule of wrong_softplus (op 3 of ")
    assert "is wrong for input 0" in message
    filename, lineno, code = error.trace
    assert filename == __file__ and code == "hidden = activation(l1(X))"
    assert f'called at File "{__file__}", line {lineno}: hidden = activation(l1(X))' in message
    # the worst entry's numerical value is the true derivative there: g * sigmoid(x)
    assert error.input_element is not None and len(error.input_element) == 2
    assert "20 of 20 entries wrong; input shapes (5, 4), output shape (5, 4), parameters: none" in message
    assert error.numerical != pytest.approx(error.analytical, rel=1e-3)


def test_without_anomaly_mode_the_message_says_how_to_get_the_line():
    with pytest.raises(GraphcheckError, match=r"detect_anomaly\(\) to see the line") as info:
        check_graph(mlp_loss(wrong_softplus, np.float32))
    assert info.value.trace is None and info.value.primitive == "wrong_softplus"


def test_the_worst_entry_and_its_values_are_exact():
    off = np.zeros((2, 3))
    off[1, 2] = 0.5

    @primitive(vjp=lambda i, g, out, x: g * (2 * x + off))   # wrong at element [1, 2] only
    def square(x):
        return x * x

    x = Tensor(np.arange(6.0).reshape(2, 3) / 4, requires_grad=True)
    with pytest.raises(GraphcheckError) as info:
        check_graph((square(x) * 3.0).sum())
    error = info.value
    assert error.input_element == (1, 2)
    assert error.analytical - error.numerical == pytest.approx(0.5 * (error.numerical / (2 * 1.25)), rel=1e-6)
    assert "1 of 6 entries wrong" in str(error)


def test_a_rule_ignoring_g_and_a_wrong_second_input_are_caught():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    with pytest.raises(GraphcheckError, match="square_ignoring_g .* is wrong for input 0"):
        check_graph(square_ignoring_g(x).sum())   # a scalar loss: the engine's g for it is all ones
    y = Tensor(np.array([1.5, 2.0, -0.5]), requires_grad=True)
    with pytest.raises(GraphcheckError, match="wrong_mul .* is wrong for input 1") as info:
        check_graph(wrong_mul(x, y).exp().sum())
    assert info.value.input_index == 1
    # input 1 that does not require grad is never differentiated, so its rule is not checked
    assert check_graph(wrong_mul(x, Tensor([1.5, 2.0, -0.5])).sum())


def test_every_wrong_primitive_is_listed_the_first_in_forward_order_named():
    x = Tensor(np.array([0.3, -0.2]), requires_grad=True)
    loss = wrong_softplus(square_ignoring_g(x) + 1.0).sum()
    with pytest.raises(GraphcheckError, match="(?s)the rule of square_ignoring_g .*also wrong: wrong_softplus") as info:
        check_graph(loss)
    assert info.value.wrong == [("square_ignoring_g", 0), ("wrong_softplus", 0)]
    assert check_graph(loss, raise_exception=False) is False


def test_rules_that_raise_or_return_a_wrong_shape_are_named():
    @primitive(vjp=lambda i, g, out, x: g[:, :1, None])
    def bad_shape(x):
        return x * 2

    @primitive(vjp=lambda i, g, out, x: 1 / 0)
    def raising(x):
        return x * 2

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(GraphcheckError, match=r"rule of bad_shape returned a gradient of shape \(2, 1, 1\) for input 0 "
                                              r"of shape \(2, 3\)"):
        check_graph(bad_shape(x).sum())
    with pytest.raises(GraphcheckError, match="rule of raising raised ZeroDivisionError for input 0"):
        check_graph(raising(x).sum())


# ----------------------------------------------------------------------------- graph state and arguments

def test_a_released_graph_is_an_error_a_retained_one_is_checked():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = wrong_softplus(x).sum()
    loss.backward(retain_graph=True)
    with pytest.raises(GraphcheckError):
        check_graph(loss)
    loss.backward()
    with pytest.raises(RuntimeError, match="released by backward.*retain_graph=True"):
        check_graph(loss)


def test_the_graph_is_left_as_it_was():
    x = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True)
    w = Tensor(np.array([1.5, -0.5]), requires_grad=True)
    loss = softplus(x @ w).sum() * (x * x).mean()
    before = x.data.copy(), loss.data.copy()
    assert check_graph(loss)
    loss.backward()
    np.testing.assert_array_equal(x.data, before[0])
    expected_x = x.grad.copy()
    x.grad = None
    fresh = softplus(x @ w).sum() * (x * x).mean()
    fresh.backward()
    np.testing.assert_array_equal(x.grad, expected_x)
    np.testing.assert_array_equal(fresh.data, before[1])


def test_an_input_changed_in_place_after_the_forward_is_refused():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * 3.0).sum()
    with autograd.no_grad():
        w *= 2.0
    with pytest.raises(RuntimeError, match=r"input 0 of mul \(shape \(2,\)\) was changed in place after the forward"):
        check_graph(loss)


def test_bad_arguments():
    with pytest.raises(ValueError, match="nothing was recorded"):
        check_graph(Tensor(1.0, requires_grad=True))
    with pytest.raises(ValueError, match="nothing was recorded"):
        check_graph(Tensor([1.0, 2.0]) * 2)
    with pytest.raises(TypeError, match="pass the recorded Tensors"):
        check_graph(np.ones(2))
    with pytest.raises(ValueError, match="eps > 0"):
        check_graph(Tensor(1.0, requires_grad=True) * 2, eps=0)
