"""conv2d, max_pool2d and avg_pool2d: forward against a direct loop reference (and PyTorch when it
is installed), gradients through gradcheck / gradgradcheck on hypothesis-drawn sizes (strides,
padding, dilation, odd shapes, 1x1 kernels) in float32 and float64, ties, dtypes and errors;
the banded kernels (small band budgets) and inputs in any memory layout against the same."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd.conv as conv_module
from autograd import Tensor, grad, gradcheck, gradgradcheck
from autograd.conv import avg_pool2d, conv2d, max_pool2d
from autograd.testing import float_arrays, float_dtypes


# ----------------------------------------------------------------------------- references
def _pad(x, p, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=value)


def conv_reference(x, w, b, stride, padding, dilation):
    """Direct definition: a loop over output pixels (small sizes only)."""
    xp = _pad(x, padding)
    (sh, sw), (dh, dw) = stride, dilation
    kh, kw = w.shape[2:]
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
            out[:, :, i, j] = np.einsum("ncab,ocab->no", patch, w)
    return out if b is None else out + b[:, None, None]


def pool_reference(x, kernel, stride, padding, reduce):
    fill = -np.inf if reduce is np.max else 0.0
    xp = _pad(x, padding, fill)
    oh = (xp.shape[2] - kernel[0]) // stride[0] + 1
    ow = (xp.shape[3] - kernel[1]) // stride[1] + 1
    out = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride[0] : i * stride[0] + kernel[0], j * stride[1] : j * stride[1] + kernel[1]]
            out[:, :, i, j] = reduce(patch, axis=(2, 3))
    return out


# ----------------------------------------------------------------------------- strategies
pairs = st.tuples  # readability below


@st.composite
def conv_cases(draw, max_side=3, max_channels=3, kernels=None, strides=None):
    """(x, w, b, stride, padding, dilation) with every size drawn, the input just large enough;
    ``kernels``, ``strides``: strategies for those pairs in place of the default."""
    dtype = draw(float_dtypes())
    n = draw(st.integers(1, 2))
    c, o = draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels))
    kernel = draw(pairs(st.integers(1, 3), st.integers(1, 3)) if kernels is None else kernels)
    stride = draw(pairs(st.integers(1, 3), st.integers(1, 3)) if strides is None else strides)
    padding = draw(pairs(st.integers(0, 2), st.integers(0, 2)))
    dilation = draw(pairs(st.integers(1, 2), st.integers(1, 2)))
    size = [max(1, dilation[i] * (kernel[i] - 1) + 1 - 2 * padding[i]) + draw(st.integers(0, max_side)) for i in (0, 1)]
    x = draw(float_arrays((n, c, *size), dtype, min_value=-2, max_value=2))
    w = draw(float_arrays((o, c, *kernel), dtype, min_value=-2, max_value=2))
    b = draw(st.none() | float_arrays((o,), dtype, min_value=-2, max_value=2))
    return x, w, b, stride, padding, dilation


@st.composite
def pool_cases(draw, distinct=False):
    """(x, kernel, stride, padding); ``distinct``: all values at least 0.01 apart (no ties)."""
    dtype = draw(float_dtypes())
    kernel = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    stride = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    padding = draw(pairs(st.integers(0, kernel[0] // 2), st.integers(0, kernel[1] // 2)))
    size = [max(1, kernel[i] - 2 * padding[i]) + draw(st.integers(0, 3)) for i in (0, 1)]
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *size)
    x = draw(float_arrays(shape, dtype, min_value=-5, max_value=5, min_gap=0.01 if distinct else None))
    return x, kernel, stride, padding


def _tensors(*arrays):
    return tuple(None if a is None else Tensor(a, requires_grad=True) for a in arrays)


# ----------------------------------------------------------------------------- conv2d
@given(conv_cases())
def test_conv2d_forward_matches_the_direct_definition_and_keeps_the_dtype(case):
    x, w, b, stride, padding, dilation = case
    out = conv2d(Tensor(x), Tensor(w), None if b is None else Tensor(b), stride, padding, dilation)
    expected = conv_reference(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                              stride, padding, dilation)
    assert out.shape == expected.shape
    assert out.dtype == x.dtype
    tol = 1e-4 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.data, expected, rtol=tol, atol=tol)


@given(conv_cases())
def test_conv2d_gradcheck(case):
    x, w, b, stride, padding, dilation = case
    inputs = _tensors(x, w, b)
    assert gradcheck(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation), inputs)


@settings(max_examples=20)
@given(conv_cases(max_side=2, max_channels=2))
def test_conv2d_gradgradcheck(case):
    x, w, b, stride, padding, dilation = case
    inputs = _tensors(x, w, b)
    assert gradgradcheck(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation), inputs)


def test_conv2d_third_order_is_a_convolution_too():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    # f = sum(conv(x, w) ** 2) is quadratic in w: d3f/dw3 = 0 and the Hessian-vector product is linear in w
    (gw,) = grad((conv2d(x, w, stride=2, padding=1) ** 2).sum(), [w], create_graph=True)
    v = rng.standard_normal(w.shape)
    (hv,) = grad((gw * v).sum(), [w], create_graph=True)
    (third,) = grad((hv * v).sum(), [w], allow_unused=True)
    assert third is None or np.allclose(third.data if isinstance(third, Tensor) else third, 0)
    # Hessian-vector product = 2 * conv_w^T conv_w v, checked against central differences of the gradient
    def g_of(wd):
        wt = Tensor(wd, requires_grad=True)
        (conv2d(Tensor(x.data), wt, stride=2, padding=1) ** 2).sum().backward()
        return wt.grad
    eps = 1e-6
    numeric = (g_of(w.data + eps * v) - g_of(w.data - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.data, numeric, rtol=1e-6, atol=1e-8)


@contextlib.contextmanager
def band_budget(nbytes):
    """Run the convolution kernels with bands of about ``nbytes`` (the default keeps small cases in
    one band; a few bytes force one output row, or a piece of one, per band)."""
    old, conv_module._CHUNK_BYTES = conv_module._CHUNK_BYTES, nbytes
    try:
        yield
    finally:
        conv_module._CHUNK_BYTES = old


def _in_layout(x, layout):
    """x's values stored NCHW, batch-innermost (C, H, W, N), or as a strided slice of a larger array."""
    if layout == "chwn":
        return np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    if layout == "sliced":
        return np.repeat(x, 2, axis=3)[:, :, :, ::2]
    return x


