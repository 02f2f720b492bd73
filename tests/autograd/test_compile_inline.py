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
@given(st.sampled_from([p for p in compile_inline.forward_primitives() if p.name != "getitem"]), st.data())
def test_each_inline_forward_gives_its_forward_bits(prim, data):
    _, (x,) = data.draw(_operands(1))
    with np.errstate(all="ignore"):
        assert _same(_evaluate(compile_inline.forward(prim, ["x"], {}), {"x": x}), prim.forward(x))


@pytest.mark.parametrize("index", [(slice(1, None), [0, 2]), (np.array([1, 0, 1]), slice(None)), 1, Ellipsis,
                                   (np.array([[0], [1]]), np.array([2, 0]))])
def test_inline_getitem_forward_is_the_same_indexing(index):
    prim = shape_ops._getitem.primitive
    x = np.arange(12.0).reshape(3, 4)
    got = _evaluate(compile_inline.forward(prim, ["x"], {"index": "i"}), {"x": x, "i": index})
    assert _same(got, prim.forward(x, index=index))


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
