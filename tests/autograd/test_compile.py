"""autograd.compile: replays equal eager mode bit for bit; the guards fall back, retrace or refuse."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Tensor, grad, no_grad
from autograd.compile import Refusal, compile

REPLAYS = 4  # calls after the two recordings


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _params(seed, shapes, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.normal(size=s).astype(dtype), requires_grad=True) for s in shapes]


def _run_both(make_step, inputs, n_params_sets=2, lr=0.1):
    """Run ``step`` eagerly and compiled on twin parameter sets over ``inputs``, an SGD update
    between calls; assert every loss and gradient is bit-for-bit the same."""
    eager_params, step = make_step()
    compiled_params, compiled_step_fn = make_step()
    compiled = compile(compiled_step_fn)
    for x in inputs:
        for params, fn in ((eager_params, step), (compiled_params, compiled)):
            for p in params:
                p.grad = None
            out = fn(*x)
            params.append(out)  # (kept to compare, removed below)
        out_e, out_c = eager_params.pop(), compiled_params.pop()
        assert _same(out_e.data, out_c.data)
        for pe, pc in zip(eager_params, compiled_params):
            assert _same(pe.grad, pc.grad)
            with no_grad():
                pe.data -= lr * pe.grad  # an in-place update between calls: read at replay
                pc.data -= lr * pc.grad
    return compiled


def test_seed_network_4_3_1_bit_for_bit():
    X = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=np.float64)
    Y = np.array([[1], [1], [0]], dtype=np.float64)

    def make():
        params = _params(0, [(4, 3), (1, 3), (3, 1), (1, 1)])

        def step(x, y):
            wh, bh, wo, bo = params[:4]
            hidden = (Tensor(x) @ wh + bh).sigmoid()
            output = (hidden @ wo + bo).sigmoid()
            loss = ((output - y) ** 2).sum() * 0.5
            loss.backward()
            return loss
        return params, step

    compiled = _run_both(make, [(X, Y)] * (2 + REPLAYS))
    assert compiled.cache_info()["replays"] == REPLAYS


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_readme_mlp_with_cross_entropy_bit_for_bit(dtype):
    rng = np.random.default_rng(1)
    batches = [(rng.normal(size=(32, 64)).astype(dtype), rng.integers(0, 10, 32)) for _ in range(2 + REPLAYS)]

    def make():
        nn.manual_seed(0)
        model = nn.Sequential(nn.Dense(64, 48, activation="relu"), nn.Dense(48, 10)).to(dtype)

        def step(x, y):
            loss = nn.cross_entropy(model(x), y)
            loss.backward()
            return loss
        return list(model.parameters()), step

    compiled = _run_both(make, batches)
    assert compiled.cache_info()["replays"] == REPLAYS


_UNARY = ["tanh", "sigmoid", "exp", "neg", "relu", "square"]
_BINARY = ["add", "sub", "mul"]


def _apply(kind, a, b=None):
    if kind == "square":
        return a * a
    if kind == "exp":
        return (a * 0.1).exp()
    if kind in _UNARY:
        return getattr(a, kind)() if kind != "neg" else -a
    return {"add": a + b, "sub": a - b, "mul": a * b}[kind]


shapes = st.sampled_from([(), (1,), (3,), (2, 1), (2, 3), (1, 3)])


@settings(deadline=None)
@given(st.sampled_from([np.float32, np.float64]), st.lists(shapes, min_size=1, max_size=3),
       st.lists(st.tuples(st.sampled_from(_UNARY + _BINARY), st.integers(0, 50), st.integers(0, 50)),
                min_size=1, max_size=12),
       st.integers(0, 2 ** 16), st.booleans())
def test_random_dag_bit_for_bit(dtype, leaf_shapes, program, seed, buffers):
    """A random DAG of elementwise ops with broadcasting (0-d, size-1 and broadcast dimensions)."""
    rng = np.random.default_rng(seed)
    leaves = [Tensor(rng.uniform(-2, 2, size=s).astype(dtype), requires_grad=True) for s in leaf_shapes]

    def fn(x):
        values = [*leaves, Tensor(x)]
        for kind, i, j in program:
            a, b = values[i % len(values)], values[j % len(values)]
            values.append(_apply(kind, a, b))
        loss = values[-1].sum()
        for leaf in leaves:  # every leaf gets a gradient
            loss = loss + leaf.sum() * 0.5
        loss.backward()
        return loss, values[-1]

    compiled = compile(fn, buffers=buffers)
    for _ in range(2 + 2):
        x = rng.uniform(-2, 2, size=(2, 3)).astype(dtype)
        results = []
        for f in (fn, compiled):
            for leaf in leaves:
                leaf.grad = None
            out = f(x)
            results.append(([o.data for o in out], [leaf.grad for leaf in leaves]))
        (oe, ge), (oc, gc) = results
        assert all(_same(a, b) for a, b in zip(oe, oc))
        assert all((a is None and b is None) or _same(a, b) for a, b in zip(ge, gc))
    assert compiled.cache_info()["replays"] == 2


def test_gradients_accumulate_as_in_eager_mode():
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    compiled = compile(lambda x: (w * Tensor(x)).sum().backward())
    x = np.array([0.5, -1.0, 2.0])
    for _ in range(5):
        compiled(x)
    assert _same(w.grad, 5 * x)


def test_a_new_signature_records_again_and_the_cache_is_bounded():
    w = Tensor(np.ones(3), requires_grad=True)
    compiled = compile(lambda x: (Tensor(x) * w).sum(), cache_size=2)
    for n in range(1, 6):
        for _ in range(3):
            out = compiled(np.arange(3.0 * n).reshape(n, 3))
        assert _same(out.data, np.arange(3.0 * n).sum())
        assert compiled.cache_info()["signatures"] == min(n, 2)


@pytest.mark.parametrize("decide", [bool, float, lambda t: t.item(), lambda t: 1 if t > 0 else 0])
def test_a_python_decision_on_a_value_falls_back_to_eager_with_one_warning(decide):
    def fn(x):
        x = Tensor(x)
        s = x.sum()
        return x * 2.0 if decide(s) else x * 3.0

    compiled = compile(fn)
    values = [np.array([1.0]), np.array([2.0]), np.array([0.0]), np.array([-1.0]), np.array([0.0])]
    with pytest.warns(RuntimeWarning, match="Python decision on a tensor's value") as record:
        got = [compiled(v).data for v in values]
    assert len(record) == 1
    assert all(_same(g, fn(v).data) for g, v in zip(got, values))  # never a stale branch
    assert compiled.cache_info()["eager_signatures"] == 1


def test_an_array_computed_from_the_inputs_with_numpy_falls_back():
    w = Tensor(np.ones(3), requires_grad=True)

    def fn(x):
        return (w * Tensor(np.sin(x))).sum()  # np.sin(x) is outside autograd

    compiled = compile(fn)
    xs = [np.array([0.1, 0.2, 0.3]) * k for k in range(1, 6)]
    with pytest.warns(RuntimeWarning, match="computed from the inputs"):
        got = [compiled(x).data for x in xs]
    assert all(_same(g, fn(x).data) for g, x in zip(got, xs))


def test_autograd_grad_inside_falls_back():
    def fn(x):
        x = Tensor(x, requires_grad=True)
        (g,) = grad((x * x).sum(), x)
        return g

    compiled = compile(fn)
    with pytest.warns(RuntimeWarning, match="grad"):
        got = [compiled(np.array([float(k)])).data for k in range(4)]
    assert all(_same(g, np.array([2.0 * k])) for k, g in enumerate(got))


def test_dropout_draws_fresh_masks_from_the_eager_stream():
    def make():
        nn.manual_seed(3)
        model = nn.Sequential(nn.Dense(8, 16), nn.Dropout(0.5), nn.Dense(16, 1))
        return lambda x: model(x).sum()

    eager, fn = make(), make()
    compiled = compile(fn)
    x = np.ones((4, 8))
    nn.manual_seed(7)
    want = [eager(x).data for _ in range(6)]
    nn.manual_seed(7)
    got = [compiled(x).data for _ in range(6)]
    assert all(_same(a, b) for a, b in zip(want, got))
    assert len({g.tobytes() for g in got}) == 6  # a new mask each call, replays included
    assert compiled.cache_info()["replays"] == 4


def test_load_state_dict_between_calls_is_read_at_replay():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Dense(3, 2))
    compiled = compile(lambda x: model(x).sum())
    x = np.ones((1, 3))
    for _ in range(3):
        compiled(x)
    state = {k: v * 2 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert _same(compiled(x).data, model(x).sum().data)


def test_an_optimizer_step_or_zero_grad_inside_is_refused():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Dense(3, 2))
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    x = np.ones((2, 3))

    def with_step(x):
        loss = model(x).sum()
        loss.backward()
        optimizer.step()

    def with_zero_grad(x):
        loss = model(x).sum()
        optimizer.zero_grad()
        loss.backward()

    with pytest.raises(Refusal, match="optimizer"):
        compile(with_step)(x)
    compiled = compile(with_zero_grad)
    with pytest.raises(Refusal, match="zero_grad"):
        compiled(x)
        compiled(x)


def test_a_parameter_that_stops_requiring_grad_records_again():
    w = Tensor(np.ones(2), requires_grad=True)
    b = Tensor(np.ones(2), requires_grad=True)
    compiled = compile(lambda x: (w * Tensor(x) + b).sum().backward())
    for _ in range(3):
        compiled(np.ones(2))
    b.requires_grad = False
    b.grad = None
    compiled(np.ones(2))
    assert b.grad is None and _same(w.grad, 4 * np.ones(2))


@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_history_equals_eager(dropout, dtype):
    (X, y), _ = nn.datasets.load_digits()
    X, y = X[:300].astype(dtype), y[:300]

    def history(compiled):
        nn.manual_seed(0)
        layers = [nn.Dense(64, 32, activation="relu"), *([nn.Dropout(0.2)] if dropout else []), nn.Dense(32, 10)]
        model = nn.Sequential(*layers).to(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback warning: the step replays
            return nn.fit(model, X, y, loss=nn.cross_entropy, optimizer=nn.Adam(model.parameters()), epochs=4,
                          batch_size=64, validation_split=0.2, verbose=0, compile=compiled)

    assert history(True) == history(False)


@pytest.mark.parametrize("buffers", [False, True])
def test_outputs_and_gradients_of_earlier_calls_are_never_overwritten(buffers):
    """With buffers, replays reuse them for intermediate values; what a call returned or left in .grad stays."""
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def fn(x):
        h = Tensor(x) * w
        (h.exp() + h).sum().backward()
        return h.reshape(2, 1), h * 1.0

    compiled = compile(fn, buffers=buffers)
    kept = []
    for k in range(6):
        w.grad = None
        view, product = compiled(np.array([0.5, -1.0]) * (k + 1))
        kept.append((view.data.copy(), product.data.copy(), w.grad.copy(), view, product, w.grad))
    assert (", out=B" in compiled.sources[0]) == buffers  # (a buffer kept between calls)
    for want_view, want_product, want_grad, view, product, grad_ in kept:
        assert _same(view.data, want_view) and _same(product.data, want_product) and _same(grad_, want_grad)


def test_tensor_inputs_that_require_grad_keyword_arguments_and_dict_outputs():
    def fn(x, *, scale):
        loss = (x * x * scale).sum()
        loss.backward()
        return {"loss": loss, "x": x}

    compiled = compile(fn)
    for k in range(5):
        x_eager = Tensor(np.arange(3.0) + k, requires_grad=True)
        x_compiled = Tensor(np.arange(3.0) + k, requires_grad=True)
        want, got = fn(x_eager, scale=2.0), compiled(x_compiled, scale=2.0)
        assert got["x"] is x_compiled and _same(got["loss"].data, want["loss"].data)
        assert _same(x_compiled.grad, x_eager.grad)
    assert compiled.cache_info()["replays"] == 3
    compiled(Tensor(np.ones(3), requires_grad=True), scale=3.0)  # another Python value: another signature
    assert compiled.cache_info()["signatures"] == 2


def test_notebook_01_seed_expressions():
    """g = (x + y) * z on scalars, bit for bit; f's `u.item() > 0` branch falls back to eager."""
    def make():
        return [Tensor(v, requires_grad=True) for v in (1.0, 3.0, -3.0)]

    eager, twin = make(), make()

    def g(x, y, z):
        out = (x + y) * z
        out.backward()
        return out

    compiled = compile(g)
    for _ in range(2 + REPLAYS):
        assert _same(g(*eager).data, compiled(*twin).data)
        assert all(_same(a.grad, b.grad) for a, b in zip(eager, twin))

    def f(a, b):  # notebook 01's function: a Python decision on u's value
        u = ((0.25 * a + 0.5) * a - 2.0) * a + 1.0
        squashed = u.tanh() if u.item() > 0 else u.sigmoid()
        return squashed * ((a * b).sin() + b.exp() / (1 + a ** 2)) + (a - b).relu()

    compiled_f = compile(f)
    points = [(0.7, -1.3), (0.1, 0.2), (3.0, 1.0), (-1.0, 2.0), (0.7, -1.3)]
    with pytest.warns(RuntimeWarning, match="Python decision"):
        got = [compiled_f(Tensor(a), Tensor(b)).data for a, b in points]
    assert all(_same(v, f(Tensor(a), Tensor(b)).data) for v, (a, b) in zip(got, points))


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_notebook_02_seed_network_minibatch_sgd_bit_for_bit(batch_size):
    X = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=np.float64)
    y = np.array([[1], [1], [0]], dtype=np.float64)
    rng = np.random.default_rng(42)
    initial = {"W1": rng.normal(size=(4, 3)), "b1": np.zeros(3), "W2": rng.normal(size=(3, 1)), "b2": np.zeros(1)}

    def forward(p, X):
        H = (X @ p["W1"] + p["b1"]).sigmoid()
        return (H @ p["W2"] + p["b2"]).sigmoid()

    def train(compiled):
        p = {key: Tensor(value.copy(), requires_grad=True) for key, value in initial.items()}
        optimizer = nn.SGD(p.values(), lr=0.1)

        def step(X_batch, y_batch):
            batch_loss = ((forward(p, X_batch) - y_batch) ** 2).mean()
            batch_loss.backward()
            return batch_loss

        step = compile(step) if compiled else step
        losses = []
        for _ in range(20):
            for X_batch, y_batch in nn.data.batches(X, y, batch_size, shuffle=False):
                optimizer.zero_grad()
                losses.append(step(X_batch, y_batch).data)
                optimizer.step()
        if compiled:
            assert step.cache_info()["replays"] >= 20 * (3 // batch_size) - 4
        return losses, [t.data for t in p.values()]

    (loss_e, p_e), (loss_c, p_c) = train(False), train(True)
    assert all(_same(a, b) for a, b in zip(loss_e, loss_c)) and all(_same(a, b) for a, b in zip(p_e, p_c))


def test_gradients_summed_over_broadcast_dimensions_and_cast_as_the_engine_does():
    rng = np.random.default_rng(5)
    w32 = Tensor(rng.normal(size=(1, 3)).astype(np.float32), requires_grad=True)
    w64 = Tensor(rng.normal(size=(3,)), requires_grad=True)
    twins = (Tensor(w32.data, requires_grad=True), Tensor(w64.data, requires_grad=True))

    def make(a, b):
        def fn(x):
            loss = ((Tensor(x) * a).tanh() * b + a).sum()  # float64 x float32: a's gradient is cast back
            loss.backward()
            return loss
        return fn

    eager, compiled = make(w32, w64), compile(make(*twins))
    for _ in range(2 + REPLAYS):
        x = rng.normal(size=(4, 2, 3))
        assert _same(eager(x).data, compiled(x).data)
        assert _same(w32.grad, twins[0].grad) and _same(w64.grad, twins[1].grad)
        assert twins[0].grad.dtype == np.float32
    assert any("_add_reduce(_t, axis=" in source and ".astype(" in source for source in compiled.sources)


def test_an_in_place_change_inside_falls_back():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def fn(x):
        h = Tensor(x) * 1.0
        with no_grad():
            h *= 3.0  # not a recorded operation: a replay would miss it
        loss = (h * w).sum()
        loss.backward()
        return loss

    compiled = compile(fn)
    with pytest.warns(RuntimeWarning, match="in-place"):
        got = [compiled(np.array([1.0, float(k)])).data for k in range(5)]
    assert all(_same(g, np.array(3.0 + 6.0 * k)) for k, g in enumerate(got))


def test_anomaly_mode_runs_eagerly():
    from autograd import detect_anomaly

    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    compiled = compile(lambda x: (Tensor(x) * w).sum().backward())
    for _ in range(3):
        compiled(np.ones(2))
    with detect_anomaly():
        compiled(np.ones(2))
    assert compiled.cache_info()["replays"] == 1 and _same(w.grad, 4 * np.ones(2))


# ---------------------------------------------------------------- the optimizer inside, constant folding
def _seed_step(params):
    X = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=np.float64)
    Y = np.array([[1], [1], [0]], dtype=np.float64)

    def step():
        wh, bh, wo, bo = params
        hidden = (Tensor(X) @ wh + bh).sigmoid()
        output = (hidden @ wo + bo).sigmoid()
        loss = ((output - Y) ** 2).sum() * 0.5
        loss.backward()
        return loss
    return step


