"""gradcheck / gradgradcheck: pass on correct gradients, fail loudly and precisely on wrong ones.

Wrong gradients are built with public operations only: ``x * x.detach()`` computes x**2 but
its reverse-mode derivative is x, not 2x.
"""
import importlib

import numpy as np
import pytest
from hypothesis import given, settings

from autograd import Tensor
from autograd.gradcheck import FLOAT32_RTOL, GradcheckError, gradcheck, gradgradcheck
from autograd.testing import matmul_shapes, tensors

# the package exports the function gradcheck under the module's name, so fetch the module itself
gradcheck_module = importlib.import_module("autograd.gradcheck")

FAST = settings(max_examples=20, deadline=None)


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def wrong_square(x):
    return x * x.detach()  # value x**2, reverse-mode derivative x instead of 2x


# ----------------------------------------------------------------------------- passing

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fn", [lambda x: x * x, lambda x: x.exp(), lambda x: (x * x).sum(),
                                lambda x: x.tanh() / (1 + x * x)], ids=["square", "exp", "sum", "mix"])
def test_correct_functions_pass(fn, dtype):
    x = leaf([[0.3, -1.2, 2.0], [1.5, -0.7, 0.1]], dtype)
    assert gradcheck(fn, x) is True
    assert gradcheck(fn, (x,), raise_exception=False) is True


@pytest.mark.parametrize("shapes", [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)),
                                    ((2, 1, 2, 3), (4, 3, 2))])
def test_matmul_passes_both_orders(shapes):
    rng = np.random.default_rng(0)
    a, b = (Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes)
    assert gradcheck(lambda a, b: a @ b, (a, b))
    assert gradgradcheck(lambda a, b: a @ b, (a, b))


def test_zero_dim_and_size_zero_inputs():
    assert gradcheck(lambda x: x * x, Tensor(1.5, requires_grad=True))
    assert gradcheck(lambda x: (x * x).sum(), Tensor(np.zeros((0, 3)), requires_grad=True))
    assert gradcheck(lambda x, y: (x * y, y.exp()),
                     (Tensor(np.zeros((2, 0)), requires_grad=True), Tensor(0.5, requires_grad=True)))


def test_constants_and_arrays_are_passed_through_not_differentiated():
    x = leaf([1.0, 2.0])
    c = Tensor([3.0, 4.0])           # does not require grad
    a = np.array([0.5, -1.0], np.float32)
    seen = []

    def fn(x, c, a, scale):
        seen.append((type(a), a.dtype, scale))
        return x * c + a * scale

    assert gradcheck(fn, (x, c, a, 2.0))
    assert {s[0] for s in seen} == {np.ndarray} and {s[2] for s in seen} == {2.0}


def test_several_outputs_and_non_float_outputs():
    x, y = leaf([1.0, -2.0]), leaf([[0.5], [3.0]])
    assert gradcheck(lambda x, y: (x * y, (x - y).exp(), Tensor([1, 2])), (x, y))


@FAST
@given(tensors(), tensors())
def test_property_generated_tensors(x, y):
    assert gradcheck(lambda x: (x * 0.1).sin() * x, x)
    assert gradcheck(lambda x, y: x.sum() * y, (x, y))


@FAST
@given(matmul_shapes().flatmap(lambda s: tensors(s[0], np.float64).flatmap(
    lambda a: tensors(s[1], np.float64).map(lambda b: (a, b)))))
def test_property_matmul(ab):
    assert gradcheck(lambda a, b: a @ b, ab)


