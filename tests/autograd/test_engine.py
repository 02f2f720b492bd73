"""Backpropagation semantics (issue 2, section 4): accumulation, shared use, constants, errors,
retain_graph, deep graphs, ``grad()``, higher order, grad mode, in-place changes, no aliasing."""
import gc
import re
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd import Tensor
from autograd.testing import arrays_like, broadcastable_shapes, tensors


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------- backward()

def test_backward_accumulates_until_grad_is_set_to_none():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 6.0])
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, -1.0, 9.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0, 3.0])


def test_grad_has_the_shape_and_dtype_of_its_tensor():
    x = leaf(np.ones((2, 3)), np.float32)
    b = leaf(np.ones(3), np.float32)
    (x * b + 1.0).sum().backward()
    assert x.grad.shape == (2, 3) and x.grad.dtype == np.float32
    assert b.grad.shape == (3,) and b.grad.dtype == np.float32
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])  # summed over the broadcast rows
    assert type(x.grad) is np.ndarray


def test_tensor_used_several_times_gets_the_sum():
    x = leaf([2.0, 3.0])
    y = x * x + x  # x feeds mul twice and add once
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])
    # a diamond: h feeds both branches, which meet again
    x.grad = None
    h = x.exp()
    (h.sin() * h.cos() + h).sum().backward()
    e = np.exp(x.data)
    np.testing.assert_allclose(x.grad, (np.cos(2 * e) + 1) * e, rtol=1e-12)


def test_constants_get_no_grad_and_record_nothing():
    x = leaf([1.0, 2.0])
    c = Tensor([3.0, 4.0])
    k = c * 2.0 + 1.0  # only constants: nothing is recorded
    assert not k.requires_grad and k.is_leaf and k._inputs is None
    y = (x * c + k).sum()
    y.backward()
    assert c.grad is None and k.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    # a constant branch is never visited: its VJP would fail on the wrong gradient shape
    assert ag.grad((x * c).sum(), x)[0].shape == (2,)


def test_backward_of_a_leaf_and_of_a_scalar_of_size_one():
    x = leaf(5.0)
    x.backward()
    assert x.grad == 1.0 and x.grad.shape == ()
    y = leaf([[2.0]])
    (y * 3.0).backward()  # one element: no gradient needed
    np.testing.assert_array_equal(y.grad, [[3.0]])


def test_non_scalar_backward_needs_a_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"shape \(2,\), not a scalar.*gradient"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0])


def test_backward_on_a_tensor_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()
    x = leaf([1.0])
    with ag.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_released_graph_error_names_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    # the saved values are really gone: the intermediate no longer holds its inputs
    z = x.exp()
    w = z.sum()
    w.backward()
    assert z._inputs is None and w._inputs is None


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 12.0])


def test_two_outputs_sharing_a_subgraph():
    x = leaf([1.0, 2.0])
    h = x * x
    a, b = h.sum(), (h * 3.0).sum()
    a.backward(retain_graph=True)
    b.backward()
    np.testing.assert_array_equal(x.grad, [8.0, 16.0])


def test_gradient_argument_is_validated():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"):
        y.backward(np.ones(3))
    with pytest.raises(TypeError, match="numeric"):
        y.backward(np.array(["a", "b"]))


def test_a_dot_grad_of_the_wrong_shape_or_dtype_is_refused_when_assigned():
    w = leaf([1.0, 2.0])
    for bad in (np.zeros(3), np.zeros(1), np.zeros((2, 1))):  # a raw broadcast error, or a silent broadcast
        with pytest.raises(ValueError, match=r"grad: a gradient of shape " + re.escape(str(bad.shape))
                           + r" cannot be assigned to a tensor of shape \(2,\)"):
            w.grad = bad
        assert w.grad is None
    with pytest.raises(TypeError, match=r"grad: a gradient must be numeric, not <U1"):
        w.grad = np.array(["a", "b"])
    w.grad = [1.0, 1.0]  # array-like: becomes an array of the tensor's dtype
    (w * 2.0).sum().backward()
    assert type(w.grad) is np.ndarray and w.grad.dtype == np.float64
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])
    w.grad = Tensor([0.5, 0.5])  # a Tensor: its values
    assert type(w.grad) is np.ndarray
    # the result keeps the tensor's dtype (a float64 .grad set by hand on a float32 tensor)
    w32 = leaf([1.0, 2.0], np.float32)
    w32.grad = np.ones(2)
    (w32 * 2.0).sum().backward()
    assert w32.grad.dtype == np.float32
    np.testing.assert_array_equal(w32.grad, [3.0, 3.0])
    # so does a retained intermediate's
    h = w32 * 1.0
    h.retain_grad()
    with pytest.raises(ValueError, match=r"grad: a gradient of shape \(3,\) cannot be assigned"):
        h.grad = np.zeros(3)


