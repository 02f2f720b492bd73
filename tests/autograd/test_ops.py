"""Every primitive and composite: forward values against NumPy, gradients against central differences.

``CASES`` is the registry of the tests: each case draws a function of some tensors (with its
parameters: axis, index, shape...), a NumPy reference for its forward value and the inputs, on
generated shapes that include 0-d, size-1 and broadcast dimensions, in float32 and float64.
Three tests run over it: forward vs NumPy (and dtype kept), gradcheck, and gradgradcheck
(second order through ``create_graph=True``).  ``test_every_primitive_is_covered`` fails when a
primitive is added to ``autograd.ops`` or ``autograd.shape_ops`` without a case here.  Functions with kinks (abs, relu,
clip, maximum, max...) get inputs kept away from them here, where central differences work; the kinks and ties
themselves, zero bases, non-involutive transposes and repeated indices are tested in ``test_ops_regions.py``.
"""
import dataclasses
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd import Tensor, gradcheck, gradgradcheck
from autograd.primitive import EXPORTS, built_in_primitives
from autograd.shape_ops import scatter
from autograd.testing import broadcastable_shapes, float_dtypes, matmul_shapes, shapes, tensors


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    draw: st.SearchStrategy  # -> Example
    covers: tuple  # names of the primitives the function records
    second_order: bool = True

    def __repr__(self):
        return self.name


@dataclasses.dataclass
class Example:
    fn: Callable  # Tensors -> Tensor
    ref: Callable  # float64 ndarrays -> ndarray
    args: tuple  # Tensors (and constants) for fn
    dtype: np.dtype = None  # expected output dtype (default: that of the tensor inputs)


# ----------------------------------------------------------------------------- strategies

def example(fn, ref, *arg_strategies):
    """A strategy of Examples with fixed fn/ref; all tensor arguments share one dtype."""
    return float_dtypes().flatmap(
        lambda dt: st.tuples(*(s(dt) for s in arg_strategies)).map(lambda args: Example(fn, ref, args)))


def t(**kw):
    """A tensor strategy for a given dtype: ``t(min_value=0.1)(np.float32)``."""
    return lambda dt: tensors(dtype=dt, **kw)


def shaped(**kw):
    return lambda shape: (lambda dt: tensors(shape, dt, **kw))


def unary(fn, ref, **kw):
    return example(fn, ref, t(**kw))


def binary(fn, ref, a_kw=None, b_kw=None, grid=False):
    """Two tensors of mutually broadcastable shapes (0-d and size-1 dimensions included).

    ``grid``: a on integers + 0.25 and b on integers + 0.75, so no element of a ever ties with
    one of b (maximum/minimum have a kink there).
    """
    a_kw, b_kw = a_kw or {}, b_kw or {}

    def build(dt_shapes):
        dt, (sa, sb) = dt_shapes
        a, b = tensors(sa, dt, **a_kw), tensors(sb, dt, **b_kw)
        if grid:
            a = a.map(lambda x: Tensor(np.round(x.data) + 0.25, requires_grad=True))
            b = b.map(lambda x: Tensor(np.round(x.data) + 0.75, requires_grad=True))
        return st.tuples(a, b).map(lambda ab: Example(fn, ref, ab))

    return st.tuples(float_dtypes(), broadcastable_shapes(2)).flatmap(build)


def axes_for(ndim, allow_tuple=True, allow_none=True):
    """None, an int (maybe negative) or a tuple of distinct axes (maybe negative) of ``ndim`` dims."""
    options = []
    if allow_none:
        options.append(st.none())
    if ndim:
        one = st.integers(0, ndim - 1).flatmap(lambda a: st.sampled_from([a, a - ndim]))
        options.append(one)
        if allow_tuple:
            options.append(st.lists(one, max_size=ndim, unique_by=lambda a: a % ndim).map(tuple))
    else:
        options.append(st.sampled_from([0, -1]))  # NumPy reduces a 0-d array over axis 0 or -1
    return st.one_of(*options)


@st.composite
def reduction(draw, fn, ref, **kw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt, **kw))
    axis = draw(axes_for(x.ndim))
    keepdims = draw(st.booleans())
    ref_axis = None if x.ndim == 0 else axis  # np.mean refuses axis=0 on a 0-d array, np.sum accepts it
    return Example(lambda x: fn(x, axis, keepdims), lambda x: ref(x, axis=ref_axis, keepdims=keepdims), (x,))


@st.composite
def along_axis(draw, fn, ref, min_dims=1, **kw):
    """fn(x, axis) for softmax-like functions, axis an int (maybe negative)."""
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt, min_dims=min_dims, **kw))
    axis = draw(axes_for(x.ndim, allow_tuple=False, allow_none=False))
    return Example(lambda x: fn(x, axis), lambda x: ref(x, axis), (x,))


