"""Gradients exactly where the rules have ties, kinks and special cases: the regions test_ops.py avoids.

Central differences mean nothing at a tie or a kink, so there the expected gradients are computed
explicitly from the documented convention, for random incoming gradients ``g`` (never ones), in
float32 and float64, on 0-d, size-1 and broadcast shapes, through the first-order path (rules on
arrays) and the ``create_graph=True`` path (the same rules on Tensors):

* tied maxima / minima share ``g`` evenly (reductions and ``maximum`` / ``minimum``);
* ``abs`` and ``relu`` have gradient 0 at 0; ``clip`` has gradient 1 on [lo, hi], bounds included;
* ``a ** b``: base gradient ``b * a ** (b - 1)``, but 0 where ``b == 0``; exponent gradient
  ``a ** b * log(a)``, taken as 0 where ``a <= 0``.

Each strategy plants its region in every example it draws (a tie, an element on a kink, a zero base,
a repeated index), so the fixed sample that CI draws (hypothesis's derandomized ``ci`` profile)
always reaches it; ``@example`` pins the smallest cases.  Away from kinks (non-involutive transposes,
repeated indices, second order through scatter) ``gradcheck`` / ``gradgradcheck`` check as well.
``scripts/mutation_check.py`` plants bugs in the rules and shows these tests catch them.
"""
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import Tensor, gradcheck, gradgradcheck
from autograd.testing import broadcastable_shapes, float_dtypes, shapes