def test_million_op_chain_backpropagates_without_recursion():
    n = 1_000_000
    x = leaf(1.5)
    y = x
    start = time.perf_counter()
    for _ in range(n):
        y = -y  # the cheapest primitive: the test is about the walk, not the arithmetic
    y.backward(retain_graph=True)
    elapsed = time.perf_counter() - start
    assert x.grad == 1.0  # (-1) ** 1_000_000
    assert elapsed < 60  # ~3 s here; a recursive walk would not finish at all
    del y  # freeing an intact million-node chain must not overflow the C stack either
    gc.collect()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_graph_many_leaves(dtype):
    xs = [leaf([float(i)], dtype) for i in range(1000)]
    total = xs[0]
    for i, x in enumerate(xs[1:], 1):
        total = total + x * float(i)
    total.sum().backward()
    for i, x in enumerate(xs):
        assert x.grad.dtype == dtype
        assert x.grad[0] == max(i, 1)


def test_graphs_hold_no_reference_cycles():
    # freed by reference counting alone, so Python's cyclic collector never has to walk them
    gc.collect()
    gc.disable()
    try:
        x, w = leaf(np.ones((3, 4))), leaf(np.ones((4, 2)))
        for retain in (False, True):
            h = (x @ w).tanh()
            y = ag.log_softmax(h)[[0, 0, 1]].sum() + ag.logsumexp(h.max(0) * h.min(), 0)
            (g,) = ag.grad(y, x, create_graph=True)
            (g * g).sum().backward(retain_graph=retain)
            del h, y, g
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_backward_is_deterministic():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((50, 8)).astype(np.float32), requires_grad=True)

    def run():
        x.grad = None
        parts = [(x[i::7] * float(i)).tanh().sum() for i in range(7)]
        total = parts[0]
        for p in parts[1:]:
            total = total + p * x.sum()
        total.backward()
        return x.grad.copy()

    first = run()
    for _ in range(3):
        np.testing.assert_array_equal(run(), first)


# ----------------------------------------------------------------------------- no aliasing

def test_grads_never_alias_between_leaves_or_with_the_users_gradient():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = np.array([1.0, 1.0])
    (a + b).backward(g)  # both leaves receive the same upstream gradient
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(a.grad, g) and not np.shares_memory(b.grad, g)
    a.grad[0] = 100.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(g, [1.0, 1.0])
    # a leaf as the root, and views (reshape, broadcast) on the way
    c = leaf([5.0, 6.0])
    c.backward(g)
    assert not np.shares_memory(c.grad, g)
    d = leaf([[1.0, 2.0]])
    d.reshape(2).backward(g)
    assert not np.shares_memory(d.grad, g) and d.grad.flags.writeable and d.grad.flags.owndata
    e = leaf(1.0)
    e.broadcast_to((3,)).backward(np.ones(3))
    assert e.grad.flags.writeable


def test_grad_results_never_alias():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = np.array([1.0, 1.0])
    ga, gb, ga2 = ag.grad(a + b, [a, b, a], g)
    arrays = [ga.data, gb.data, ga2.data, g]
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            assert not np.shares_memory(arrays[i], arrays[j])