def _np_logsumexp(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_log_softmax(x, axis):
    return x - _np_logsumexp(x, axis, keepdims=True)


@st.composite
def logsumexp_case(draw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt))
    axis = draw(axes_for(x.ndim))
    keepdims = draw(st.booleans())
    return Example(lambda x: ag.logsumexp(x, axis, keepdims),
                   lambda x: _np_logsumexp(x, axis, keepdims=keepdims), (x,))


@st.composite
def matmul_case(draw):
    dt = draw(float_dtypes())
    sa, sb = draw(matmul_shapes())
    a, b = draw(tensors(sa, dt)), draw(tensors(sb, dt))
    form = draw(st.sampled_from(["@", "matmul", "np.matmul"]))
    fn = {"@": lambda a, b: a @ b, "matmul": ag.matmul, "np.matmul": np.matmul}[form]
    return Example(fn, np.matmul, (a, b))


@st.composite
def where_case(draw):
    dt = draw(float_dtypes())
    sc, sa, sb = draw(broadcastable_shapes(3))
    cond = draw(hnp.arrays(np.bool_, sc))
    a, b = draw(tensors(sa, dt)), draw(tensors(sb, dt))
    return Example(lambda c, a, b: ag.where(c, a, b), np.where, (cond, a, b))


@st.composite
def reshape_case(draw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt))
    n = x.size
    target = draw(st.sampled_from([(n,), (-1,), (1, n), (n, 1, 1), tuple(reversed(x.shape)), (1,) + x.shape, ()
                                   if n == 1 else (n,)]))
    if target and draw(st.booleans()):  # one entry replaced by -1
        k = draw(st.integers(0, len(target) - 1))
        target = target[:k] + (-1,) + target[k + 1:]
    form = draw(st.sampled_from(["tuple", "args", "function", "np.reshape"]))
    fn = {
        "tuple": lambda x: x.reshape(target),
        "args": lambda x: x.reshape(*target),
        "function": lambda x: ag.reshape(x, target),
        "np.reshape": lambda x: np.reshape(x, target),
    }[form]
    if form == "args" and not target:
        fn = lambda x: x.reshape(())  # noqa: E731  (x.reshape() with no argument is not NumPy's either)
    return Example(fn, lambda x: x.reshape(target), (x,))


@st.composite
def transpose_case(draw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt))
    perm = draw(st.permutations(range(x.ndim)))
    perm = tuple(draw(st.sampled_from([a, a - x.ndim])) for a in perm)
    form = draw(st.sampled_from(["reverse", "T", "tuple", "args", "function", "swapaxes"]))
    if form == "reverse":
        return Example(lambda x: x.transpose(), np.transpose, (x,))
    if form == "T":
        return Example(lambda x: x.T, lambda x: x.T, (x,))
    if form == "tuple":
        return Example(lambda x: x.transpose(perm), lambda x: x.transpose(perm), (x,))
    if form == "args":
        return Example(lambda x: x.transpose(*perm), lambda x: x.transpose(perm), (x,))
    if form == "function":
        return Example(lambda x: ag.transpose(x, perm), lambda x: x.transpose(perm), (x,))
    if x.ndim == 0:
        return Example(lambda x: x.transpose(), np.transpose, (x,))
    a1, a2 = draw(st.integers(-x.ndim, x.ndim - 1)), draw(st.integers(-x.ndim, x.ndim - 1))
    return Example(lambda x: x.swapaxes(a1, a2), lambda x: np.swapaxes(x, a1, a2), (x,))


@st.composite
def expand_dims_case(draw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt))
    axis = draw(st.integers(-x.ndim - 1, x.ndim))
    return Example(lambda x: ag.expand_dims(x, axis), lambda x: np.expand_dims(x, axis), (x,))


@st.composite
def swapaxes_case(draw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt, min_dims=1))
    a, b = draw(st.integers(-x.ndim, x.ndim - 1)), draw(st.integers(-x.ndim, x.ndim - 1))
    return Example(lambda x: x.swapaxes(a, b), lambda x: np.swapaxes(x, a, b), (x,))


@st.composite
def squeeze_case(draw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt, min_side=1, max_side=2))
    ones = [a for a, n in enumerate(x.shape) if n == 1]
    axis = draw(st.one_of(st.none(), st.lists(st.sampled_from(ones), unique=True).map(tuple) if ones else st.none(),
                          st.sampled_from(ones) if ones else st.none()))
    return Example(lambda x: x.squeeze(axis), lambda x: np.squeeze(x, axis), (x,))


@st.composite
def broadcast_to_case(draw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt))
    other = draw(hnp.broadcastable_shapes(x.shape, min_dims=0, max_dims=4, max_side=3))
    target = np.broadcast_shapes(x.shape, other)
    return Example(lambda x: x.broadcast_to(target), lambda x: np.broadcast_to(x, target), (x,))