SEEDS = st.integers(0, 2**16)
# for the tests that run many parametrizations or second-order checks: 15 examples under CI=true
QUARTER = settings(max_examples=max(10, settings.default.max_examples // 4))


def small_ints(lo=-2, hi=2):
    return st.integers(lo, hi).map(float)


def incoming(shape, dtype, seed) -> np.ndarray:
    """A random incoming gradient of ``shape``: entries of magnitude in [0.5, 2], random signs."""
    rng = np.random.default_rng(seed)
    return np.asarray(rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)


def sum_to(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """``grad`` summed over the dimensions that broadcasting added to ``shape`` (written out for the tests)."""
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(d for d, n in enumerate(shape) if n == 1 and grad.shape[d] != 1)
    return grad.sum(axis=stretched, keepdims=True)


def assert_gradients(fn, inputs, g, expected):
    """The gradients of ``fn(*inputs)`` seeded with ``g``, for the Tensors among ``inputs`` that require
    grad, equal ``expected`` (float64) to their dtype's precision, in both backward paths."""
    wrt = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    assert len(wrt) == len(expected)
    for create_graph in (False, True):
        grads = ag.grad(fn(*inputs), wrt, g, create_graph=create_graph)
        for k, (got, want, x) in enumerate(zip(grads, expected, wrt)):
            assert got.shape == x.shape and got.dtype == x.dtype, (k, create_graph)
            rtol, atol = (1e-6, 1e-4) if x.dtype == np.float32 else (1e-12, 1e-10)  # sums may cancel
            np.testing.assert_allclose(got.data, want, rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {k} (create_graph={create_graph})")


# ----------------------------------------------------------------------------- ties: max / min reductions

def normalize(axis, ndim):
    if axis is None or ndim == 0:
        return None
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def reduced_slices(shape, axes):
    """Flat positions of the elements each output element reduces over: one row per output element,
    rows in the output's row-major order."""
    reduced = tuple(range(len(shape))) if axes is None else axes
    kept = [d for d in range(len(shape)) if d not in reduced]
    positions = np.arange(math.prod(shape)).reshape(shape)
    return np.transpose(positions, kept + list(reduced)).reshape(-1, math.prod(shape[d] for d in reduced))


@st.composite
def tied_reductions(draw, extremum):
    """(x, axis, keepdims, seed): integer-valued x in which every reduced slice of two or more elements
    has its ``extremum`` (np.max or np.min) tied: it is copied onto another element of the slice."""
    dt = draw(float_dtypes())
    x = draw(hnp.arrays(dt, shapes(max_side=3), elements=small_ints())).copy()
    one = st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)
    axis = draw(st.one_of(st.none(), one, st.lists(one, max_size=x.ndim, unique_by=lambda a: a % x.ndim).map(tuple)))
    flat = x.reshape(-1)
    for row in reduced_slices(x.shape, normalize(axis, x.ndim)):
        if len(row) > 1:
            j = int(np.flatnonzero(flat[row] == extremum(flat[row]))[0])
            k = (j + 1 + draw(st.integers(0, len(row) - 2))) % len(row)
            flat[row[k]] = flat[row[j]]
    return x, axis, draw(st.booleans()), draw(SEEDS)


def check_tied_reduction(name, case):
    x, axis, keepdims, seed = case
    extremum = {"max": np.max, "min": np.min}[name]
    xt = Tensor(x, requires_grad=True)
    out = getattr(xt, name)(axis, keepdims)
    np.testing.assert_array_equal(out.data, extremum(x, axis=normalize(axis, x.ndim), keepdims=keepdims))
    g = incoming(out.shape, x.dtype, seed)
    expected, flat, g_rows = np.zeros(x.size), x.reshape(-1), g.astype(np.float64).reshape(-1)
    for r, row in enumerate(reduced_slices(x.shape, normalize(axis, x.ndim))):
        winners = row[flat[row] == extremum(flat[row])]
        expected[winners] += g_rows[r] / len(winners)
    assert_gradients(lambda x: getattr(x, name)(axis, keepdims), (xt,), g, [expected.reshape(x.shape)])


@given(case=tied_reductions(np.max))
@example(case=(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), 1, False, 0))
@example(case=(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), None, False, 5))
@example(case=(np.ones((2, 2, 2), np.float32), None, True, 1))
@example(case=(np.array([[[0.0, 0.0], [1.0, 1.0]]]), (0, -1), True, 2))
@example(case=(np.array(4.0, np.float32), None, False, 3))
@example(case=(np.array([5.0]), 0, False, 4))
def test_max_ties_share_the_gradient_evenly(case):
    check_tied_reduction("max", case)


@given(case=tied_reductions(np.min))
@example(case=(np.array([[1.0, 1.0, 3.0], [0.0, 5.0, 0.0]], np.float32), -1, True, 0))
@example(case=(np.zeros((3, 1, 2)), (0, 2), False, 1))
@example(case=(np.array(-2.0), 0, True, 2))
def test_min_ties_share_the_gradient_evenly(case):
    check_tied_reduction("min", case)


# ----------------------------------------------------------------------------- ties: maximum / minimum

@st.composite
def tied_pairs(draw):
    """(a, b, mode, seed): integer-valued operands of broadcastable shapes, tied at the first output
    element; mode: both require grad, b is a constant ndarray, or b is a itself."""
    dt = draw(float_dtypes())
    sa, sb = draw(broadcastable_shapes(2, max_side=3))
    a = draw(hnp.arrays(dt, sa, elements=small_ints(-1, 1))).copy()
    b = draw(hnp.arrays(dt, sb, elements=small_ints(-1, 1))).copy()
    b.reshape(-1)[0] = a.reshape(-1)[0]
    return a, b, draw(st.sampled_from(["tensors", "constant", "same"])), draw(SEEDS)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(case=tied_pairs())
@example(case=(np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0]), "tensors", 0))
@example(case=(np.array(1.0, np.float32), np.ones((2, 3), np.float32), "tensors", 1))
@example(case=(np.array([[1.0], [2.0]]), np.array([[1.0, 2.0, 3.0]]), "constant", 2))
@example(case=(np.array([2.0, -1.0], np.float32), None, "same", 3))
def test_maximum_minimum_ties_split_evenly(name, case):
    a, b, mode, seed = case
    fn = getattr(ag, name)
    at = Tensor(a, requires_grad=True)
    if mode == "same":
        g = incoming(a.shape, a.dtype, seed)
        assert_gradients(lambda x: fn(x, x), (at,), g, [g.astype(np.float64)])  # 1/2 + 1/2 of g
        return
    bt = Tensor(b, requires_grad=True) if mode == "tensors" else b
    np.testing.assert_array_equal(fn(at, bt).data, getattr(np, name)(a, b))
    A, B = np.broadcast_arrays(a.astype(np.float64), b.astype(np.float64))
    a_wins, b_wins = (A > B, B > A) if name == "maximum" else (A < B, B < A)
    g = incoming(A.shape, a.dtype, seed)
    share = g.astype(np.float64) * np.where(A == B, 0.5, 1.0)
    expected = [sum_to(share * a_wins + share * (A == B), a.shape)]
    if mode == "tensors":
        expected.append(sum_to(share * b_wins + share * (A == B), b.shape))
    assert_gradients(fn, (at, bt), g, expected)