@st.composite
def two_broadcastable_tensors_and_upstream_gradient(draw):
    sx, sy = draw(broadcastable_shapes(2))
    x, y = draw(tensors(sx)), draw(tensors(sy))
    return x, y, draw(arrays_like(np.empty(np.broadcast_shapes(sx, sy), np.result_type(x.dtype, y.dtype))))


@given(two_broadcastable_tensors_and_upstream_gradient())
def test_backward_leaves_inputs_and_upstream_gradient_untouched(args):
    x, y, g = args
    x_before, y_before, g_before = x.data.copy(), y.data.copy(), g.copy()
    out = x * y + x
    out.backward(g)
    np.testing.assert_array_equal(x.data, x_before)
    np.testing.assert_array_equal(y.data, y_before)
    np.testing.assert_array_equal(g, g_before)
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype
    assert y.grad.shape == y.shape and y.grad.dtype == y.dtype
    x64, y64 = x_before.astype(np.float64), y_before.astype(np.float64)
    tol = dict(rtol=1e-4, atol=1e-4 * (1 + np.abs(g).max()) * out.size)
    np.testing.assert_allclose(x.grad, sum_to(g * (y64 + 1), x.shape), **tol)
    np.testing.assert_allclose(y.grad, sum_to(g * x64, y.shape), **tol)


