"""The public primitive mechanism: users' own differentiable functions, made the built-ins' way."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd import Tensor, gradcheck, gradgradcheck, primitive
from autograd.primitive import EXPORTS, built_in_primitives
from autograd.testing import float_dtypes, tensors


def _softplus_vjp(i, g, out, x, *, beta):
    return g * (1 - np.exp(-beta * out))  # sigmoid(beta x) = 1 - exp(-beta softplus(x))


@primitive(vjp=_softplus_vjp)
def softplus(x, *, beta=1.0):
    """log(1 + exp(beta x)) / beta, elementwise."""
    return np.logaddexp(0, beta * x) / beta


@given(dtype=float_dtypes(), data=st.data(), beta=st.sampled_from([0.5, 1.0, 3.0]))
def test_a_user_primitive_has_exact_gradients_of_every_order(dtype, data, beta):
    x = data.draw(tensors(dtype=dtype, min_value=-4, max_value=4))
    out = softplus(x, beta=beta)
    assert out.dtype == dtype and out.shape == x.shape and out._params == {"beta": beta}
    assert gradcheck(lambda x: softplus(x, beta=beta), x)
    assert gradgradcheck(lambda x: softplus(x, beta=beta), x)


def test_the_decorator_keeps_name_and_docstring_and_labels_show_parameters():
    assert softplus.__name__ == "softplus" and "log(1 + exp" in softplus.__doc__
    assert softplus.primitive.name == "softplus" and softplus.primitive.function is softplus
    y = softplus(Tensor([1.0], requires_grad=True), beta=2.0)
    assert y._prim.label(y._params) == "softplus(beta=2)"
    assert "softplus(beta=2)" in ag.draw_graph(y).source


def test_the_function_form_and_several_inputs_and_constants():
    hypot = primitive(lambda a, b: np.sqrt(a * a + b * b), vjp=lambda i, g, out, a, b: g * (a if i == 0 else b) / out,
                      name="hypot")
    a, b = Tensor([3.0, 5.0], requires_grad=True), Tensor([4.0, 12.0], requires_grad=True)
    np.testing.assert_allclose(hypot(a, b).data, [5.0, 13.0])
    assert gradcheck(hypot, (a, b)) and gradgradcheck(hypot, (a, b))
    assert gradcheck(lambda a: hypot(a, 2.0), a)  # a number as an input
    assert gradcheck(lambda a: hypot(np.array([[1.0], [2.0]]), a), a)  # an array, broadcast: the engine sums back
    assert hypot(np.array(3.0), 4.0).data == 5.0 and not hypot(3.0, 4.0).requires_grad


def test_first_order_rules_receive_arrays_whatever_they_declare():
    seen = []

    def rule(i, g, out, x):
        seen.append((type(g), type(out), type(x)))
        return g

    for reads in [("inputs", "out"), "out", "inputs", ()]:
        seen.clear()
        f = primitive(lambda x: x * 1.0, vjp=rule, name="f", reads=reads)
        f(Tensor([1.0, 2.0], requires_grad=True)).sum().backward()
        assert seen == [(np.ndarray, np.ndarray, np.ndarray)], reads


def test_a_rule_that_reads_values_is_protected_from_in_place_changes():
    square = primitive(lambda x: x * x, vjp=lambda i, g, out, x: 2 * g * x, name="square")
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = square(x * 1.0)  # a recorded input, changed in place below
    h = y._inputs[0]
    with ag.no_grad():
        h += 1.0
    with pytest.raises(RuntimeError, match=r"input 0 of square \(shape \(2,\)\) was changed in place"):
        y.sum().backward()


def test_a_constant_array_input_is_copied_so_changing_it_later_cannot_change_the_gradient():
    times = primitive(lambda a, b: a * b, vjp=lambda i, g, out, a, b: g * (b if i == 0 else a), name="times")
    w = np.array([2.0, 3.0])
    x = Tensor([1.0, 1.0], requires_grad=True)
    y = times(x, w)
    w[:] = 100.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


@pytest.mark.parametrize("rule, message", [
    (lambda i, g, out, x: np.ones(5), r"backward of bad, input 0: the rule's gradient has shape \(5,\), which cannot be "
                                      r"summed to the input's shape \(2, 3\)"),
    (lambda i, g, out, x: (g > 0), r"backward of bad, input 0: the rule's gradient has dtype bool; it must be a float"),
    (lambda i, g, out, x: np.ones((2, 3), int), r"backward of bad, input 0: the rule's gradient has dtype int64"),
    (lambda i, g, out, x: g.astype(np.float32), None),  # another float dtype is cast to the input's
    (lambda i, g, out, x: g.astype(np.complex128), r"backward of bad, input 0: the rule's gradient has dtype complex128"),
    (lambda i, g, out, x: 1 / 0, r"backward of bad, input 0: the rule raised ZeroDivisionError: division by zero"),
    (lambda i, g, out, x: "oops", r"backward of bad, input 0: the rule returned str, not an array"),
    (lambda i, g, out, x: None, r"backward of bad, input 0: the rule returned NoneType, not an array"),
])
def test_a_broken_rule_gives_an_error_naming_the_primitive_and_the_input(rule, message):
    bad = primitive(lambda x: x * 2.0, vjp=rule, name="bad")
    y = bad(Tensor(np.ones((2, 3)), requires_grad=True))
    if message is None:
        x = y._inputs[0]
        y.sum().backward()
        assert x.grad.dtype == np.float64
        return
    with pytest.raises(RuntimeError, match=message):
        y.sum().backward()


def test_the_input_index_is_named_for_a_rule_failing_on_its_second_input():
    bad = primitive(lambda a, b: a + b, vjp=lambda i, g, out, a, b: g if i == 0 else g[:1], name="bad2")
    y = bad(Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(RuntimeError, match=r"backward of bad2, input 1: the rule's gradient has shape \(1,\)"):
        y.sum().backward()


def test_a_forward_error_names_the_primitive_and_shapes():
    f = primitive(lambda a, b: a @ b, vjp=None, name="mm")
    with pytest.raises(ValueError, match=r"^mm: cannot apply to operands of shapes \(2, 3\) and \(2, 3\)"):
        f(np.ones((2, 3)), np.ones((2, 3)))
    g = primitive(lambda x: Tensor(x), vjp=None, name="wraps")
    with pytest.raises(TypeError, match="wraps: forward returned a Tensor"):
        g(np.ones(2))


def test_bad_definitions_are_refused():
    with pytest.raises(ValueError, match="reads must name 'inputs' and/or 'out'"):
        primitive(np.exp, vjp=lambda i, g, out, x: g, reads=("input",))
    with pytest.raises(TypeError, match="vjp must be a function"):
        primitive(np.exp, vjp=3)
    with pytest.raises(TypeError, match="forward must be a function"):
        primitive(3, vjp=None)


def test_no_grad_records_nothing_for_a_user_primitive():
    x = Tensor([1.0], requires_grad=True)
    with ag.no_grad():
        y = softplus(x)
    assert not y.requires_grad and y.is_leaf


_zero_rule = lambda i, g, out, *inputs, **params: np.zeros_like(inputs[i])  # noqa: E731


@pytest.mark.parametrize("f, call", [
    (primitive(lambda x: np.argmax(x, axis=-1), vjp=_zero_rule, name="argmax1"), lambda f, x: f(x)),
    (primitive(lambda x, *, axis: np.argmax(x, axis=axis), vjp=_zero_rule, name="argmax2"), lambda f, x: f(x, axis=0)),
    (primitive(np.isnan, vjp=_zero_rule), lambda f, x: f(x)),
    (primitive(np.less, vjp=_zero_rule), lambda f, x: f(x, x * 0.5)),
], ids=["index", "index-with-params", "bool-ufunc", "binary-bool-ufunc"])
def test_a_primitive_with_an_int_or_bool_result_records_nothing(f, call):
    # as in PyTorch, an index or a mask carries no gradient: the result is a constant, not an int tensor
    # that "requires grad" (whose gradient the engine would have to truncate to integers)
    x = Tensor([[1.0, 3.0], [2.0, 0.5]], requires_grad=True)
    out = call(f, x)
    assert out.dtype.kind in "bi" and not out.requires_grad and out._prim is None
    y = (x * 2.0).sum() + out.sum()  # a float result built on it still records, through x only
    y.backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 2.0))


def test_a_float_result_of_a_ufunc_that_can_return_ints_still_records():
    f = primitive(np.floor_divide, vjp=lambda i, g, out, a, b: np.zeros_like(g))
    out = f(Tensor([3.0, 7.0], requires_grad=True), 2.0)
    assert out.dtype == np.float64 and out.requires_grad


def test_built_ins_are_made_the_same_way():
    prims = {p.name: p for p in built_in_primitives()}
    assert {"add", "mul", "exp", "sum", "getitem", "concatenate", "log_softmax"} <= set(prims)
    assert ag.exp.primitive is prims["exp"] and ag.add.primitive is prims["add"]
    assert all(isinstance(p, ag.Primitive) for p in prims.values())


def test_tensor_methods_numpy_dispatch_and_all_are_derived_from_the_registry():
    for name, export in EXPORTS.items():
        assert name in ag.__all__ and getattr(ag, name) is export.fn
        if export.method is not None:
            method = getattr(Tensor, name)
            assert method is export.method
            assert export.fn.__doc__.strip() in method.__doc__  # the method's doc is the function's
    x = Tensor([[1.0, -2.0]], requires_grad=True)
    assert x.exp()._prim.name == "exp" and np.exp(x)._prim.name == "exp"
    assert np.clip(x, a_min=0, a_max=1)._prim.name == "clip" and np.clip(x, min=0)._prim.name == "clip"
    assert x.reshape(2, 1).shape == (2, 1) and x.transpose(1, 0).shape == (2, 1)