# ----------------------------------------------------------------------------- kinks: abs, relu, clip

@st.composite
def at_zero(draw):
    """(x, seed): x with elements among 0, -0.0 and a few others, its first element 0."""
    dt = draw(float_dtypes())
    x = draw(hnp.arrays(dt, shapes(max_side=3), elements=st.sampled_from([0.0, -0.0, 0.5, -0.5, 2.0, -3.0]))).copy()
    x.reshape(-1)[0] = 0.0
    return x, draw(SEEDS)


@pytest.mark.parametrize("name", ["abs", "relu"])
@given(case=at_zero())
@example(case=(np.array(0.0), 0))
@example(case=(np.array([0.0], np.float32), 1))
@example(case=(np.array([[-0.0, 0.0, 1.0, -1.0]]), 2))
def test_abs_and_relu_have_gradient_zero_at_zero(name, case):
    x, seed = case
    g = incoming(x.shape, x.dtype, seed).astype(np.float64)
    slope = np.where(x > 0, 1.0, np.where(x < 0, -1.0 if name == "abs" else 0.0, 0.0))
    assert_gradients(getattr(ag, name), (Tensor(x, requires_grad=True),), g.astype(x.dtype), [g * slope])


def within(shape):
    """Shapes that broadcast to ``shape`` without widening it: trailing dimensions, some of them 1."""
    return st.integers(0, len(shape)).flatmap(
        lambda k: st.tuples(*(st.sampled_from([n, 1]) for n in shape[len(shape) - k:])))


@st.composite
def on_clip_bounds(draw):
    """(x, lo, hi, seed): integer-valued x; bounds that are numbers, arrays broadcasting to x's shape or
    None, lo <= 0 <= hi; x planted on lo at the first output element and on hi at the last (one of the
    two when x has one element)."""
    dt = draw(float_dtypes())
    sx = draw(shapes(max_side=3))
    slo, shi = draw(within(sx)), draw(within(sx))
    x = draw(hnp.arrays(dt, sx, elements=small_ints(-3, 3))).copy()
    kinds = draw(st.sampled_from([("number", "number"), ("array", "number"), ("number", "array"), ("array", "array"),
                                  ("number", None), (None, "number"), ("array", None), (None, "array")]))
    bounds = []
    for kind, shape, values in zip(kinds, (slo, shi), (small_ints(-2, 0), small_ints(0, 2))):
        bounds.append(None if kind is None else draw(values) if kind == "number" else
                      draw(hnp.arrays(dt, shape, elements=values)))
    lo, hi = bounds
    flat = x.reshape(-1)
    plant_lo = lo is not None and (hi is None or flat.size > 1 or draw(st.booleans()))
    if plant_lo:
        flat[0] = np.reshape(lo, -1)[0]
    if hi is not None and (flat.size > 1 or not plant_lo):
        flat[-1] = np.reshape(hi, -1)[-1]
    return x, lo, hi, draw(SEEDS)


def check_clip(x, lo, hi, seed):
    out = np.clip(x, lo, hi)
    g = incoming(out.shape, x.dtype, seed)
    xb = np.broadcast_to(x, out.shape)
    low, high = -np.inf if lo is None else lo, np.inf if hi is None else hi
    inside = (low <= xb) & (xb <= high)
    assert_gradients(lambda x: ag.clip(x, lo, hi), (Tensor(x, requires_grad=True),), g,
                    [sum_to(g.astype(np.float64) * inside, x.shape)])


@given(case=on_clip_bounds())
@example(case=(np.array([-1.0, 0.0, 1.0, 2.0]), -1.0, 1.0, 0))
@example(case=(np.array(0.0, np.float32), 0.0, 0.0, 1))  # lo == hi: the one point inside
@example(case=(np.array([[0.0, 2.0, -2.0], [-2.0, 0.0, 1.0]]), np.array([0.0, -1.0, -2.0]), None, 2))
@example(case=(np.array([[1.0], [0.0]], np.float32), None, np.array([[1.0], [0.0]], np.float32), 3))
def test_clip_gradient_is_one_on_the_bounds(case):
    check_clip(*case)


