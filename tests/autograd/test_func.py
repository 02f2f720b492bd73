"""autograd.func: each transform against central differences, nesting, and the edge cases that
separate a real implementation from a quick one (constant outputs, captured variables,
perturbation confusion, non-float outputs)."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Tensor
from autograd.func import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from autograd.testing import arrays_like, broadcastable_shapes, float_arrays

SMALL = settings(max_examples=25, deadline=None)
values = float_arrays(dtype=np.float64, min_value=-2.0, max_value=2.0, max_dims=2, max_side=3)


def numeric_jacobian(fn, x, eps=1e-6):
    """d fn(x) / d x by central differences: shape fn(x).shape + x.shape (fn: ndarray -> ndarray)."""
    x = np.array(x, dtype=np.float64)
    out = np.asarray(fn(x), dtype=np.float64)
    jac = np.zeros(out.shape + x.shape)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        jac[(...,) + i] = (np.asarray(fn(plus)) - np.asarray(fn(minus))) / (2 * eps)
    return jac


def on_arrays(f):
    """f (Tensors -> Tensor) as an ndarray -> ndarray function, for central differences."""
    def fn(*arrays):
        out = f(*(Tensor(a) for a in arrays))
        return out.data if isinstance(out, Tensor) else np.asarray(out)
    return fn


def scalar_fn(x):
    return (x.sin() * x).sum() + (x * x).tanh().mean()


def vector_fn(x):
    return x.sin() * x.sum() + x * x * x   # a full (non-diagonal) Jacobian


# ----------------------------------------------------------------------------- against central differences

@SMALL
@given(values)
def test_grad_and_value_and_grad_match_central_differences(x):
    value, g = value_and_grad(scalar_fn)(x)
    assert g.shape == x.shape and g.dtype == np.float64
    np.testing.assert_allclose(value.data, on_arrays(scalar_fn)(x))
    np.testing.assert_allclose(g.data, numeric_jacobian(on_arrays(scalar_fn), x), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(grad(scalar_fn)(x).data, g.data)


@SMALL
@given(values)
def test_second_derivatives_grad_of_grad_and_hessian(x):
    grad_fn = on_arrays(grad(scalar_fn))
    expected = numeric_jacobian(grad_fn, x)
    h = hessian(scalar_fn)(x)
    assert h.shape == x.shape + x.shape
    np.testing.assert_allclose(h.data, expected, rtol=1e-5, atol=1e-5)
    if x.ndim == 0:
        np.testing.assert_allclose(grad(grad(scalar_fn))(x).data, expected, rtol=1e-5, atol=1e-5)


@SMALL
@given(values.flatmap(lambda x: st.tuples(st.just(x), arrays_like(x, min_value=-2, max_value=2))))
def test_jacobian_jvp_vjp_hvp_agree_with_central_differences(xv):
    x, v = xv
    expected = numeric_jacobian(on_arrays(vector_fn), x)
    jac = jacobian(vector_fn)(x)
    assert jac.shape == x.shape + x.shape
    np.testing.assert_allclose(jac.data, expected, rtol=1e-5, atol=1e-5)
    flat = expected.reshape(x.size, x.size)
    out, tangent = jvp(vector_fn, (x,), (v,))
    np.testing.assert_allclose(out.data, on_arrays(vector_fn)(x))
    np.testing.assert_allclose(tangent.data.reshape(-1), flat @ v.reshape(-1), rtol=1e-5, atol=1e-5)
    out, vjp_fn = vjp(vector_fn, x)
    (cotangent,) = vjp_fn(v)
    np.testing.assert_allclose(cotangent.data.reshape(-1), v.reshape(-1) @ flat, rtol=1e-5, atol=1e-5)
    value, (product,) = hvp(scalar_fn, (x,), (v,))
    hess = numeric_jacobian(on_arrays(grad(scalar_fn)), x).reshape(x.size, x.size)
    np.testing.assert_allclose(value.data, on_arrays(scalar_fn)(x))
    np.testing.assert_allclose(product.data.reshape(-1), hess @ v.reshape(-1), rtol=1e-5, atol=1e-5)


@SMALL
@given(broadcastable_shapes(2, max_dims=2, max_side=3).flatmap(
    lambda shapes: st.tuples(*(float_arrays(s, np.float64, min_value=-2, max_value=2) for s in shapes))))
def test_two_arguments_with_broadcasting(xy):
    x, y = xy

    def f(a, b):
        return ((a * b).sin() + a / (1 + b * b)).sum()

    gx, gy = grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx.data, numeric_jacobian(lambda a: on_arrays(f)(a, y), x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gy.data, numeric_jacobian(lambda b: on_arrays(f)(x, b), y), rtol=1e-5, atol=1e-6)
    (hxx, hxy), (hyx, hyy) = hessian(f, argnums=(0, 1))(x, y)
    assert hxx.shape == x.shape * 2 and hyy.shape == y.shape * 2
    assert hxy.shape == x.shape + y.shape and hyx.shape == y.shape + x.shape
    np.testing.assert_allclose(hxy.data, numeric_jacobian(lambda b: on_arrays(grad(f))(x, b), y),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hxy.data.reshape(x.size, y.size), hyx.data.reshape(y.size, x.size).T, atol=1e-12)


@SMALL
@given(float_arrays(dtype=np.float32, min_value=-2, max_value=2, max_dims=2, max_side=3))
def test_float32_arguments_give_float32_results_close_to_float64(x):
    g = grad(scalar_fn)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g.data, grad(scalar_fn)(x.astype(np.float64)).data, rtol=1e-4, atol=1e-5)
    assert jacobian(vector_fn)(x).dtype == np.float32


# ----------------------------------------------------------------------------- nesting

def test_nested_grad_differentiates_through_captured_variables():
    assert grad(lambda x: grad(lambda y: x * y)(1.0))(2.0).item() == 1.0
    # d/dx of x * d/dy(x * y)|_{y=2} = d/dx x^2 = 2x
    assert grad(lambda x: x * grad(lambda y: x * y)(2.0))(3.0).item() == 6.0


def test_no_perturbation_confusion():
    # Siskind & Pearlmutter: d/dx [x * (d/dy (x + y))] = 1; confusing the two derivatives gives 2
    assert grad(lambda x: x * grad(lambda y: x + y)(1.0))(1.0).item() == 1.0
    # the same tensor passed to the inner transform: d/dy (x * y) = x, so f(x) = x * x, f' = 2x
    assert grad(lambda x: x * grad(lambda y: x * y)(x))(3.0).item() == 6.0
    # and to both argnums of one transform, each argument its own variable: the inner gradients are
    # (v^2, 2uv) = (a^2, 2a^2), whose sum has derivative 6a (one shared variable would give 12a)
    assert grad(lambda a: sum(grad(lambda u, v: u * v * v, argnums=(0, 1))(a, a)))(2.0).item() == 12.0


def test_higher_orders_compose():
    x = 0.7
    assert np.isclose(grad(grad(grad(lambda t: t.sin())))(x).item(), -np.cos(x))
    assert np.isclose(jacobian(grad(lambda t: (t ** 3).sum()))(np.array([1.0, 2.0])).data, np.diag([6.0, 12.0])).all()
    d2 = jacobian(jacobian(lambda t: t ** 3))(np.array([1.0, 2.0])).data
    assert d2.shape == (2, 2, 2) and d2[1, 1, 1] == 12.0 and d2[0, 1, 1] == 0.0
    _, (inner,) = hvp(lambda t: grad(lambda s: (s ** 4).sum())(t).sum(), (np.array([1.0, -2.0]),), (np.ones(2),))
    np.testing.assert_allclose(inner.data, [24.0, -48.0])   # d^3/dt^3 of t^4 is 24 t
    out, tangent = jvp(grad(lambda t: (t ** 3).sum()), (np.array([2.0]),), (np.array([1.0]),))
    assert out.item() == 12.0 and tangent.item() == 12.0


def test_transforms_compose_with_tensors_that_require_grad():
    w = Tensor(3.0, requires_grad=True)
    g = grad(lambda x: w * x * x)(2.0)
    assert g.item() == 12.0 and not g.requires_grad and w.grad is None
    assert grad(lambda v: grad(lambda x: v * x * x)(2.0))(w).item() == 4.0


# ----------------------------------------------------------------------------- zeros, types, structure

@pytest.mark.parametrize("f", [lambda x: 3.0, lambda x: Tensor(3.0), lambda x: np.float64(2.0),
                               lambda x: Tensor(5.0, requires_grad=True) * 2.0, lambda x: (x * 0).sum().detach()],
                         ids=["number", "constant", "numpy-scalar", "captured-leaf", "detached"])
def test_an_output_independent_of_the_input_gives_zeros(f):
    x = np.array([1.0, 2.0])
    g = grad(f)(x)
    assert g.shape == (2,) and np.all(g.data == 0)
    assert np.all(jacobian(f)(x).data == 0)
    assert np.all(hessian(f)(x).data == 0)
    _, (h,) = hvp(f, (x,), (np.ones(2),))
    assert np.all(h.data == 0)
    _, t = jvp(f, (x,), (np.ones(2),))
    assert t.item() == 0
    _, vjp_fn = vjp(f, x)
    (v,) = vjp_fn(1.0)
    assert v.shape == (2,) and np.all(v.data == 0)


def test_unused_argument_and_argnums():
    def f(a, b, c):
        return (a * c).sum()

    ga, gb, gc = grad(f, argnums=(0, 1, -1))(np.array([1.0, 2.0]), 5.0, np.array([3.0, 4.0]))
    np.testing.assert_array_equal(ga.data, [3.0, 4.0])
    assert gb.item() == 0.0
    np.testing.assert_array_equal(gc.data, [1.0, 2.0])
    assert grad(f, argnums=1)(np.ones(2), 2.0, np.ones(2)).item() == 0.0


def test_argument_kinds_and_detached_results():
    x = Tensor([1.0, 2.0])
    leaf = Tensor([1.0, 2.0], requires_grad=True)
    for arg in (x, leaf, np.array([1.0, 2.0]), [1.0, 2.0] and np.array([1.0, 2.0])):
        value, g = value_and_grad(lambda t: (t * t).sum())(arg)
        assert value.item() == 5.0 and not value.requires_grad and not g.requires_grad
        np.testing.assert_array_equal(g.data, [2.0, 4.0])
    assert leaf.grad is None and x.data.tolist() == [1.0, 2.0]
    assert grad(lambda t: t * t)(3).item() == 6.0 and grad(lambda t: t * t)(3).dtype == np.float64


def test_has_aux_and_keyword_arguments():
    def f(x, scale=1.0):
        y = (x * x).sum() * scale
        return y, {"y": y, "n": 2}

    (value, aux), g = value_and_grad(f, has_aux=True)(np.array([1.0, 2.0]), scale=2.0)
    assert value.item() == 10.0 and aux["n"] == 2 and aux["y"].item() == 10.0 and not aux["y"].requires_grad
    np.testing.assert_array_equal(g.data, [4.0, 8.0])
    g, aux = grad(f, has_aux=True)(np.array([1.0]))
    assert g.item() == 2.0 and aux["n"] == 2
    jac, aux = jacobian(lambda x: (x * 2, "note"), has_aux=True)(np.array([1.0]))
    assert jac.item() == 2.0 and aux == "note"
    out, vjp_fn, aux = vjp(f, np.array([1.0, 3.0]), has_aux=True)
    assert out.item() == 10.0 and aux["n"] == 2 and vjp_fn(1.0)[0].data.tolist() == [2.0, 6.0]


def test_tuple_outputs_and_argnums_mirror_torch_func():
    def f(a, b):
        return a * b, (a + b).sum()

    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    (j0a, j0b), (j1a, j1b) = jacobian(f, argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(j0a.data, np.diag(b))
    np.testing.assert_array_equal(j0b.data, np.diag(a))
    assert j1a.shape == (2,) and j1a.data.tolist() == [1.0, 1.0] and j1b.data.tolist() == [1.0, 1.0]
    out, vjp_fn = vjp(f, a, b)
    assert isinstance(out, tuple) and len(out) == 2
    ga, gb = vjp_fn(np.ones(2), 2.0)
    np.testing.assert_array_equal(ga.data, b + 2)
    np.testing.assert_array_equal(gb.data, a + 2)
    np.testing.assert_array_equal(vjp_fn(np.zeros(2), 1.0)[1].data, [1.0, 1.0])   # callable again
    outs, tangents = jvp(f, (a, b), (np.ones(2), np.zeros(2)))
    np.testing.assert_array_equal(outs[0].data, a * b)
    np.testing.assert_array_equal(tangents[0].data, b)
    assert tangents[1].item() == 2.0


def test_empty_and_zero_dim_shapes():
    assert jacobian(lambda x: x * 2)(np.zeros((0, 2))).shape == (0, 2, 0, 2)
    assert jacobian(lambda x: x.sum())(np.zeros(0)).shape == (0,)
    assert hessian(lambda x: x ** 3)(2.0).item() == 12.0
    assert jacobian(lambda x: x * np.ones(3))(2.0).data.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("f", [lambda x: (x > 0).sum(), lambda x: x > 0, lambda x: 3, lambda x: np.array([1, 2])],
                         ids=["int-sum", "bool", "python-int", "int-array"])
def test_a_non_float_output_is_a_type_error(f):
    for transform in (grad, jacobian):
        with pytest.raises(TypeError, match="only floating-point outputs"):
            transform(f)(np.array([1.0, -1.0]))
    with pytest.raises(TypeError, match="only floating-point outputs"):
        vjp(f, np.array([1.0, -1.0]))


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match=r"grad: f must return a 0-d .*shape \(2,\).*jacobian"):
        grad(lambda x: x * 2)(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="argument 0 has dtype int64"):
        grad(lambda x: x.sum())(np.array([1, 2]))
    with pytest.raises(TypeError, match="argument 0 is a bool"):
        grad(lambda x: x * 1.0)(True)
    with pytest.raises(TypeError, match="argument 0 must be a Tensor, an ndarray or a number.*str"):
        grad(lambda x: x)("1.0")
    with pytest.raises(ValueError, match="argnums=2 refers to argument 2.*1 positional"):
        grad(lambda x: x, argnums=2)(1.0)
    with pytest.raises(ValueError, match="names an argument twice"):
        grad(lambda x, y: x, argnums=(0, -2))(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums must be an int"):
        grad(lambda x: x, argnums=[0])(1.0)
    with pytest.raises(ValueError, match=r"value_and_grad: f must return a 0-d .*shape \(1,\)"):
        value_and_grad(lambda x: x * 2)(np.array([1.0]))
    with pytest.raises(TypeError, match="has_aux=True, f must return a pair"):
        grad(lambda x: x, has_aux=True)(1.0)
    with pytest.raises(ValueError, match="jvp: got 1 primals but 2 tangents"):
        jvp(lambda x: x, (1.0,), (1.0, 2.0))
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(3,\) but must have shape \(2,\)"):
        jvp(lambda x: x, (np.ones(2),), (np.ones(3),))
    _, vjp_fn = vjp(lambda x: x * 2, np.ones(2))
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(\) but must have shape \(2,\)"):
        vjp_fn(1.0)
    with pytest.raises(TypeError, match="f has 1 output"):
        vjp_fn(np.ones(2), np.ones(2))


def test_a_failing_function_leaves_no_transform_state_behind():
    with pytest.raises(ZeroDivisionError):
        grad(lambda x: 1 / 0)(1.0)
    g = grad(lambda x: x * x)(2.0)            # outermost again: detached, plain result
    assert not g.requires_grad and g.item() == 4.0


def test_nesting_depth_is_per_thread():
    results = {}
    started, release = threading.Event(), threading.Event()

    def inner_thread():
        started.set()
        release.wait(5)
        results["other"] = grad(lambda x: x * x)(3.0)

    def outer(x):
        thread = threading.Thread(target=inner_thread)
        thread.start()
        started.wait(5)
        release.set()          # the other thread runs its transform while this one is nested
        thread.join(5)
        return x * x

    grad(outer)(1.0)
    assert results["other"].item() == 6.0 and not results["other"].requires_grad