def sum_to(array, shape):
    """Reference unbroadcast: sum the leading and the stretched dimensions."""
    array = np.asarray(array)
    array = array.sum(axis=tuple(range(array.ndim - len(shape))))
    return array.sum(axis=tuple(d for d, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


# ----------------------------------------------------------------------------- grad()

def test_grad_returns_tensors_and_leaves_dot_grad_alone():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    out = (x * y).sum()
    gx, gy = ag.grad(out, [x, y])
    assert isinstance(gx, Tensor) and isinstance(gy, Tensor)
    np.testing.assert_array_equal(gx.data, [3.0, 4.0])
    np.testing.assert_array_equal(gy.data, [1.0, 2.0])
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad  # create_graph=False: plain values


def test_grad_single_input_and_several_outputs():
    x = leaf([1.0, 2.0])
    (g,) = ag.grad((x * x).sum(), x)
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    a, b = x * 2.0, x * x
    (g,) = ag.grad([a, b], x, grad_outputs=[np.ones(2), np.array([1.0, 10.0])])
    np.testing.assert_array_equal(g.data, [2.0 + 2.0, 2.0 + 40.0])


def test_grad_with_respect_to_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    out = (h * h).sum()
    gh, gx = ag.grad(out, [h, x])
    np.testing.assert_array_equal(gh.data, [6.0, 12.0])
    np.testing.assert_array_equal(gx.data, [18.0, 36.0])


def test_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    out = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        ag.grad(out, [x, unused], retain_graph=True)
    gx, gu = ag.grad(out, [x, unused], allow_unused=True)
    np.testing.assert_array_equal(gx.data, [2.0])
    assert gu is None


def test_grad_releases_the_graph_unless_retained():
    x = leaf([1.0, 2.0])
    out = (x * x).sum()
    ag.grad(out, x, retain_graph=True)
    ag.grad(out, x)
    with pytest.raises(RuntimeError, match="retain_graph"):
        ag.grad(out, x)


def test_grad_rejects_inputs_that_do_not_require_grad():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.grad((x * 2).sum(), Tensor([1.0]))


def test_second_derivative():
    x = leaf([0.5, -1.0, 2.0])
    (g,) = ag.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and not g.is_leaf
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    (h,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)
    assert x.grad is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hessian_vector_product_matches_analytic(dtype):
    rng = np.random.default_rng(1)
    n = 5
    A = rng.standard_normal((n, n)).astype(dtype)
    x = Tensor(rng.standard_normal(n).astype(dtype), requires_grad=True)
    v = rng.standard_normal(n).astype(dtype)

    def f(x):  # 0.5 x^T A x + sum(x^3)/3 - sum(cos x)
        return 0.5 * (x @ (A @ x)) + (x ** 3).sum() / 3 - x.cos().sum()

    (g,) = ag.grad(f(x), x, create_graph=True)
    xd = x.data.astype(np.float64)
    A64 = A.astype(np.float64)
    np.testing.assert_allclose(g.data, 0.5 * (A64 + A64.T) @ xd + xd ** 2 + np.sin(xd), rtol=1e-5, atol=1e-5)
    (hv,) = ag.grad((g * v).sum(), x)
    hessian = 0.5 * (A64 + A64.T) + np.diag(2 * xd + np.cos(xd))
    assert hv.dtype == dtype
    np.testing.assert_allclose(hv.data, hessian @ v, rtol=1e-5, atol=1e-5)


def test_third_order():
    x = leaf([0.7])
    (g1,) = ag.grad(x.sin().sum(), x, create_graph=True)
    (g2,) = ag.grad(g1.sum(), x, create_graph=True)
    (g3,) = ag.grad(g2.sum(), x)
    np.testing.assert_allclose([g1.item(), g2.item(), g3.item()], [np.cos(0.7), -np.sin(0.7), -np.cos(0.7)])


def test_create_graph_backward_accumulates_graph_free_grad():
    # backward() after a create_graph gradient: the gradient tensor is differentiable itself
    x = leaf([1.0, 2.0])
    (g,) = ag.grad((x * x * x).sum(), x, create_graph=True)
    (g * g).sum().backward()  # d/dx sum((3x^2)^2) = 36 x^3
    np.testing.assert_allclose(x.grad, 36 * x.data ** 3)


def test_retain_grad_on_an_intermediate():
    x = leaf([1.0, 2.0])
    h = (x * 2.0).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad, [4.0, 8.0])
    np.testing.assert_array_equal(x.grad, [8.0, 16.0])


# ----------------------------------------------------------------------------- grad mode

def test_no_grad_context_manager():
    x = leaf([1.0])
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = x * 2.0
    assert ag.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    np.testing.assert_array_equal(y.data, [2.0])


def test_no_grad_decorator():
    @ag.no_grad()
    def double(t):
        assert not ag.is_grad_enabled()
        return t * 2.0

    x = leaf([1.0])
    y = double(x)
    assert not y.requires_grad
    assert ag.is_grad_enabled()
    assert double.__name__ == "double"  # functools.wraps


def test_grad_mode_decorators_work_without_parentheses():
    @ag.no_grad
    def double(t):
        return t * 2.0

    @ag.enable_grad
    def triple(t):
        return t * 3.0

    x = leaf([1.0])
    assert not double(x).requires_grad and double.__name__ == "double"
    with ag.no_grad():
        assert triple(x).requires_grad and triple.__name__ == "triple"
    assert ag.is_grad_enabled()
    with pytest.raises(TypeError, match="no_grad"):
        ag.no_grad(3)


def test_grad_mode_nests_and_enable_grad_reenables():
    x = leaf([1.0])
    ng = ag.no_grad()
    with ng:
        with ag.enable_grad():
            assert ag.is_grad_enabled()
            recorded = x * 2.0
            with ng:  # the same instance re-entered
                assert not ag.is_grad_enabled()
            assert ag.is_grad_enabled()
        assert not ag.is_grad_enabled()
        plain = x * 2.0
    assert ag.is_grad_enabled()
    assert recorded.requires_grad and not plain.requires_grad

    @ag.enable_grad()
    def inner(t):
        return t * 3.0

    with ag.no_grad():
        assert inner(x).requires_grad


def test_grad_mode_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError), ag.no_grad():
        _ = 1 / 0
    assert ag.is_grad_enabled()

    @ag.no_grad()
    def boom():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        boom()
    assert ag.is_grad_enabled()


# ----------------------------------------------------------------------------- in-place changes

def test_inplace_under_no_grad_updates_the_same_leaf():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    obj, data = w, w.data
    with ag.no_grad():
        w -= 0.1 * w.grad
        w *= 2.0
        w += Tensor([1.0, 1.0])
        w /= 2.0
    assert w is obj and w.data is data
    np.testing.assert_allclose(w.data, [(0.8 * 2 + 1) / 2, (1.6 * 2 + 1) / 2])
    assert w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])
    w.grad = None
    (w * 1.0).sum().backward()  # still a working leaf
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