def _conv_and_grads(x, w, b, stride, padding, dilation, g):
    ours = _tensors(x, w, b)
    out = conv2d(*ours, stride, padding, dilation)
    out.backward(g)
    return [out.data] + [a.grad for a in ours if a is not None]


@given(conv_cases(max_side=5), st.sampled_from([1, 8, 40, 200]), st.sampled_from(["nchw", "chwn", "sliced"]))
def test_conv2d_in_small_bands_and_any_input_layout_matches_the_definition(case, budget, layout):
    x, w, b, stride, padding, dilation = case
    expected = conv_reference(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                              stride, padding, dilation)
    g = np.random.default_rng(0).standard_normal(expected.shape).astype(x.dtype)
    whole = _conv_and_grads(x, w, b, stride, padding, dilation, g)
    with band_budget(budget):
        banded = _conv_and_grads(_in_layout(x, layout), w, b, stride, padding, dilation, _in_layout(g, layout))
    tol = 1e-4 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(banded[0], expected, rtol=tol, atol=tol)
    for got, want in zip(banded, whole):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@settings(max_examples=10)
@given(conv_cases(max_side=3, max_channels=2))
def test_conv2d_gradgradcheck_in_one_row_bands(case):
    x, w, b, stride, padding, dilation = case
    with band_budget(1):
        assert gradgradcheck(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation),
                             _tensors(x, w, b))