@pytest.mark.parametrize("x, lo, hi", [
    (np.array([[0.0], [-2.0]]), np.array([0.0, -1.0, -2.0]), None),
    (np.array([1.0], np.float32), None, np.array([[1.0], [0.0]], np.float32)),
], ids=["lo widens", "hi widens"])
def test_clip_bounds_that_widen_the_output(x, lo, hi):
    check_clip(x, lo, hi, seed=0)


# ----------------------------------------------------------------------------- pow at a zero base

EXPONENTS = [0, 0.0, 1, 1.0, 2, 3, 2.5, 0.5, -1, -2, -0.5, np.int64(3), np.float32(2.0)]


def base_slope(a: float, b: float) -> float:
    """d(a ** b)/da as the rule defines it: 0 where b == 0 (a ** 0 is constant), else b * a ** (b - 1),
    which at a == 0 is 1 for b == 1, 0 for b > 1, +inf for 0 < b < 1 and -inf for b < 0."""
    if b == 0:
        return 0.0
    if a == 0:
        return 1.0 if b == 1 else 0.0 if b > 1 else math.inf if b > 0 else -math.inf
    return b * a ** (b - 1)


def exponent_slope(a: float, b: float) -> float:
    """d(a ** b)/db as the rule defines it: a ** b * log(a), taken as 0 where a <= 0."""
    return a ** b * math.log(a) if a > 0 else 0.0


@st.composite
def zero_bases(draw):
    """(a, seed): bases among 0, 0.5, 2 and -1.5, the first one 0."""
    dt = draw(float_dtypes())
    a = draw(hnp.arrays(dt, shapes(max_side=3), elements=st.sampled_from([0.0, 0.5, 2.0, -1.5]))).copy()
    a.reshape(-1)[0] = 0.0
    return a, draw(SEEDS)


@pytest.mark.parametrize("b", EXPONENTS, ids=lambda b: f"{type(b).__name__}({b})")
@QUARTER
@given(case=zero_bases())
@example(case=(np.array(0.0), 0))
@example(case=(np.array([0.0, 0.0], np.float32), 1))
def test_pow_with_a_number_exponent_at_a_zero_base(b, case):
    a, seed = case
    if not float(b).is_integer():
        a = np.abs(a)  # a negative base to a non-integer power is nan
    g = incoming(a.shape, a.dtype, seed)
    expected = g.astype(np.float64) * np.vectorize(base_slope, otypes=[float])(a.astype(np.float64), float(b))
    finite = b == 0 or b >= 1
    with np.errstate(all="raise") if finite else np.errstate(divide="ignore", invalid="ignore"):
        assert_gradients(lambda x: x ** b, (Tensor(a, requires_grad=True),), g, [expected])  # no warning if finite


@st.composite
def tensor_exponents(draw):
    """(a, b, seed): bases with zeros (and negative values when the exponents are integers) and exponents
    0, 1, 2, 3 (or 1.5, 2.5 on non-negative bases), of broadcastable shapes, planted 0 ** 0 first."""
    dt = draw(float_dtypes())
    sa, sb = draw(broadcastable_shapes(2, max_side=3))
    integer = draw(st.booleans())
    a = draw(hnp.arrays(dt, sa, elements=st.sampled_from([0.0, 0.5, 2.0] + ([-1.5] if integer else [])))).copy()
    b = draw(hnp.arrays(dt, sb, elements=st.sampled_from([0.0, 1.0, 2.0, 3.0] if integer else [0.0, 1.5, 2.5]))).copy()
    a.reshape(-1)[0] = b.reshape(-1)[0] = 0.0
    return a, b, draw(SEEDS)


@given(case=tensor_exponents())
@example(case=(np.array([0.0, 0.0, 0.0, 2.0]), np.array([0.0, 1.0, 2.0, 0.0]), 0))
@example(case=(np.array(0.0, np.float32), np.array([[0.0], [1.0], [2.5]], np.float32), 1))
def test_pow_with_a_tensor_exponent_at_a_zero_base(case):
    a, b, seed = case
    A, B = (v.astype(np.float64) for v in np.broadcast_arrays(a, b))
    g = incoming(A.shape, a.dtype, seed)
    g64 = g.astype(np.float64)
    expected = [sum_to(g64 * np.vectorize(slope, otypes=[float])(A, B), s.shape)
                for slope, s in ((base_slope, a), (exponent_slope, b))]
    with np.errstate(all="raise"):
        assert_gradients(lambda a, b: a ** b, (Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)), g, expected)