@st.composite
def index_for(draw, shape):
    """An index of ``shape``: basic (slices, ints, None, Ellipsis), integer arrays (with
    repeats), a boolean mask, or integer arrays mixed with a slice."""
    kinds = ["basic"] + (["int_array", "bool_mask", "mixed"] if shape else ["bool_mask"])
    kind = draw(st.sampled_from(kinds))
    if kind == "basic":
        return draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    if kind == "int_array":
        return draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2)))
    if kind == "bool_mask":
        k = draw(st.integers(min(1, len(shape)), len(shape)))
        return draw(hnp.arrays(np.bool_, shape[:k]))
    # one integer array on the first axis (repeats allowed), a slice or an Ellipsis after it
    rows = draw(hnp.arrays(np.intp, draw(st.integers(1, 5)), elements=st.integers(-shape[0], shape[0] - 1)))
    rest = draw(st.sampled_from([slice(None), slice(None, None, -1), Ellipsis, slice(1, None)]))
    return (rows, rest) if len(shape) > 1 else (rows,)


@st.composite
def getitem_case(draw):
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt))
    index = draw(index_for(x.shape))
    return Example(lambda x: x[index], lambda x: x[index], (x,))


@st.composite
def scatter_case(draw):
    """The adjoint of getitem (recorded when a getitem VJP runs under create_graph)."""
    dt = draw(float_dtypes())
    shape = draw(shapes())
    index = draw(index_for(shape))
    g = draw(tensors(np.zeros(shape)[index].shape, dt))

    def ref(g):
        out = np.zeros(shape, g.dtype)
        np.add.at(out, index, g)
        return out

    return Example(lambda g: scatter(g, shape, index), ref, (g,))


@st.composite
def concatenate_case(draw):
    dt = draw(float_dtypes())
    base = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(base), len(base) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = []
    for n in sizes:
        s = list(base)
        s[axis] = n
        parts.append(draw(tensors(tuple(s), dt)))
    form = draw(st.sampled_from(["list", "tuple", "np.concatenate"]))
    fn = (lambda *xs: np.concatenate(xs, axis=axis)) if form == "np.concatenate" else (
        lambda *xs: ag.concatenate(list(xs) if form == "list" else xs, axis))
    return Example(fn, lambda *xs: np.concatenate(xs, axis=axis), tuple(parts))


@st.composite
def stack_case(draw):
    dt = draw(float_dtypes())
    shape = draw(shapes())
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    parts = draw(st.lists(tensors(shape, dt), min_size=1, max_size=3))
    return Example(lambda *xs: ag.stack(xs, axis), lambda *xs: np.stack(xs, axis), tuple(parts))


@st.composite
def astype_case(draw):
    # to float64 only: gradcheck's numerical pass needs float64 outputs (float32 targets: below)
    dt = draw(float_dtypes())
    x = draw(tensors(dtype=dt))
    return Example(lambda x: x.astype(np.float64), lambda x: x, (x,), dtype=np.dtype(np.float64))


@st.composite
def constant_operand(draw, op, ref):
    """op(tensor, constant) and op(constant, tensor) with Python / NumPy scalars and ndarrays."""
    dt = draw(float_dtypes())
    sa, sb = draw(broadcastable_shapes(2))
    x = draw(tensors(sa, dt))
    kind = draw(st.sampled_from(["float", "int", "ndarray"]))
    if kind == "ndarray":
        c = draw(hnp.arrays(dt, sb, elements=st.floats(0.5, 4, width=32)))
    else:
        c = draw(st.floats(0.5, 4) if kind == "float" else st.integers(1, 4))
    if draw(st.booleans()):
        return Example(lambda x: op(x, c), lambda x: ref(x, c), (x,))
    return Example(lambda x: op(c, x), lambda x: ref(c, x), (x,))


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # a reference that cannot overflow
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