@pytest.mark.parametrize("make_optimizer", [
    lambda p: nn.SGD(p, lr=0.1), lambda p: nn.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
    lambda p: nn.Adam(p, lr=1e-2), lambda p: nn.RMSprop(p, lr=1e-2, centered=True)])
def test_optimizer_inside_equals_zero_grad_call_step(make_optimizer):
    eager_params, compiled_params = _params(3, [(4, 3), (1, 3), (3, 1), (1, 1)]), _params(3, [(4, 3), (1, 3), (3, 1), (1, 1)])
    eager_opt, compiled_opt = make_optimizer(eager_params), make_optimizer(compiled_params)
    eager = _seed_step(eager_params)
    compiled = compile(_seed_step(compiled_params), optimizer=compiled_opt)
    for call in range(3 + REPLAYS):
        if call == 4:  # an option changed between calls (a schedule) is read at the next replay
            eager_opt.lr = compiled_opt.lr = eager_opt.lr * 0.5
        eager_opt.zero_grad()
        loss = eager()
        eager_opt.step()
        assert _same(loss.data, compiled().data)
        for pe, pc in zip(eager_params, compiled_params):
            assert _same(pe.data, pc.data) and _same(pe.grad, pc.grad)
    assert compiled.cache_info()["replays"] == 1 + REPLAYS
    assert "_ostep(" not in compiled.sources[0] and "_O.step()" not in compiled.sources[0]  # unrolled
    compiled_opt.param_groups[0]["lr"] = float("nan")  # set past the checks: refused at the replay, as by step()
    with pytest.raises(ValueError, match="lr"):
        compiled()