@QUARTER
@given(dt=float_dtypes(), ab=broadcastable_shapes(2, max_side=3), data=st.data())
def test_pow_with_a_tensor_exponent_gradcheck(dt, ab, data):
    a = data.draw(hnp.arrays(dt, ab[0], elements=st.floats(0.25, 3.0, width=32)))
    b = data.draw(hnp.arrays(dt, ab[1], elements=st.sampled_from([0.0, 1.0, 2.0, -1.0, 0.5, -2.5])))
    inputs = (Tensor(a, requires_grad=True), Tensor(b, requires_grad=True))
    assert gradcheck(lambda a, b: a ** b, inputs) and gradgradcheck(lambda a, b: a ** b, inputs)


# ----------------------------------------------------------------------------- non-involutive transposes

@st.composite
def cyclic_transposes(draw):
    """(x, axes, form): 3 or 4 axes permuted by a cycle of 3 or more axes (never its own inverse),
    maybe written with negative axes; cubic shapes included, where a wrong inverse keeps the shape."""
    dt = draw(float_dtypes())
    ndim = draw(st.integers(3, 4))
    side = 3 if ndim == 3 else 2
    shape = draw(st.one_of(st.integers(2, side).map(lambda n: (n,) * ndim), shapes(min_dims=ndim, max_dims=ndim,
                                                                                    max_side=side)))
    order, k = draw(st.permutations(range(ndim))), draw(st.integers(3, ndim))
    axes = list(range(ndim))
    for i in range(k):
        axes[order[i]] = order[(i + 1) % k]
    axes = tuple(draw(st.sampled_from([a, a - ndim])) for a in axes)
    x = draw(hnp.arrays(dt, shape, elements=st.floats(-4, 4, width=32)))
    return x, axes, draw(st.sampled_from(["tuple", "args", "function", "np.transpose"]))


def apply_transpose(x, axes, form):
    if form == "tuple":
        return x.transpose(axes)
    if form == "args":
        return x.transpose(*axes)
    return ag.transpose(x, axes) if form == "function" else np.transpose(x, axes)


@given(case=cyclic_transposes(), seed=SEEDS)
@example(case=(np.arange(24.0).reshape(2, 3, 4), (1, 2, 0), "tuple"), seed=0)
@example(case=(np.arange(8.0, dtype=np.float32).reshape(2, 2, 2), (2, 0, 1), "args"), seed=1)
@example(case=(np.arange(16.0).reshape(2, 2, 2, 2), (-3, -2, -1, -4), "function"), seed=2)
def test_transpose_gradient_is_the_inverse_permutation(case, seed):
    x, axes, form = case
    positive = [a % x.ndim for a in axes]
    inverse = [0] * x.ndim
    for i, a in enumerate(positive):
        inverse[a] = i
    assert inverse != positive  # not an involution
    g = incoming(np.transpose(x, positive).shape, x.dtype, seed)
    assert_gradients(lambda x: apply_transpose(x, axes, form), (Tensor(x, requires_grad=True),), g,
                    [np.transpose(g.astype(np.float64), inverse)])


@QUARTER
@given(case=cyclic_transposes())
def test_transpose_gradcheck_on_cycles(case):
    x, axes, form = case
    fn = lambda x: apply_transpose(x, axes, form)  # noqa: E731
    assert gradcheck(fn, Tensor(x, requires_grad=True)) and gradgradcheck(fn, Tensor(x, requires_grad=True))


# ----------------------------------------------------------------------------- repeated indices