CASES = [
    # arithmetic (broadcasting, 0-d and size-1 dims from broadcastable_shapes)
    Case("add", binary(lambda a, b: a + b, np.add), ("add",)),
    Case("sub", binary(lambda a, b: a - b, np.subtract), ("sub",)),
    Case("mul", binary(lambda a, b: a * b, np.multiply), ("mul",)),
    Case("div", binary(lambda a, b: a / b, np.divide, b_kw=dict(away_from=[0.0], min_distance=0.5)), ("div",)),
    Case("pow", binary(lambda a, b: a ** b, np.power, a_kw=dict(min_value=0.1, max_value=4),
                       b_kw=dict(min_value=-3, max_value=3)), ("pow",)),
    Case("add_const", constant_operand(lambda a, b: a + b, np.add), ("add",)),
    Case("sub_const", constant_operand(lambda a, b: a - b, np.subtract), ("sub",)),
    Case("mul_const", constant_operand(lambda a, b: a * b, np.multiply), ("mul",)),
    Case("div_const", example(lambda x: 2.0 / x - x / 3, lambda x: 2.0 / x - x / 3,
                              t(away_from=[0.0], min_distance=0.5)), ("div", "sub")),
    Case("neg", unary(lambda x: -x, np.negative), ("neg",)),
    Case("pow_int", unary(lambda x: x ** 3, lambda x: x ** 3), ("pow",)),
    Case("pow_zero", unary(lambda x: x ** 0, lambda x: x ** 0), ("pow",)),
    Case("pow_half", unary(lambda x: x ** 0.5, np.sqrt, min_value=0.1), ("pow",)),
    Case("pow_negative", unary(lambda x: x ** -1.5, lambda x: x ** -1.5, min_value=0.1), ("pow",)),
    Case("rpow", unary(lambda x: 2.0 ** x, lambda x: 2.0 ** x), ("pow",)),
    Case("matmul", matmul_case(), ("matmul",)),
    # elementwise functions
    Case("exp", unary(ag.exp, np.exp), ("exp",)),
    Case("log", unary(ag.log, np.log, min_value=0.1), ("log",)),
    Case("sqrt", unary(lambda x: x.sqrt(), np.sqrt, min_value=0.1), ("sqrt",)),
    Case("abs", unary(ag.abs, np.abs, away_from=[0.0]), ("abs",)),
    Case("sin", unary(ag.sin, np.sin), ("sin",)),
    Case("cos", unary(lambda x: x.cos(), np.cos), ("cos",)),
    Case("sigmoid", unary(ag.sigmoid, _sigmoid), ("sigmoid",)),
    Case("tanh", unary(lambda x: x.tanh(), np.tanh), ("tanh",)),
    Case("relu", unary(ag.relu, lambda x: np.maximum(x, 0), away_from=[0.0]), ("relu",)),
    Case("clip", unary(lambda x: x.clip(-2, 3), lambda x: np.clip(x, -2, 3), away_from=[-2, 3]), ("clip",)),
    Case("clip_lo", unary(lambda x: ag.clip(x, lo=-1.5), lambda x: np.clip(x, -1.5, None), away_from=[-1.5]),
         ("clip",)),
    Case("clip_hi", unary(lambda x: ag.clip(x, hi=0.5), lambda x: np.clip(x, None, 0.5), away_from=[0.5]),
         ("clip",)),
    Case("maximum", binary(ag.maximum, np.maximum, grid=True), ("maximum",)),
    Case("minimum", binary(lambda a, b: a.minimum(b), np.minimum, grid=True), ("minimum",)),
    Case("where", where_case(), ("where",)),
    Case("astype", astype_case(), ("astype",)),
    # reductions: axis None / int / tuple / negative, keepdims
    Case("sum", reduction(lambda x, a, k: x.sum(a, k), np.sum), ("sum",)),
    Case("mean", reduction(lambda x, a, k: ag.mean(x, a, k), np.mean), ("sum", "mul")),
    Case("max", reduction(lambda x, a, k: x.max(a, k), np.max, min_gap=1e-2), ("max",)),
    Case("min", reduction(ag.min, np.min, min_gap=1e-2), ("min",)),
    # shape
    Case("reshape", reshape_case(), ("reshape",)),
    Case("transpose", transpose_case(), ("transpose",)),
    Case("expand_dims", expand_dims_case(), ("reshape",)),
    Case("squeeze", squeeze_case(), ("reshape",)),
    Case("swapaxes", swapaxes_case(), ("transpose",)),
    Case("broadcast_to", broadcast_to_case(), ("broadcast_to",)),
    Case("getitem", getitem_case(), ("getitem",)),
    Case("scatter", scatter_case(), ("scatter",)),
    Case("concatenate", concatenate_case(), ("concatenate",)),
    Case("stack", stack_case(), ("concatenate", "reshape")),
    # softmax family
    Case("log_softmax", along_axis(ag.log_softmax, _np_log_softmax), ("log_softmax",)),
    Case("softmax", along_axis(ag.softmax, lambda x, a: np.exp(_np_log_softmax(x, a))), ("log_softmax", "exp")),
    Case("logsumexp", logsumexp_case(), ("logsumexp",)),
]

CASE_IDS = [c.name for c in CASES]


def _graph_primitives(out):
    """Names of the primitives recorded in the graph that produced ``out`` (iterative walk)."""
    names, stack, seen = set(), [out], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or not isinstance(node, Tensor) or node._prim is None:
            continue
        seen.add(id(node))
        names.add(node._prim.name)
        stack.extend(node._inputs)
    return names


def _tolerances(dtype, *arrays):
    scale = max([1.0] + [float(np.max(np.abs(a))) for a in arrays if np.size(a)])
    if dtype == np.float32:
        return dict(rtol=2e-5, atol=2e-5 * scale)
    return dict(rtol=1e-10, atol=1e-12 * scale)