def test_optimizer_inside_sees_a_parameter_saved_before_the_step_as_changed():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = nn.SGD([w], lr=0.1)

    def fn(x):
        loss = (Tensor(x) * w).sum()
        loss.backward()
        return loss

    compiled = compile(fn, optimizer=opt)
    for _ in range(3):
        compiled(np.ones(2))
    saved = (w * w).sum()  # reads w's values ...
    compiled(np.ones(2))  # ... which the replayed step changes in place
    with pytest.raises(RuntimeError):
        saved.backward()


def test_constant_gradients_are_folded_bit_for_bit():
    def make():
        params = _params(4, [(3, 2), (2,)])

        def step(x):
            w, b = params
            loss = (((Tensor(x) @ w + b).tanh() - 0.25) ** 2).mean() * 3.0  # root, * 3, mean, sum: constants
            loss.backward()
            return loss
        return params, step

    rng = np.random.default_rng(6)
    compiled = _run_both(make, [(rng.normal(size=(5, 3)),) for _ in range(2 + REPLAYS)])
    rules = [line.strip() for line in compiled.sources[0].splitlines() if line.strip().startswith("_t = ")]
    # the rules of * 3.0, mean's * (1 / 5) and sum leave nothing to run: pow's (which reads the base),
    # sub's and tanh's are written inline (compile_inline), matmul's written out, add's passes g on
    assert rules[0].endswith("* (2.0 * v3)") and rules[2].endswith("* (1.0 - v2 * v2)") and len(rules) == 7
    assert "_matmul(a0.T" in compiled.sources[0] and "R" not in "".join(r[5:6] for r in rules)