@st.composite
def repeated_indices(draw):
    """(x, index): integer index arrays with a repeated row (the last entry names the first one's row,
    maybe as a negative index), alone, mixed with slices and Ellipsis, or two arrays broadcasting."""
    dt = draw(float_dtypes())
    x = draw(hnp.arrays(dt, shapes(min_dims=1, max_side=3), elements=st.floats(-4, 4, width=32)))

    def rows(axis, shape=None):
        n = x.shape[axis]
        shape = shape or (draw(st.integers(2, 4)),)
        idx = draw(hnp.arrays(np.intp, shape, elements=st.integers(-n, n - 1))).copy()
        idx.reshape(-1)[-1] = idx.reshape(-1)[0] + draw(st.sampled_from([0, -n if idx.reshape(-1)[0] >= 0 else n]))
        return idx

    kinds = ["alone", "2-d array", "ellipsis"] + (["with slice", "slice first", "broadcast"] if x.ndim >= 2 else []) \
        + (["split by a slice"] if x.ndim == 3 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "alone":
        return x, rows(0)
    if kind == "2-d array":
        return x, rows(0, (2, 3))
    if kind == "ellipsis":
        return x, (Ellipsis, rows(-1))
    if kind == "with slice":
        return x, (rows(0), draw(st.sampled_from([slice(None), slice(None, None, -1), slice(1, None)])))
    if kind == "slice first":
        return x, (slice(None), rows(1))
    if kind == "broadcast":
        return x, (rows(0)[:, None], rows(1)[None, :])
    return x, (rows(0), slice(None), rows(2)[:1])  # advanced axes apart: they go first in the result


def gathered_positions(shape, index):
    """The flat position in ``x`` of each element of ``x[index]``."""
    return np.arange(math.prod(shape)).reshape(shape)[index]


@given(case=repeated_indices(), seed=SEEDS)
@example(case=(np.arange(4.0), np.array([0, 0, 2, -1, 0])), seed=0)
@example(case=(np.arange(6.0, dtype=np.float32).reshape(2, 3), (np.array([1, -1]), slice(None))), seed=1)
@example(case=(np.arange(6.0).reshape(2, 3), (np.array([[0], [0]]), np.array([[2, -1]]))), seed=2)
@example(case=(np.arange(6.0).reshape(2, 3), (np.array([1, 1]), np.array([2, 2]))), seed=3)
def test_repeated_indices_accumulate(case, seed):
    x, index = case
    pos = gathered_positions(x.shape, index)
    g = incoming(pos.shape, x.dtype, seed)
    expected = np.bincount(pos.reshape(-1), weights=g.astype(np.float64).reshape(-1), minlength=x.size)
    xt = Tensor(x, requires_grad=True)
    assert_gradients(lambda x: x[index], (xt,), g, [expected.reshape(x.shape)])
    assert gradcheck(lambda x: x[index], xt)


@given(case=repeated_indices(), seed=SEEDS)
@example(case=(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 2])), seed=0)
def test_second_order_through_scatter_with_repeated_indices(case, seed):
    x, index = case
    pos = gathered_positions(x.shape, index).reshape(-1)
    c, v = incoming(pos.shape, np.float64, seed), incoming(x.shape, np.float64, seed + 1)
    xt = Tensor(x, requires_grad=True)
    # d/dx of sum(c * x[index] ** 2) is 2 x C (C: c summed at each position), so its product with v has
    # gradient 2 v C
    (gx,) = ag.grad((c.reshape(np.shape(x[index])).astype(x.dtype) * xt[index] ** 2).sum(), xt, create_graph=True)
    (hv,) = ag.grad(gx, xt, v.astype(x.dtype))
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(hv.data, 2 * v * np.bincount(pos, weights=c, minlength=x.size).reshape(x.shape),
                               rtol=tol, atol=tol)
    # the gradient of getitem is scatter(g); scatter's own gradient gathers: v[index]
    gt = Tensor(incoming(np.shape(pos), x.dtype, seed).reshape(np.shape(x[index])), requires_grad=True)
    (gx,) = ag.grad(xt[index], xt, gt, create_graph=True)
    (back,) = ag.grad(gx, gt, v.astype(x.dtype))
    np.testing.assert_allclose(back.data, v.reshape(-1)[pos].reshape(gt.shape), rtol=tol, atol=tol)
    assert gradgradcheck(lambda x: x[index], xt)


def test_pow_gradient_wrt_the_exponent_is_zero_at_a_zero_base_even_for_negative_exponents():
    a = Tensor([0.0, 0.0, 2.0], requires_grad=True)
    b = Tensor([-1.0, 2.0, 3.0], requires_grad=True)
    with np.errstate(divide="ignore"):  # 0 ** -1 is inf in the forward, as NumPy's
        (a ** b).sum().backward()
    assert b.grad[0] == 0.0 and b.grad[1] == 0.0 and np.isclose(b.grad[2], 8.0 * np.log(2.0))