def test_conv2d_output_is_nchw_shaped_and_an_empty_batch_works():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 2, 6, 5)), rng.standard_normal((4, 2, 3, 2))
    out = conv2d(Tensor(x), Tensor(w), padding=1)
    np.testing.assert_allclose(out.data, conv_reference(x, w, None, (1, 1), (1, 1), (1, 1)), rtol=1e-12)
    assert out.data[2, 3, 1, 4] == out.data.copy()[2, 3, 1, 4]  # a view, indexed as NCHW
    empty = Tensor(np.ones((0, 2, 6, 5)), requires_grad=True)
    wt = Tensor(w, requires_grad=True)
    out = conv2d(empty, wt, stride=2)
    assert out.shape == (0, 4, 2, 2)
    out.sum().backward()
    assert empty.grad.shape == (0, 2, 6, 5) and not wt.grad.any()


# kernels one row or one column high, stride 1 along it: the kernels' shortcuts (no window copy,
# g's rows read in place, the product written straight into the input gradient)
_one_wide = st.sampled_from([(1, 1), (1, 2), (2, 1), (1, 3), (3, 1)])
_unit_strides = st.sampled_from([(1, 1), (1, 2), (2, 1)])


@given(conv_cases(max_side=4, max_channels=4, kernels=_one_wide, strides=_unit_strides), st.sampled_from([1, 40, None]))
def test_conv2d_one_row_or_column_kernels_match_the_definition_and_gradcheck(case, budget):
    x, w, b, stride, padding, dilation = case
    expected = conv_reference(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                              stride, padding, dilation)
    with band_budget(budget or conv_module._CHUNK_BYTES):
        got = conv2d(Tensor(x), Tensor(w), None if b is None else Tensor(b), stride, padding, dilation)
        tol = 1e-4 if x.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got.data, expected, rtol=tol, atol=tol)
        x64, w64, b64 = (None if a is None else a.astype(np.float64) for a in (x, w, b))
        assert gradcheck(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation),
                         _tensors(x64, w64, b64))


def test_conv2d_weight_gradient_with_more_outputs_than_window_values():
    # out channels > in channels * kernel size: the weight gradient's product is taken the other way round
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 1, 5, 4)), rng.standard_normal((7, 1, 2, 2))
    assert gradcheck(lambda x, w: conv2d(x, w, stride=(1, 2)), _tensors(x, w))
    assert gradcheck(lambda x, w: conv2d(x, w, padding=1), _tensors(x, w[:, :, :1, :1]))


def test_conv2d_rules_share_one_copy_of_g_only_while_it_lives():
    rng = np.random.default_rng(4)
    x = Tensor(rng.standard_normal((3, 2, 6, 6)), requires_grad=True)
    w1, w2 = (Tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True) for _ in range(2))
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    y = conv2d(x, w1, b) + conv2d(x, w2, padding=(0, 0))  # both convolutions get the same g from the add
    grads = []
    for seed in (5, 6):  # a second backward with another g through the same graph
        g = np.random.default_rng(seed).standard_normal(y.shape)
        y.backward(g, retain_graph=True)
        grads.append([t.grad for t in (x, w1, w2, b)])
        for t in (x, w1, w2, b):
            t.grad = None
        assert conv_module._stored[0] is None  # g is gone, and its copy with it
        want = [np.zeros_like(x.data), None, None, g.sum(axis=(0, 2, 3))]
        for w, i in ((w1, 1), (w2, 2)):
            wt = Tensor(w.data, requires_grad=True)
            xt = Tensor(x.data, requires_grad=True)
            conv2d(xt, wt).backward(g)
            want[0] += xt.grad
            want[i] = wt.grad
        for got, expected in zip(grads[-1], want):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert not np.allclose(grads[0][1], grads[1][1])