def test_folding_leaves_a_rule_that_reads_a_replayed_value():
    def make():
        params = _params(5, [(4,)])

        def step(x, s):
            (w,) = params
            loss = (Tensor(x) * w).sum() * Tensor(s)  # the root's rule reads s: not a constant
            loss.backward()
            return loss
        return params, step

    rng = np.random.default_rng(7)
    _run_both(make, [(rng.normal(size=4), np.array(rng.normal())) for _ in range(2 + REPLAYS)])


def test_a_gradient_changed_in_place_after_backward_is_refused():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def fn(x):
        loss = (Tensor(x) * w).sum()
        loss.backward()
        w.grad *= 0.5  # in place on the very array backward() gave (the recording keeps no copy of it)
        return loss

    with pytest.raises(Refusal):
        compile(fn)(np.ones(2))


def test_leaf_gradients_written_out_accumulate_as_backward_does():
    def make():
        params = _params(8, [(3, 2), (1, 2)])

        def step(x):
            w, b = params
            loss = ((Tensor(x) @ w + b) ** 2).sum()
            loss.backward()
            return loss
        return params, step

    (eager_params, eager), (compiled_params, fn) = make(), make()
    compiled = compile(fn)
    rng = np.random.default_rng(9)
    for _ in range(2 + REPLAYS):  # .grad never reset: each call adds to it
        x = rng.normal(size=(4, 3))
        assert _same(eager(x).data, compiled(x).data)
        for pe, pc in zip(eager_params, compiled_params):
            assert _same(pe.grad, pc.grad)
    assert "._grad = l0_" in compiled.sources[0]
    held = compiled_params[0].grad
    compiled_params[0].grad = None
    compiled(x)
    assert compiled_params[0].grad is not held and np.array_equal(held, eager_params[0].grad)