def _expected_dtype(ex):
    if ex.dtype is not None:
        return ex.dtype
    return np.result_type(*[a.dtype for a in ex.args if isinstance(a, Tensor)])


def test_every_primitive_is_covered():
    primitives = {p.name for p in built_in_primitives()}
    covered = {name for case in CASES for name in case.covers}
    assert primitives - covered == set(), "primitives without a test case"
    assert covered - primitives == set(), "test cases naming primitives that do not exist"


def test_every_public_function_is_covered():
    named = {case.name.split("[")[0].split(" ")[0] for case in CASES} | {n for case in CASES for n in case.covers}
    assert set(EXPORTS) - named == set(), "public functions without a test case"


def _poisoned(value):
    """``value`` with the same shape and dtype but other numbers (NaN for floats)."""
    data = value.data if isinstance(value, Tensor) else value
    if isinstance(data, np.ndarray) and data.dtype.kind == "f":
        return np.full_like(data, np.nan)
    if isinstance(data, np.ndarray) and data.dtype.kind in "iu":
        return data + 7
    if isinstance(data, float):
        return float("nan")
    return data


def unread_values_changed_result(t, g):
    """For recorded tensor ``t`` whose rule declares it reads no input values (or no output value):
    True when the rule's gradients change once those values are replaced by others (the rule reads them)."""
    prim, params = t._prim, t._params or {}
    inputs = [a.data if isinstance(a, Tensor) else a for a in t._inputs]
    out = t.data
    fake_inputs = inputs if prim.reads_inputs else [_poisoned(a) for a in inputs]
    fake_out = out if prim.reads_out else _poisoned(out)
    for k, a in enumerate(t._inputs):
        if isinstance(a, Tensor) and a.requires_grad and prim.vjp is not None:
            with np.errstate(all="ignore"):
                real = np.asarray(prim.vjp(k, g, out, *inputs, **params))
                fake = np.asarray(prim.vjp(k, g, fake_out, *fake_inputs, **params))
            if real.shape != fake.shape or not np.array_equal(real, fake, equal_nan=True):
                return True
    return False


def _recorded(out):
    nodes, stack, seen = [], [out], set()
    while stack:
        node = stack.pop()
        if isinstance(node, Tensor) and node._prim is not None and id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            stack.extend(node._inputs)
    return nodes