def test_inplace_on_constant_is_in_place_and_recorded_inplace_is_not():
    c = Tensor([1.0, 2.0])
    obj, data = c, c.data
    c += 1.0
    assert c is obj and c.data is data
    np.testing.assert_array_equal(c.data, [2.0, 3.0])
    w = leaf([1.0, 2.0])
    h = w * 1.0
    original = h
    h += 1.0  # recording: a new tensor, the intermediate is untouched
    assert h is not original and not h.is_leaf
    np.testing.assert_array_equal(original.data, [1.0, 2.0])
    h.sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


@pytest.mark.parametrize("update", ["+=", "-=", "*=", "/=", "**="])
def test_inplace_on_a_leaf_that_requires_grad_while_recording_is_an_error(update):
    # a silent new tensor would leave the parameter itself unchanged: `p -= lr * g` would not train
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=re.escape(update) + r" on a leaf tensor that requires grad.*no_grad"):
        exec(f"w {update} 2.0", {}, {"w": w})
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    with ag.no_grad():
        exec(f"w {update} 2.0", {}, {"w": w})
    assert w.is_leaf and not np.array_equal(w.data, [1.0, 2.0])


def test_matmul_update_of_a_leaf_that_requires_grad_while_recording_is_an_error():
    w = leaf(np.eye(2))
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match=r"@= on a leaf tensor that requires grad.*no_grad"):
        w @= m
    assert w.is_leaf
    np.testing.assert_array_equal(w.data, np.eye(2))
    # otherwise out of place (it may change the shape): a new tensor, recorded when it should be
    h = w * 1.0
    h_before = h
    h @= m
    assert h is not h_before and not h.is_leaf
    h.sum().backward()
    np.testing.assert_array_equal(w.grad, np.ones((2, 2)) @ m.T)
    # with nothing recorded, in place (as NumPy's a @= b): the same leaf object, version bumped
    c = Tensor(np.ones((2, 3)))
    c_before, data_before = c, c.data
    c @= np.full((3, 3), 2.0)
    assert c is c_before and c.data is data_before
    np.testing.assert_array_equal(c.data, np.full((2, 3), 6.0))
    with pytest.raises(ValueError, match=r"@=: the product has shape \(2, 1\), not this tensor's shape \(2, 3\)"):
        c @= np.ones((3, 1))
    with ag.no_grad():
        w @= m
    assert w.is_leaf
    np.testing.assert_array_equal(w.data, m)


@pytest.mark.parametrize("fn, const", [
    (lambda x, c: x[c], np.array([0, 0, 2])),
    (lambda x, c: x[c], np.array([True, False, True])),
    (lambda x, c: x[None, c], np.array([0, 0])),
    (lambda x, c: ag.where(c, x, 0.0), np.array([True, False, True])),
    (lambda x, c: x * c, np.array([1.0, 2.0, 3.0])),
    (lambda x, c: x / c, np.array([1.0, 2.0, 4.0])),
    (lambda x, c: x ** c, np.array([1.0, 2.0, 3.0])),
    (lambda x, c: c ** x, np.array([1.0, 2.0, 3.0])),
    (lambda x, c: c @ x, np.ones((2, 3))),
    (lambda x, c: ag.maximum(x, c), np.array([1.5, 1.5, 1.5])),
    (lambda x, c: ag.minimum(c, x), np.array([1.5, 1.5, 1.5])),
    (lambda x, c: x.clip(c, 2.5), np.array([0.5, 2.5, 0.0])),
], ids=["int-index", "mask", "index-tuple", "where", "mul", "div", "pow", "rpow", "matmul", "maximum",
        "minimum", "clip"])