# ----------------------------------------------------------------------------- failing

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wrong_gradient_names_output_input_element_and_values(dtype):
    x = leaf([[1.0, -2.0], [0.5, 3.0]], dtype)
    with pytest.raises(GradcheckError) as info:
        gradcheck(wrong_square, x)
    error = info.value
    message = str(error)
    assert isinstance(error, AssertionError)  # pytest reports it as a failed check
    assert message.startswith("Jacobian mismatch for output 0 with respect to input 0")
    # the worst entry is d x**2 / dx at x = 3: numerical 6, analytical 3
    assert (error.output_index, error.input_index) == (0, 0)
    assert error.output_element == (1, 1) and error.input_element == (1, 1)
    assert error.numerical == pytest.approx(6.0, abs=1e-6) and error.analytical == 3.0
    assert error.max_abs_error == pytest.approx(3.0, abs=1e-6)
    assert "d output0[1, 1] / d input0[1, 1]" in message
    assert "numerical:  6.0" in message and "analytical: 3.0" in message
    assert "max abs error: 3" in message and "4 of 16 entries" in message
    assert gradcheck(wrong_square, x, raise_exception=False) is False


def test_mismatch_located_in_second_input_and_second_output():
    x, y = leaf([1.0, 2.0]), leaf([-1.0, 4.0, 0.5])
    with pytest.raises(GradcheckError, match="for output 1 with respect to input 1") as info:
        gradcheck(lambda x, y: (x.exp(), wrong_square(y) + x.sum()), (x, y))
    assert info.value.output_element == (1,) and info.value.input_element == (1,)
    assert info.value.numerical == pytest.approx(8.0) and info.value.analytical == 4.0


def test_zero_dim_mismatch_uses_empty_index():
    with pytest.raises(GradcheckError, match=r"d output0\[\(\)\] / d input0\[\(\)\]"):
        gradcheck(wrong_square, Tensor(2.0, requires_grad=True))


def test_dropped_graph_is_caught():
    # the output does not require grad, so reverse mode says 0, while it does depend on x
    with pytest.raises(GradcheckError, match="numerical:  2.0"):
        gradcheck(lambda x: Tensor(x.data * 2), leaf([1.0, 2.0]))


def test_small_errors_respect_tolerances():
    # derivative off by a relative 1e-4: within the Jacobian's rtol=1e-3, outside rtol=1e-5 ...
    fn = lambda x: x * x + 1e-4 * (x * x.detach())  # noqa: E731  f' = 2.0002x, reverse says 2.0001x
    x = leaf([1.0, 2.0])
    assert gradcheck(fn, x, vjp_rtol=1e-3)
    with pytest.raises(GradcheckError, match="^Jacobian mismatch"):
        gradcheck(fn, x, rtol=1e-5, atol=0.0)
    # ... and caught by default by the backward seeded with a random output gradient
    with pytest.raises(GradcheckError, match=r"^VJP mismatch with respect to input 0 .*\n  worst entry: input0\[1\]"):
        gradcheck(fn, x)
    assert not gradcheck(fn, x, raise_exception=False)


def test_a_rule_that_ignores_its_incoming_gradient_is_caught_on_a_scalar_output(monkeypatch):
    real_grad = gradcheck_module.grad

    def ignoring_grad(outputs, inputs, grad_outputs=None, **kwargs):  # as if every rule dropped g
        ones = tuple(Tensor(np.ones(o.shape, o.dtype)) for o in outputs)
        return real_grad(outputs, inputs, grad_outputs=ones, **kwargs)

    x = leaf([0.5, -1.5, 2.0])
    monkeypatch.setattr(gradcheck_module, "grad", ignoring_grad)
    # d/dx2 of sum(x^2) is 4: what a rule ignoring g returns, whatever v is
    with pytest.raises(GradcheckError, match=r"(?s)^VJP mismatch .*input0\[2\]\n    v \. numerical Jacobian: .*\n"
                                             r"    backward\(v\): +4\.0\n.*ignores g"):
        gradcheck(lambda x: (x * x).sum(), x)
    monkeypatch.setattr(gradcheck_module, "grad", real_grad)
    assert gradcheck(lambda x: (x * x).sum(), x)


@given(tensors(dtype=np.float64, min_value=-3, max_value=3))
@FAST
def test_random_seed_vjp_catches_a_relative_error_of_1e_4(x):
    # a gradient (1 + 1e-4) times too large: within the Jacobian's default rtol, never within VJP_RTOL
    fn = lambda x: (x * x).sum() + 1e-4 * (x * x.detach()).sum()  # noqa: E731
    assert gradcheck(fn, x, vjp_rtol=1e-3)
    if np.abs(x.data).max() > 1e-2:   # an error of 2e-4 |x| below central differences' noise is not one
        assert not gradcheck(fn, x, raise_exception=False)
    assert gradcheck(lambda x: (x * x).sum(), x)