def test_conv2d_one_by_one_kernel_is_a_channel_matmul():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((6, 3, 1, 1))
    out = conv2d(Tensor(x), Tensor(w))
    np.testing.assert_allclose(out.data, np.einsum("nchw,oc->nohw", x, w[:, :, 0, 0]), rtol=1e-12)


def test_conv2d_gradients_stay_float32():
    x = Tensor(np.ones((1, 1, 4, 4), np.float32), requires_grad=True)
    w = Tensor(np.ones((2, 1, 3, 3), np.float32), requires_grad=True)
    b = Tensor(np.zeros(2, np.float32), requires_grad=True)
    conv2d(x, w, b, padding=1).sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    np.testing.assert_array_equal(b.grad, [16, 16])  # one per output pixel


@pytest.mark.parametrize("call, match", [
    (lambda: conv2d(np.ones((3, 5, 5)), np.ones((1, 3, 3, 3))), r"4-D \(N, C, H, W\).*x\[None\]"),
    (lambda: conv2d(np.ones((1, 2, 5, 5)), np.ones((1, 3, 3, 3))), r"weight of shape \(1, 3, 3, 3\).*2 input channels"),
    (lambda: conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))), r"too small for kernel \(3, 3\)"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=0), r"stride must be >= 1"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding=(1, 2, 3)), r"padding must be an int or a pair"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3)), np.ones(3)), r"bias must have shape \(2,\)"),
    (lambda: conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 3, 3))), r"weight must be 4-D"),
])
def test_conv2d_bad_input_is_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- pooling
@given(pool_cases())
def test_pooling_forward_matches_the_direct_definition(case):
    x, kernel, stride, padding = case
    x64 = x.astype(np.float64)
    out = max_pool2d(Tensor(x), kernel, stride, padding)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out.data, pool_reference(x64, kernel, stride, padding, np.max).astype(x.dtype))
    out = avg_pool2d(Tensor(x), kernel, stride, padding)
    assert out.dtype == x.dtype
    np.testing.assert_allclose(out.data, pool_reference(x64, kernel, stride, padding, np.mean), rtol=1e-5, atol=1e-5)


@given(pool_cases(distinct=True))
def test_max_pool2d_gradcheck_and_gradgradcheck(case):
    x, kernel, stride, padding = case
    (t,) = _tensors(x)
    assert gradcheck(lambda t: max_pool2d(t, kernel, stride, padding), t)
    assert gradgradcheck(lambda t: max_pool2d(t, kernel, stride, padding), t)


@given(pool_cases())
def test_avg_pool2d_gradcheck_and_gradgradcheck(case):
    x, kernel, stride, padding = case
    (t,) = _tensors(x)
    assert gradcheck(lambda t: avg_pool2d(t, kernel, stride, padding), t)
    assert gradgradcheck(lambda t: avg_pool2d(t, kernel, stride, padding), t)


def test_max_pool2d_ties_go_to_the_first_maximum_in_row_major_order():
    x = Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    max_pool2d(x, 3, stride=1).sum().backward()
    expected = np.zeros((4, 4))
    expected[:2, :2] = 1  # each of the four windows picks its own top-left element
    np.testing.assert_array_equal(x.grad[0, 0], expected)

    y = np.zeros((1, 1, 2, 2))
    y[0, 0, 0, 1] = y[0, 0, 1, 0] = 1.0  # two maxima: (0, 1) comes first
    t = Tensor(y, requires_grad=True)
    max_pool2d(t, 2).backward(np.array([[[[5.0]]]]))
    np.testing.assert_array_equal(t.grad[0, 0], [[0, 5], [0, 0]])


def test_max_pool2d_padding_never_wins():
    x = Tensor(-np.arange(1.0, 10.0).reshape(1, 1, 3, 3), requires_grad=True)
    out = max_pool2d(x, 3, stride=1, padding=1)
    assert (out.data < 0).all()
    out.sum().backward()
    assert x.grad.sum() == out.size