def test_an_array_changed_after_the_forward_does_not_change_the_gradient(fn, const):
    # index arrays, conditions and ndarray operands that a rule reads are copied when recorded
    x = leaf([1.0, 2.0, 3.0])
    (expected,) = ag.grad(fn(x, const.copy()).sum(), x)
    y = fn(x, const).sum()
    if const.dtype == bool:
        np.logical_not(const, out=const)
    elif const.dtype.kind == "i":
        const[...] = 1
    else:
        const *= 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad, expected.data)


def test_inplace_change_of_a_saved_input_is_an_error():
    w = leaf([1.0, 2.0])
    u = Tensor([3.0, 4.0], name="u")
    y = (w * u).sum()  # mul saves u for w's gradient
    u += 1.0
    with pytest.raises(RuntimeError, match=r"input 1 'u' of mul .* changed in place"):
        y.backward()


def test_inplace_change_of_a_saved_output_is_an_error():
    x = leaf([1.0, 2.0])
    e = x.exp()  # exp saves its output
    y = e.sum()
    with ag.no_grad():
        e += 1.0
    with pytest.raises(RuntimeError, match="output of exp .* changed in place"):
        y.backward()


def test_inplace_change_by_item_assignment_is_detected():
    w = leaf([1.0, 2.0])
    y = (w * w).sum()
    with ag.no_grad():
        w[0] = 5.0
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


@pytest.mark.parametrize("view", [
    lambda w: w.T, lambda w: w.reshape(4), lambda w: w[0], lambda w: w[None, ...], lambda w: w.detach(),
    lambda w: w.broadcast_to((3, 2, 2)), lambda w: ag.expand_dims(w, 0).T,
], ids=["T", "reshape", "row", "newaxis", "detach", "broadcast_to", "chain"])
def test_inplace_change_seen_through_a_view_is_an_error(view):
    # x @ W.T saves W.T, whose data is a view of W's: an optimizer step on W before backward
    # would silently give x a gradient computed with the new W
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    x = leaf(np.ones(2))
    v = view(w)
    y = (v * x.sum()).sum()  # mul saves v
    with ag.no_grad():
        w -= 1.0
    with pytest.raises(RuntimeError, match="changed in place.*sharing its memory"):
        y.backward()


@pytest.mark.parametrize("view", [lambda w: w.detach().reshape(2, 2), lambda w: w.detach()[0], lambda w: w.detach().T],
                         ids=["reshape", "row", "T"])
def test_a_change_written_through_a_views_data_is_seen_by_the_tensor_it_views(view):
    # v.data -= ... writes into w's memory through v's array (a view): the change is w's too
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = (w * w).sum()  # mul saves w
    v = view(w)
    v.data -= 1.0
    with pytest.raises(RuntimeError, match="input 0 of mul .* changed in place"):
        y.backward()


def test_inplace_change_of_a_detached_copy_of_a_saved_output_is_an_error():
    x = leaf([1.0, 2.0])
    e = x.exp()
    d = e.detach()  # shares e's data
    d += 1.0  # a constant: changed in place, right in e's memory
    with pytest.raises(RuntimeError, match="output of exp"):
        e.sum().backward()


def test_matmul_with_transposed_weight_then_optimizer_step_is_an_error():
    w = leaf([[1.0, 2.0], [3.0, 4.0]], np.float32)
    x = leaf([[1.0, 1.0]], np.float32)
    loss = (x @ w.T).sum()
    with ag.no_grad():
        w -= 0.1 * np.ones((2, 2), np.float32)
    with pytest.raises(RuntimeError, match="input 1 of matmul"):
        loss.backward()


def test_inplace_change_of_an_unsaved_input_is_fine():
    w = leaf([1.0, 2.0])
    u = Tensor([3.0, 4.0])
    y = (w + u).sum()  # add saves nothing
    u += 1.0
    y.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])
    v = Tensor([2.0, 2.0])
    v += 1.0  # a change before the use
    y = (w * v).sum()
    other = Tensor([0.0, 0.0])
    other += 1.0  # a change after the forward, of memory the graph does not use
    y.backward()
    np.testing.assert_array_equal(w.grad, [4.0, 4.0])


def test_item_assignment_on_a_tensor_that_requires_grad_is_refused():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 3.0