def test_float32_gradients_must_keep_the_input_dtype(monkeypatch):
    real_grad = gradcheck_module.grad

    def upcasting_grad(*args, **kwargs):
        return tuple(None if g is None else Tensor(g.data.astype(np.float64))
                     for g in real_grad(*args, **kwargs))

    monkeypatch.setattr(gradcheck_module, "grad", upcasting_grad)
    with pytest.raises(GradcheckError, match="dtype float64; the input has shape .* dtype float32"):
        gradcheck(lambda x: x * x, leaf([1.0, 2.0], np.float32))


def test_float32_jacobian_checked_against_float64_jacobian(monkeypatch):
    real_grad = gradcheck_module.grad

    def imprecise_float32_grad(*args, **kwargs):  # float32 gradients off by a relative 1e-2
        return tuple(g if g is None or g.dtype != np.float32 else Tensor(g.data * np.float32(1.01))
                     for g in real_grad(*args, **kwargs))

    monkeypatch.setattr(gradcheck_module, "grad", imprecise_float32_grad)
    assert gradcheck(lambda x: x * x, leaf([1.0, 2.0]))  # float64: untouched
    with pytest.raises(GradcheckError, match="^float32 Jacobian mismatch for output 0 with respect to input 0"):
        gradcheck(lambda x: x * x, leaf([1.0, 2.0], np.float32))


def test_float32_tolerance_is_floored_at_float32_precision(monkeypatch):
    real_grad = gradcheck_module.grad
    factor = {"value": np.float32(1 + FLOAT32_RTOL / 2)}

    def perturbed(*args, **kwargs):
        return tuple(g if g is None or g.dtype != np.float32 else Tensor(g.data * factor["value"])
                     for g in real_grad(*args, **kwargs))

    monkeypatch.setattr(gradcheck_module, "grad", perturbed)
    x = leaf([1.0, 2.0], np.float32)
    assert gradcheck(lambda x: x * x, x, atol=0.0, rtol=1e-9)  # float32 cannot do better than ~1e-4
    factor["value"] = np.float32(1 + 3 * FLOAT32_RTOL)
    assert not gradcheck(lambda x: x * x, x, atol=0.0, rtol=1e-9, raise_exception=False)


def test_float32_rounding_is_not_a_mismatch():
    # cancellation in float32: (x*y - z) with x*y close to z; the float64 check stays tight
    rng = np.random.default_rng(1)
    x, y = (leaf(rng.uniform(-10, 10, 6), np.float32) for _ in range(2))
    z = leaf((x.data.astype(np.float64) * y.data).astype(np.float32) + 1e-3, np.float32)
    assert gradcheck(lambda x, y, z: ((x * y - z) ** 2).sum() + (x * y).exp().mean() * 1e-6, (x, y, z))


def test_output_computed_in_float32_for_float64_inputs_is_reported():
    with pytest.raises(GradcheckError, match="output 0 is float32 although every floating input"):
        gradcheck(lambda x: Tensor(x.data.astype(np.float32)), leaf([1.0]))


# ----------------------------------------------------------------------------- bad input

def test_bad_arguments_raise_clear_errors_even_without_raise_exception():
    x = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match="fn must return a Tensor or a non-empty tuple of Tensors, got ndarray"):
        gradcheck(lambda x: x.data * 2, x, raise_exception=False)
    with pytest.raises(TypeError, match=r"got tuple\(Tensor.*, float\)"):
        gradcheck(lambda x: (x, 1.0), x)
    with pytest.raises(ValueError, match="no input requires grad .*requires_grad=True"):
        gradcheck(lambda x: x * 2, Tensor([1.0, 2.0]), raise_exception=False)
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="no floating-point Tensor"):
        gradcheck(lambda x: Tensor([1, 2]), x)
    with pytest.raises(ValueError, match="eps must be positive"):
        gradcheck(lambda x: x, x, eps=0.0)
    with pytest.raises(ValueError, match="atol, rtol and vjp_rtol must be >= 0.*rtol=-1.0"):
        gradcheck(lambda x: x, x, rtol=-1.0)
    with pytest.raises(ValueError, match="vjp_rtol must be >= 0.*vjp_rtol=-0.1"):
        gradgradcheck(lambda x: x, x, vjp_rtol=-0.1)