@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d])
def test_pooling_errors_name_the_problem(fn):
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the kernel size \(3, 3\)"):
        fn(np.ones((1, 1, 6, 6)), 3, padding=2)
    with pytest.raises(ValueError, match="4-D"):
        fn(np.ones((6, 6)), 2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        fn(np.ones((1, 1, 6, 6)), 0)


# ----------------------------------------------------------------------------- against PyTorch
@settings(max_examples=30)
@given(conv_cases(), st.data())
def test_conv_and_pooling_match_pytorch(case, data):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, w, b, stride, padding, dilation = case
    x, w = x.astype(np.float64), w.astype(np.float64)
    b = None if b is None else b.astype(np.float64)
    g = np.random.default_rng(0).standard_normal(conv_reference(x, w, b, stride, padding, dilation).shape)
    ours = _tensors(x, w, b)
    conv2d(*ours, stride, padding, dilation).backward(g)
    theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    F.conv2d(*theirs, stride=stride, padding=padding, dilation=dilation).backward(torch.tensor(g))
    for a, t in zip(ours, theirs):
        if a is not None:
            np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-10, atol=1e-10)

    kernel = data.draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    if min(x.shape[2] - kernel[0], x.shape[3] - kernel[1]) < 0:
        return
    for ours_fn, torch_fn in ((max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)):
        a, t = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = ours_fn(a, kernel), torch_fn(t, kernel)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-12)


def test_graph_labels_show_the_parameters_that_differ_from_the_defaults():
    x = Tensor(np.ones((1, 2, 6, 6)), requires_grad=True)
    w = Tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    labels = [t._prim.label(t._params) for t in (conv2d(x, w), conv2d(x, w, stride=2, padding=(1, 0)),
                                                 max_pool2d(x, 2), avg_pool2d(x, 3, stride=1, padding=1))]
    assert labels == ["conv2d", "conv2d(stride=2, padding=(1, 0))", "max_pool2d(kernel_size=2, stride=2)",
                      "avg_pool2d(kernel_size=3, padding=1)"]


def test_mixed_dtypes_follow_numpy_and_each_gradient_keeps_its_input_dtype():
    x = Tensor(np.ones((1, 1, 3, 3), np.float32), requires_grad=True)
    w = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    out = conv2d(x, w)
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    np.testing.assert_array_equal(w.grad, np.full((1, 1, 2, 2), 4.0))
    w32 = np.ones((1, 1, 2, 2), np.float32)
    assert conv2d(x, w32, np.ones(1)).dtype == np.float64  # a float64 bias promotes too
    assert conv2d(x, w32, np.ones(1, np.float32)).dtype == np.float32


def test_integer_images_average_to_floats_and_keep_their_maxima():
    x = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(avg_pool2d(x, 2).data, [[[[2.5, 4.5], [10.5, 12.5]]]])
    out = max_pool2d(x, 2)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out.data, [[[[5, 7], [13, 15]]]])


def test_a_rule_called_again_with_the_same_g_array_holding_new_values_uses_the_new_values():
    # a replay (autograd.compile with buffers) may hand a rule the same array with new values: the copy
    # of g is shared between one node's inputs only, never carried over to a later call for an input
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    rule = conv_module._conv2d.primitive.vjp
    params = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1))
    g = rng.standard_normal((2, 3, 3, 3))
    out = conv2d(x, w, b).data
    first = [rule(i, g, out, x, w, b, **params) for i in (0, 1, 2)]
    g *= -2.0  # same array, new values
    second = [rule(i, g, out, x, w, b, **params) for i in (1, 2)]  # the weight's first: no input 0 this time
    np.testing.assert_allclose(second[0], -2.0 * first[1], rtol=1e-12)
    np.testing.assert_allclose(second[1], -2.0 * first[2], rtol=1e-12)
