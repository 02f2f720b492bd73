"""compile_inline: each rule written into a replay's source gives its eager rule's bits (float32 and
float64, 0-d operands, broadcasting, nan and inf), and the replays that use them equal eager mode."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd import Tensor, compile_inline, ops, shape_ops
from autograd.compile import compile

_VJPS = compile_inline.vjp_primitives()
_EXPONENTS = [0, 1, 2, 3, -1, 0.5, 2.0, -1.5, True]


def _same(a, b):
    """The same kind of value (array or NumPy scalar), dtype, shape and bytes."""
    return (isinstance(a, np.ndarray) == isinstance(b, np.ndarray) and np.asarray(a).dtype == np.asarray(b).dtype
            and np.shape(a) == np.shape(b) and np.asarray(a).tobytes() == np.asarray(b).tobytes())


def _values(dtype, shape):
    width = np.dtype(dtype).itemsize * 8
    moderate = st.floats(-6, 6, width=width)  # (where sigmoid, tanh, exp are not saturated)
    return hnp.arrays(dtype, shape, elements=st.one_of(moderate, moderate, st.floats(width=width)))


def _evaluate(source, names):
    return eval(source, {**compile_inline.NAMES, **names})


@st.composite
def _operands(draw, arity):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=arity, min_dims=0, max_dims=3, max_side=3))
    inputs = [draw(_values(dtype, s)) for s in shapes.input_shapes]
    if draw(st.booleans()) and inputs[0].size:  # a NumPy scalar operand, as a rule can be given one
        inputs[0] = inputs[0].reshape(-1)[0]
    return dtype, inputs


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(sorted(_VJPS, key=lambda p: p.name)), st.data())
def test_each_inline_vjp_gives_its_rule_bits(prim, data):
    name, arity = prim.name, _VJPS[prim]
    dtype, inputs = data.draw(_operands(arity))
    constants = [compile_inline.NOT_CONSTANT] * arity
    if name == "pow" and data.draw(st.booleans()):  # a Python number exponent (the inlined case)
        inputs[1] = data.draw(st.sampled_from(_EXPONENTS))
        constants[1] = inputs[1]
    with np.errstate(all="ignore"):
        out = np.asarray(prim.forward(*inputs))
        g = data.draw(_values(dtype, out.shape))
        for k in range(arity):
            inline = compile_inline.vjp(prim, k, "g", "out", ["a", "b"][:arity], {}, constants)
            if name == "pow" and (k == 1 or constants[1] is compile_inline.NOT_CONSTANT):
                assert inline is None  # (an array exponent or the exponent's gradient: the rule is called)
                continue
            source, fresh = inline
            got = _evaluate(source, dict(zip(["g", "out", "a", "b"], [g, out, *inputs])))
            assert _same(got, prim.vjp(k, g, out, *inputs)), (name, k, source)
            if fresh and isinstance(got, np.ndarray):
                assert not any(np.shares_memory(got, v) for v in (g, out, *inputs) if isinstance(v, np.ndarray))


@settings(deadline=None, max_examples=150)
@given(st.sampled_from([p for p in compile_inline.forward_primitives() if p.name not in ("getitem", "log_softmax")]),
       st.data())
def test_each_inline_forward_gives_its_forward_bits(prim, data):
    _, (x,) = data.draw(_operands(1))
    with np.errstate(all="ignore"):
        assert _same(_evaluate(compile_inline.forward(prim, ["x"], {}), {"x": x}), prim.forward(x))


@settings(deadline=None, max_examples=150)
@given(st.data())
def test_inline_log_softmax_forward_and_vjp_give_the_rule_bits(data):
    prim = ops._log_softmax.primitive
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    x = data.draw(_values(dtype, shape))
    axis = data.draw(st.integers(0, len(shape) - 1))
    with np.errstate(all="ignore"):
        out = _evaluate(compile_inline.forward(prim, ["x"], {"axis": "axis"}), {"x": x, "axis": axis})
        assert _same(out, prim.forward(x, axis=axis)) and not np.shares_memory(out, x)
        g = data.draw(_values(dtype, shape))
        source, fresh = compile_inline.vjp(prim, 0, "g", "out", ["x"], {"axis": "axis"}, [compile_inline.NOT_CONSTANT])
        got = _evaluate(source, {"g": g, "out": out, "x": x, "axis": axis})
        assert fresh and _same(got, prim.vjp(0, g, out, x, axis=axis)) and not np.shares_memory(got, g)


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(sorted(compile_inline.vjp_into_primitives(), key=lambda p: p.name)), st.data())
def test_each_vjp_written_into_g_gives_its_rule_bits(prim, data):
    """Where the rule's value has g's shape and dtype and is not 0-d (what the replay checks first), writing it into g
    gives the same bits, in g's memory."""
    arity = _VJPS[prim]
    dtype, inputs = data.draw(_operands(arity))
    with np.errstate(all="ignore"):
        out = np.asarray(prim.forward(*inputs))
        g = data.draw(_values(dtype, out.shape))
        for k in range(arity):
            want = prim.vjp(k, g, out, *inputs)
            source = compile_inline.vjp_into(prim, k, "g", "out", ["a", "b"][:arity])
            if source is None or g.ndim == 0 or np.shape(want) != g.shape or np.asarray(want).dtype != g.dtype:
                continue
            into = g.copy()
            got = _evaluate(source, dict(zip(["g", "out", "a", "b"], [into, out, *inputs])))
            assert got is into and _same(got, want), (prim.name, k, source)