def test_errors_from_fn_itself_propagate():
    def broken(x):
        raise KeyError("inside fn")

    with pytest.raises(KeyError):
        gradcheck(broken, leaf([1.0]), raise_exception=False)


# ----------------------------------------------------------------------------- second order

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradgradcheck_passes_on_smooth_functions(dtype):
    x, y = leaf([0.3, -1.2, 2.0], dtype), leaf([[0.5], [-0.4]], dtype)
    assert gradgradcheck(lambda x: (x * x * x).sum(), x)
    assert gradgradcheck(lambda x, y: ((x * y).tanh(), (x - y).exp()), (x, y))


def test_gradgradcheck_catches_a_wrong_second_derivative_that_gradcheck_misses():
    # value x**2 with the right first derivative 2x, but a create_graph gradient 2*x.detach()
    # whose own derivative is 0 instead of 2
    fn = lambda x: 2 * x * x.detach() - x.detach() * x.detach()  # noqa: E731
    x = leaf([1.0, -2.0])
    assert gradcheck(fn, x)
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(fn, x, grad_outputs=np.array([1.0, 0.5]))
    message = str(info.value)
    assert message.startswith("Second-order Jacobian mismatch for output 0 (the gradient w.r.t. input 0) "
                              "with respect to input 0")
    assert info.value.output_element == (0,) and info.value.input_element == (0,)
    assert info.value.numerical == pytest.approx(2.0) and info.value.analytical == 0.0
    assert "grad_outputs" in message
    assert gradgradcheck(fn, x, raise_exception=False) is False


def test_gradgradcheck_checks_gradients_with_respect_to_grad_outputs(monkeypatch):
    # an engine whose create_graph gradients drop their graph: for a linear fn the derivative in x
    # is rightly 0, so only the derivative in grad_outputs (here the constant c) can catch it
    real_grad = gradcheck_module.grad

    def graph_dropping_grad(*args, **kwargs):
        return tuple(None if g is None else g.detach() for g in real_grad(*args, **kwargs))

    c = Tensor([2.0, 3.0])
    assert gradgradcheck(lambda x: x * c, leaf([1.0, 2.0]))
    monkeypatch.setattr(gradcheck_module, "grad", graph_dropping_grad)
    with pytest.raises(GradcheckError, match=r"with respect to input 1 \(grad_outputs\[0\], seeding output 0") as info:
        gradgradcheck(lambda x: x * c, leaf([1.0, 2.0]))
    assert info.value.numerical == pytest.approx(3.0) and info.value.analytical == 0.0


def test_gradgradcheck_grad_outputs_validation_and_seed():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(3,\) but the output it seeds has shape \(2,\)"):
        gradgradcheck(lambda x: x * x, x, grad_outputs=np.ones(3))
    with pytest.raises(ValueError, match="got 2 grad_outputs for 1 differentiable outputs"):
        gradgradcheck(lambda x: x * x, x, grad_outputs=(np.ones(2), np.ones(2)))
    with pytest.raises(ValueError, match="no output of fn is a floating-point Tensor that requires grad"):
        gradgradcheck(lambda x: Tensor(x.data), x)
    assert gradgradcheck(lambda x: x.sin(), x, seed=123)
    assert gradgradcheck(lambda x: x.sin(), x, grad_outputs=Tensor([0.5, -2.0], requires_grad=True))


def test_gradgradcheck_unused_input_and_zero_dim():
    x, unused = Tensor(0.7, requires_grad=True), leaf([1.0, 2.0])
    assert gradgradcheck(lambda x, u: x.exp() * x, (x, unused))