# Structural properties (what a rule reads, forward values, nothing recorded under no_grad) need fewer
# examples than the gradient checks (drawing the examples is most of their cost), and second order fewer
# than first: the whole file runs in about a minute under CI=true.
FEWER = settings(max_examples=max(10, settings.default.max_examples // 3))
HALF = settings(max_examples=max(10, settings.default.max_examples // 2))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@FEWER
@given(data=st.data())
def test_rules_read_only_what_they_declare(case, data):
    """A rule that opts out of the in-place check (``reads=()``) must not depend on the values it skips."""
    ex = data.draw(case.draw)
    for t in _recorded(ex.fn(*ex.args)):
        g = np.random.default_rng(0).standard_normal(t.shape).astype(t.dtype)
        assert not unread_values_changed_result(t, g), f"{t._prim.name}'s rule reads values it declares it does not"


def test_the_reads_check_catches_a_rule_that_reads_undeclared_values():
    sneaky = ag.primitive(np.exp, vjp=lambda i, g, out, x: g * np.exp(x), name="sneaky_exp", reads=())
    honest = ag.primitive(np.exp, vjp=lambda i, g, out, x: g * out, name="honest_exp", reads="out")
    x = Tensor([0.5, -1.0], requires_grad=True)
    g = np.ones(2)
    assert unread_values_changed_result(sneaky(x), g)
    assert not unread_values_changed_result(honest(x), g)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@FEWER
@given(data=st.data())
def test_forward_matches_numpy(case, data):
    ex = data.draw(case.draw)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = ex.fn(*ex.args)
    assert isinstance(out, Tensor)
    as64 = [a.data.astype(np.float64) if isinstance(a, Tensor) else a for a in ex.args]
    expected = np.asarray(ex.ref(*as64))
    assert out.shape == expected.shape
    assert out.dtype == _expected_dtype(ex), "float32 must stay float32, float64 float64"
    assert type(out.data) is np.ndarray
    np.testing.assert_allclose(out.data, expected, **_tolerances(out.dtype, expected, *as64))
    assert out.requires_grad and not out.is_leaf
    assert set(case.covers) <= _graph_primitives(out)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@given(data=st.data())
def test_gradcheck(case, data):
    ex = data.draw(case.draw)
    assert gradcheck(ex.fn, ex.args)


@pytest.mark.parametrize("case", [c for c in CASES if c.second_order], ids=[c.name for c in CASES if c.second_order])
@HALF
@given(data=st.data())
def test_gradgradcheck(case, data):
    ex = data.draw(case.draw)
    assert gradgradcheck(ex.fn, ex.args)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@FEWER
@given(data=st.data())
def test_no_grad_records_nothing(case, data):
    ex = data.draw(case.draw)
    with ag.no_grad():
        out = ex.fn(*ex.args)
    assert not out.requires_grad and out.is_leaf
    assert out._inputs is None


# ----------------------------------------------------------------------------- matmul: every NumPy form

@pytest.mark.parametrize("sa, sb", [
    ((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 5)), ((3,), (2, 3, 4)), ((2, 4, 3), (3,)),
    ((1, 1), (1, 1)), ((6, 1, 2, 3), (1, 5, 3, 1)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_numpy_semantics(sa, sb, dtype):
    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal(sa).astype(dtype), requires_grad=True)
    b = Tensor(rng.standard_normal(sb).astype(dtype), requires_grad=True)
    out = a @ b
    assert out.shape == np.matmul(a.data, b.data).shape and out.dtype == dtype
    np.testing.assert_allclose(out.data, np.matmul(a.data, b.data), rtol=1e-6)
    assert gradcheck(lambda a, b: a @ b, (a, b))
    assert gradgradcheck(lambda a, b: a @ b, (a, b))


def test_matmul_gradient_values():
    a = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = Tensor([5.0, 6.0], requires_grad=True)
    (a @ b).sum().backward()
    np.testing.assert_array_equal(a.grad, [[5.0, 6.0], [5.0, 6.0]])
    np.testing.assert_array_equal(b.grad, [4.0, 6.0])


# ----------------------------------------------------------------------------- pow and clip (kinks, ties: test_ops_regions)

def test_pow_gradient_at_zero_base():
    x = Tensor([0.0, 2.0], requires_grad=True)
    (x ** 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 4.0])
    for zero in (0, 0.0, np.int64(0), np.float32(0)):
        x.grad = None
        with np.errstate(all="raise"):
            (x ** zero).sum().backward()
        np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_pow_exponent_gradient_with_nonpositive_base_is_zero_not_nan():
    a = Tensor([-2.0, 0.0, 3.0])
    b = Tensor([2.0, 2.0, 2.0], requires_grad=True)
    with np.errstate(all="raise"):
        (a ** b).sum().backward()
    np.testing.assert_allclose(b.grad, [0.0, 0.0, 9 * np.log(3)])


def test_pow_with_an_array_exponent_has_gradient_zero_where_the_exponent_is_zero():
    # x ** 0 is 1 everywhere, so its derivative is 0, also at x = 0 (as PyTorch): b * x ** (b - 1)
    # would give 0 * inf = nan there, with a warning
    x = Tensor([0.0, 1.0, 2.0], requires_grad=True)
    with np.errstate(all="raise"):
        (x[:, None] ** np.arange(3)).sum().backward()  # Vandermonde rows 1, x, x**2
    np.testing.assert_array_equal(x.grad, [1.0, 3.0, 5.0])
    for exponent in (np.zeros(2), Tensor(np.zeros(2)), Tensor(np.zeros(2), requires_grad=True)):
        x = Tensor([0.0, 3.0], requires_grad=True)
        with np.errstate(all="raise"):
            (x ** exponent).sum().backward()
            (g,) = ag.grad((x ** exponent).sum(), x, create_graph=True)
            (gg,) = ag.grad(g.sum(), x)
        np.testing.assert_array_equal(x.grad, [0.0, 0.0])
        assert np.isfinite(g.data).all() and np.isfinite(gg.data).all()
    # away from 0 ** 0 the derivatives stay exact, second order included
    a, b = Tensor([0.5, 2.0], requires_grad=True), Tensor([0.0, 0.0], requires_grad=True)
    assert gradcheck(lambda a, b: a ** b, (a, b)) and gradgradcheck(lambda a, b: a ** b, (a, b))


def test_clip_bounds_may_be_arrays_or_tensors():
    x = Tensor(np.array([[0.2, 1.2, 2.2], [3.2, 4.2, 5.2]]), requires_grad=True)
    lo = np.array([1.0, 1.0, 3.0])
    for lo_, hi_ in [(lo, 4.0), (Tensor(lo), Tensor(4.0)), (list(lo), np.float64(4.0))]:
        y = x.clip(lo_, hi_)
        np.testing.assert_array_equal(y.data, np.clip(x.data, lo, 4.0))
        (g,) = ag.grad(y.sum(), x)
        np.testing.assert_array_equal(g.data, [[0, 1, 0], [1, 0, 0]])
    assert gradcheck(lambda x: np.clip(x, Tensor(lo), 4.0), x)
    x32 = Tensor(np.ones(3, np.float32), requires_grad=True)
    assert x32.clip(np.float64(0.5), 2).dtype == np.float32  # NumPy scalars act as Python numbers


@pytest.mark.parametrize("bound", ["lo", "hi"])
def test_clip_refuses_a_bound_that_requires_grad(bound):
    # clip treats its bounds as constants: a bound's gradient would be dropped silently
    x = Tensor([0.0, 1.0, 2.0], requires_grad=True)
    b = Tensor(0.5 if bound == "lo" else 1.5, requires_grad=True)
    kwargs = {bound: b}
    for operand in (x, Tensor([0.0, 1.0, 2.0])):
        with pytest.raises(RuntimeError, match=rf"clip: the bound {bound} requires grad.*maximum.*minimum"):
            ag.clip(operand, **kwargs)
    with ag.no_grad():
        assert not ag.clip(x, **kwargs).requires_grad  # nothing recorded, nothing dropped
    assert ag.clip(x, **{bound: b.detach()}).requires_grad
    y = ag.minimum(ag.maximum(x, b), 1.5) if bound == "lo" else ag.minimum(ag.maximum(x, 0.5), b)
    y.sum().backward()  # what the message suggests
    assert b.grad == 1.0


def test_concatenate_axis_none_flattens_as_numpy():
    a, b = Tensor(np.ones((2, 2)), requires_grad=True), Tensor([5.0, 6.0, 7.0], requires_grad=True)
    y = ag.concatenate([a, b], axis=None)
    np.testing.assert_array_equal(y.data, np.concatenate([a.data, b.data], axis=None))
    (y * np.arange(7.0)).sum().backward()
    np.testing.assert_array_equal(a.grad, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(b.grad, [4, 5, 6])


def test_softmax_axis_must_be_one_int():
    with pytest.raises(TypeError, match="axis must be one int"):
        ag.softmax(Tensor(np.ones((2, 2))), axis=(0, 1))


def test_integer_constants_follow_numpy():
    i = Tensor([1, 2])
    np.testing.assert_allclose(i.sigmoid().data, _sigmoid(np.array([1.0, 2.0])))  # not cast back to int
    for name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid"):
        assert getattr(i, name)().dtype == np.float64, name
    assert i.mean().item() == 1.5 and i.sum().dtype == np.int64 and i.relu().dtype == np.int64


@pytest.mark.parametrize("call, error, pattern", [
    (lambda x: x.transpose(2, 0, 4), ValueError, r"^transpose: axes \(2, 0, 4\) .*shape \(2, 3, 4\)"),
    (lambda x: x.transpose(-4, 1, 2), ValueError, r"^transpose: axes \(-4, 1, 2\) .*shape \(2, 3, 4\)"),
    (lambda x: ag.transpose(x, (0, 1, 3)), ValueError, r"^transpose: axes \(0, 1, 3\) .*shape \(2, 3, 4\)"),
    (lambda x: x.transpose(0, 1), ValueError, r"^transpose: axes \(0, 1\) .*shape \(2, 3, 4\)"),
    (lambda x: x.transpose(0, 1, 1.0), TypeError, r"^transpose: .*1\.0"),
    (lambda x: x.swapaxes(0, 7), ValueError, r"^swapaxes: axis 7 is out of range .*shape \(2, 3, 4\)"),
    (lambda x: ag.swapaxes(x, -4, 0), ValueError, r"^swapaxes: axis -4 is out of range"),
    (lambda x: x.sum(axis=1.0), TypeError, r"^sum: axis must be an int or a tuple of ints, not float 1\.0"),
    (lambda x: x.sum(axis=True), TypeError, r"^sum: axis must be an int or a tuple of ints, not bool True"),
    (lambda x: x.mean(axis=(0, np.True_)), TypeError, r"^mean: axis must be an int .* bool"),
    (lambda x: x.max(axis=np.float64(1)), TypeError, r"^max: axis must be an int"),
    (lambda x: x.logsumexp(axis=[0, 1.5]), TypeError, r"^logsumexp: axis must be an int"),
    (lambda x: ag.concatenate([x, x], axis=1.0), TypeError, r"^concatenate: axis must be an int"),
    (lambda x: x.log_softmax(axis=True), TypeError, r"^log_softmax: axis must be an int, not bool"),
    (lambda x: x.expand_dims(9), ValueError, r"^expand_dims: axis 9 is out of range .*shape \(2, 3, 4\)"),
    (lambda x: x.reshape(2.0, 12), TypeError, r"^reshape: the new shape must be ints"),
], ids=["transpose-oob", "transpose-neg-oob", "transpose-fn-oob", "transpose-too-few", "transpose-float",
        "swapaxes-oob", "swapaxes-neg-oob", "axis-float", "axis-bool", "axis-np-bool", "axis-np-float",
        "axis-list-float", "concatenate-float", "log_softmax-bool", "expand_dims-oob", "reshape-float"])
def test_bad_axes_are_clear_errors_never_silent(call, error, pattern):
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    with pytest.raises(error, match=pattern):
        call(x)


def test_axes_accept_numpy_integers_and_lists():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert x.transpose(np.int64(2), 0, 1).shape == (4, 2, 3)
    assert x.sum(axis=[np.int32(0), -1]).shape == (3,)
    assert x.swapaxes(np.int64(0), -1).shape == (4, 3, 2)


def test_where_and_logsumexp_errors_name_every_shape():
    with pytest.raises(ValueError, match=r"^where: .*\(3,\).*\(4,\).*\(\)"):
        ag.where(np.ones(3, bool), Tensor(np.ones(4), requires_grad=True), 0.0)
    empty = Tensor(np.zeros((0, 3)), requires_grad=True)
    for axis in (0, None, (0, 1)):
        with pytest.raises(ValueError, match=r"^logsumexp: .*\(0, 3\).*empty"):
            empty.logsumexp(axis=axis)
    assert empty.logsumexp(axis=1).shape == (0,)  # nothing is reduced over an empty part


# ----------------------------------------------------------------------------- indexing

def test_boolean_mask_and_basic_indexing():
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    mask = x.data % 3 == 0
    y = x[mask]
    np.testing.assert_array_equal(y.data, [0, 3, 6, 9])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, mask.astype(float))
    x.grad = None
    z = x[None, ..., ::-2]
    assert z.shape == (1, 3, 2)
    np.testing.assert_array_equal(z.data, x.data[None, ..., ::-2])
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0, 1]] * 3)
    x.grad = None
    x[Tensor(np.array([True, False, True]))].sum().backward()  # a bool Tensor as mask
    np.testing.assert_array_equal(x.grad, [[1] * 4, [0] * 4, [1] * 4])


def test_getitem_second_order_goes_through_scatter():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = ag.grad((x[[0, 0, 2]] ** 2).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [4.0, 0.0, 6.0])  # 2 * (1 + 1), 0, 2 * 3
    assert "scatter" in _graph_primitives(g)
    (h,) = ag.grad(g.sum(), x)
    np.testing.assert_array_equal(h.data, [4.0, 0.0, 2.0])


# ----------------------------------------------------------------------------- numerical stability

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_stable_at_large_inputs(dtype):
    x = Tensor(np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1000.0]], dtype),
               requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        sm, lsm, lse = ag.softmax(x), ag.log_softmax(x), ag.logsumexp(x, axis=1)
        e = np.exp(-1.0)
        np.testing.assert_allclose(sm.data, [[1, 0, 0], [1 / (2 + e), 1 / (2 + e), e / (2 + e)], [1 / 3] * 3],
                                   rtol=1e-6)
        np.testing.assert_allclose(lsm.data[0], [0, -2000, -1000], rtol=1e-6)
        np.testing.assert_allclose(lse.data, [1000, 1000 + np.log(2 + e), -1000 + np.log(3)], rtol=1e-6)
        assert sm.dtype == lsm.dtype == lse.dtype == dtype
        (g,) = ag.grad(lse.sum(), x, retain_graph=True)
        np.testing.assert_allclose(g.data, sm.data, rtol=1e-6, atol=1e-30)  # d logsumexp = softmax
        for out in (sm, lsm, lse):
            (g,) = ag.grad(out, x, np.ones(out.shape, dtype), create_graph=True)
            assert np.all(np.isfinite(g.data)) and g.dtype == dtype
            (h,) = ag.grad((g * g).sum(), x)
            assert np.all(np.isfinite(h.data)) and h.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_no_overflow(dtype):
    x = Tensor(np.array([-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0], dtype), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = x.sigmoid()
        (g,) = ag.grad(y.sum(), x, create_graph=True)
        (h,) = ag.grad(g.sum(), x)
    assert y.dtype == g.dtype == h.dtype == dtype
    np.testing.assert_allclose(y.data, _sigmoid(x.data.astype(np.float64)), rtol=1e-6, atol=1e-40)
    assert y.data[1] > 0  # relative precision kept for very negative inputs: 3.7e-44 in float64
    ax = np.abs(x.data.astype(np.float64))
    np.testing.assert_allclose(g.data, np.exp(-ax) / (1 + np.exp(-ax)) ** 2, rtol=1e-5, atol=1e-12)
    assert np.all(np.isfinite(h.data))


def test_astype_to_float32_casts_the_gradient_back():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_composites_are_built_from_primitives():
    # mean and softmax need no VJP of their own: their graphs hold primitives only
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    assert _graph_primitives(ag.mean(x, axis=0)) == {"sum", "mul"}
    assert _graph_primitives(ag.softmax(x)) == {"log_softmax", "exp"}