@pytest.mark.parametrize("index", [(slice(1, None), [0, 2]), (np.array([1, 0, 1]), slice(None)), 1, Ellipsis,
                                   (np.array([[0], [1]]), np.array([2, 0]))])
def test_inline_getitem_forward_is_the_same_indexing(index):
    prim = shape_ops._getitem.primitive
    x = np.arange(12.0).reshape(3, 4)
    got = _evaluate(compile_inline.forward(prim, ["x"], {"index": "i"}), {"x": x, "i": index})
    assert _same(got, prim.forward(x, index=index))


@pytest.mark.parametrize("index, accumulate", [
    ((np.arange(4), np.array([2, 0, 2, 1])), True), ((np.array([0, 0, 3]), slice(None)), True),
    (np.array([1, 1, 2]), True), ((slice(1, None), 2), False), (np.array([True, False, True, True]), False),
    ((np.array([[0], [3]]), np.array([1, 1])), True), (Ellipsis, False)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inline_getitem_vjp_gives_the_rule_bits(index, accumulate, dtype):
    """Scattered into zeros by assignment or np.add.at (repeated positions summed), as ``scatter`` chooses."""
    prim = shape_ops._getitem.primitive
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(dtype)
    out = prim.forward(x, index=index)
    g = rng.standard_normal(np.shape(out)).astype(dtype)
    g.reshape(-1)[:1] = -0.0  # (0 + -0.0 is 0.0: assignment and addition differ there)
    source = compile_inline.getitem_vjp(prim, "g", x.shape, "i", accumulate)
    got = _evaluate(source, {"g": g, "i": index})
    assert _same(got, prim.vjp(0, g, out, x, index=index)) and not np.shares_memory(got, g)


def test_a_replaced_scatter_is_called_not_inlined(monkeypatch):
    monkeypatch.setattr(shape_ops, "scatter", lambda g, shape, index: np.zeros(shape))
    assert compile_inline.getitem_vjp(shape_ops._getitem.primitive, "g", (2,), "i", True) is None


@pytest.mark.parametrize("kind", ["labels", "mask", "slice"])
def test_replayed_indexing_scatters_its_gradient_as_eager_mode(kind):
    """The index's kind (arrays: np.add.at; a boolean mask or slices: assignment) is read off the recording."""
    rng = np.random.default_rng(2)
    w = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    twin = Tensor(w.data.copy(), requires_grad=True)
    mask = rng.standard_normal((5, 3)) > 0  # (a constant: a mask from the inputs would change the shapes)

    def make(p):
        def step(x, i):
            h = (Tensor(x) * p).tanh()
            picked = h[np.arange(5), i] if kind == "labels" else h[mask] if kind == "mask" else h[1:, 2]
            loss = (picked * picked).sum()  # (a gradient known only at replay)
            loss.backward()
            return loss
        return step

    compiled = compile(make(twin))
    for _ in range(5):
        x = rng.standard_normal((5, 3))
        i = rng.integers(0, 3, 5) if kind == "labels" else None
        w.grad = twin.grad = None
        assert _same(make(w)(x, i).data, compiled(x, i).data) and _same(w.grad, twin.grad)
    assert ("_scatter_at(" if kind == "labels" else "_scatter_set(") in compiled.sources[0]


def test_a_rule_changed_since_is_called_not_inlined(monkeypatch):
    prim = ops.sigmoid.primitive
    monkeypatch.setattr(prim, "vjp", lambda i, g, out, x: g * out)
    monkeypatch.setattr(prim, "forward", np.tanh)
    assert compile_inline.vjp(prim, 0, "g", "out", ["x"], {}, [compile_inline.NOT_CONSTANT]) is None
    assert compile_inline.forward(prim, ["x"], {}) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_replay_with_every_inline_rule_equals_eager_mode(dtype):
    rng = np.random.default_rng(0)
    w = [Tensor(rng.uniform(0.5, 1.5, size=s).astype(dtype), requires_grad=True) for s in [(3, 4), (4,), ()]]
    twins = [Tensor(p.data.copy(), requires_grad=True) for p in w]

    def make(params):
        def step(x):
            a, b, c = params
            h = (Tensor(x) @ a + b).sigmoid() - c
            h = (h * b / (c + 2.0)).tanh().relu() + (-h).exp() + (h * h + 1.0).log() + (h * h + 1.0).sqrt()
            loss = (h ** 2).sum() + (h ** 3).sum() * 0.25 + (h ** 0.5).sum() + (b ** c).sum() + h[1:, ::2].sum()
            loss.backward()
            return loss
        return step

    compiled = compile(make(twins))
    for _ in range(6):
        x = rng.uniform(-1, 1, size=(5, 3)).astype(dtype)
        for params in (w, twins):
            for p in params:
                p.grad = None
        with np.errstate(all="ignore"):
            loss_e, loss_c = make(w)(x), compiled(x)
        assert _same(loss_e.data, loss_c.data)
        for pe, pc in zip(w, twins):
            assert _same(pe.grad, pc.grad)
    source = compiled.sources[0]
    assert "_exp(-_logaddexp(0, -" in source and "* (2.0 * " in source and "(1.0 - " in source
    # called: only pow's rule for the tensor exponent (both inputs); getitem's is folded, the rest inline
    assert source.count("_t = R") == 2 and re.search(r"v\d+ = v\d+\[", source)


def test_replay_writes_into_dead_temporaries_with_eager_bits():
    """The bias add into the product, ReLU into the sum, ReLU's VJP into the incoming gradient: the same bits
    as eager mode, and never into a value still read later (the pre-activation kept for a second use)."""
    rng = np.random.default_rng(1)
    shapes = [(6, 5), (5,), (5, 3), (3,)]
    w = [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    twins = [Tensor(p.data.copy(), requires_grad=True) for p in w]

    def make(params):
        def step(x, y):
            w1, b1, w2, b2 = params
            z = Tensor(x) @ w1 + b1
            h = z.relu()
            logp = (h @ w2 + b2 + z[:, :3] * 0.5).log_softmax(axis=1)
            loss = -logp[np.arange(4), y].mean()
            loss.backward()
            return loss
        return step

    compiled = compile(make(twins))
    for _ in range(5):
        x, y = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
        for p in (*w, *twins):
            p.grad = None
        assert _same(make(w)(x, y).data, compiled(x, y).data)
        for pe, pc in zip(w, twins):
            assert _same(pe.grad, pc.grad)
    source = compiled.sources[0]
    assert re.search(r"v(\d+) = _maximum\(v\d+, 0\)\n", source)  # z is indexed later: not written into
    assert re.search(r"v\d+ = F\d+\(v(\d+), x\d+, out=v\1\)", source)  # (h @ w2) + b2 into the product
    assert "_log_softmax(" in source and re.search(r"_multiply\((g\d+), _asarray\(v\d+\) > 0, out=\1\)", source)
    assert "_scatter_at(" in source  # (the labels' gradient, without the rule's dispatch)


def test_a_value_something_views_is_never_written_into():
    """``h`` is dead after ``h * 3.0`` but the returned reshape is a view of it: the product gets its own array."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def fn(x):
        h = Tensor(x) * w
        h.sum().backward()
        return h.reshape(2, 1), h * 3.0

    compiled = compile(fn)
    for k in range(5):
        w.grad = None
        x = np.array([0.5, -1.0]) * (k + 1)
        view, product = compiled(x)
        assert _same(view.data, (x * w.data).reshape(2, 1)) and _same(product.data, x * w.data * 3.0)