@pytest.mark.parametrize("kwargs", [False, True])
def test_one_object_passed_twice_is_a_signature_of_its_own(kwargs):
    # recorded with f(x, x), the step reads one array for both arguments: f(x, y) must not replay that
    def f(a, b):
        return (a * 2.0 + b).sum()

    compiled = compile(f)
    x, y = Tensor(np.ones(3)), Tensor(np.full(3, 10.0))
    call = (lambda a, b: compiled(a, b=b)) if kwargs else compiled
    for _ in range(3):
        assert call(x, x).item() == 9.0
    for _ in range(3):
        assert call(x, y).item() == 36.0
        assert call(y, x).item() == 63.0
    assert call(x, x).item() == 9.0
    assert compiled.cache_info()["signatures"] == 2  # (x, x), and two distinct tensors


def test_another_threads_op_during_a_recording_neither_hides_ops_nor_leaves_the_tracer_set():
    # thread B runs an eager op that is still inside the recorder when A's ops continue and A's recording
    # ends: A's ops must be recorded all the same, and nothing of the recording may stay active afterwards
    import importlib
    import threading

    primitive_module = importlib.import_module("autograd.primitive")  # (autograd.primitive is the function)

    inside, release, recording = threading.Event(), threading.Event(), threading.Event()

    def blocking(x):
        inside.set()
        release.wait(10)
        return x * 1.0

    slow = primitive_module.primitive(blocking, vjp=None, name="blocking")
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def step(x):
        if not recording.is_set():
            recording.set()
            assert inside.wait(10)  # B is now inside the recorder, running its op
        loss = ((Tensor(x) * w).sum() * 3.0)
        loss.backward()
        return loss

    compiled = compile(step)
    other = threading.Thread(target=lambda: recording.wait(10) and slow(Tensor(np.ones(2))))
    other.start()
    x = np.array([0.5, -1.0])
    first = compiled(x)
    release.set()
    other.join(10)
    assert primitive_module._tracer is None
    w.grad = None
    for _ in range(3):
        assert compiled(x).item() == first.item()
        np.testing.assert_array_equal(w.grad, 3.0 * x)
        w.grad = None
    assert compiled.cache_info()["replays"] >= 1
