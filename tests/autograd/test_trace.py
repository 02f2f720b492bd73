"""Watching backprop: retain_grads keeps every gradient, backward_trace records the engine's walk
(values against hand-derived ones), its table, frames and HTML player."""
import html.parser
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Tensor, draw_graph, name_scope
from autograd.testing import broadcastable_shapes, float_arrays, float_dtypes
from autograd.trace import BackwardTrace, backward_trace, retain_grads
from autograd.trace_rules import rule_formula


def seed_001():
    """Notebook 01's g = (x + y) * z at x = 1, y = 3, z = -3."""
    x = Tensor(1.0, requires_grad=True, name="x")
    y = Tensor(3.0, requires_grad=True, name="y")
    z = Tensor(-3.0, requires_grad=True, name="z")
    q = x + y
    q.name = "q"
    g = q * z
    g.name = "g"
    return g, (x, y, z, q)


# ---------------------------------------------------------------- retain_grads
def test_retain_grads_keeps_every_intermediate_gradient_and_the_output_gets_1():
    g, (x, y, z, q) = seed_001()
    with retain_grads():
        g.backward(retain_graph=True)
    assert g.grad == 1.0 and q.grad == -3.0
    assert (x.grad, y.grad, z.grad) == (-3.0, -3.0, 4.0)
    nodes = draw_graph(g, show_grads=True).source
    assert 'label="q\\nscalar float64\\ngrad -3"' in nodes
    assert 'label="g (output)\\nscalar float64\\ngrad 1"' in nodes


@given(st.data())
def test_retain_grads_matches_retain_grad_on_each_tensor(data):
    shapes = data.draw(broadcastable_shapes(2))
    dtype = data.draw(float_dtypes())
    a_data = data.draw(float_arrays(shapes[0], dtype, min_value=-2, max_value=2))
    b_data = data.draw(float_arrays(shapes[1], dtype, min_value=-2, max_value=2))

    def run(retain_each):
        a, b = Tensor(a_data, requires_grad=True), Tensor(b_data, requires_grad=True)
        h = (a * b).tanh()
        s = h + a
        loss = (s * s).sum()
        if retain_each:
            for t in (h, s, loss):
                t.retain_grad()
            loss.backward()
        else:
            with retain_grads():
                loss.backward()
        return [t.grad for t in (a, b, h, s, loss)]

    for kept, retained in zip(run(False), run(True)):
        assert kept.dtype == retained.dtype and kept.shape == retained.shape
        np.testing.assert_array_equal(kept, retained)


def test_retain_grads_stops_at_the_end_of_the_block_and_leaves_retained_tensors_alone():
    g, (x, _, z, q) = seed_001()
    q.retain_grad()
    with retain_grads():
        g.backward(retain_graph=True)
    assert q.grad == -3.0  # kept once, by the engine, not twice
    inner = x * z
    inner.sin().backward()  # after the block: intermediates keep nothing again
    assert inner.grad is None and x.grad is not None


def test_retain_grads_nests_with_a_trace():
    g, (x, _, _, q) = seed_001()
    with retain_grads():
        trace = backward_trace(g)
    assert q.grad == -3.0 and g.grad == 1.0 and len(trace) == 2 and x.grad == -3.0


# ---------------------------------------------------------------- the trace of seed 001
def test_seed_001_step_by_step():
    g, (x, y, z, _) = seed_001()
    trace = backward_trace(g)
    assert isinstance(trace, BackwardTrace) and len(trace) == 2
    first, second = trace.steps
    assert (first.tensor, first.op, float(first.grad)) == ("g", "mul", 1.0)
    assert [(s.input, s.formula, s.where, float(s.grad)) for s in first.sends] == [
        ("q", "g * b", "b = z", -3.0), ("z", "g * a", "a = q", 4.0)]
    assert (second.tensor, second.op, float(second.grad)) == ("q", "add", -3.0)
    assert [(s.input, s.formula, float(s.grad)) for s in second.sends] == [("x", "g", -3.0), ("y", "g", -3.0)]
    assert (x.grad, y.grad, z.grad) == (-3.0, -3.0, 4.0)  # the backward really ran


def test_the_table_as_text_and_html():
    g, _ = seed_001()
    trace = backward_trace(g)
    text = str(trace).splitlines()
    assert text[0].split() == ["step", "tensor", "(op)", "gradient", "in", "to", "input", "rule", "sends", "input's",
                               "gradient", "so", "far"]
    assert text[2].split() == ["1", "g", "(mul)", "1", "→", "q", "g", "*", "b", "[b", "=", "z]", "-3", "-3"]
    assert text[3].split() == ["→", "z", "g", "*", "a", "[a", "=", "q]", "4", "4"]
    assert text[4].split() == ["2", "q", "(add)", "-3", "→", "x", "g", "-3", "-3"]
    table = ET.fromstring(trace._repr_html_())
    rows = table.findall("./tbody/tr")
    assert len(rows) == 4 and [td.text for td in rows[0]][:3] == ["1", "g (mul)", "1"]
    assert repr(trace).startswith("<BackwardTrace: 2 steps>")


def test_a_value_used_twice_sums_its_contributions():
    x = Tensor(2.0, requires_grad=True, name="x")
    out = x * x + x  # d/dx = 2x + 1 = 5, from three contributions
    trace = backward_trace(out)
    to_x = [s for step in trace.steps for s in step.sends if s.input == "x"]
    assert [float(s.grad) for s in to_x] == [1.0, 2.0, 2.0]
    assert [(s.count, float(s.total)) for s in to_x] == [(1, 1.0), (2, 3.0), (3, 5.0)]
    assert x.grad == 5.0 and "5 (sum of 3)" in str(trace)


def test_an_intermediate_used_twice_gets_its_total_before_its_step():
    x = Tensor(0.5, requires_grad=True, name="x")
    h = x.tanh()
    h.name = "h"
    out = h * h + h
    trace = backward_trace(out)
    step_h = next(s for s in trace.steps if s.tensor == "h")
    sent_to_h = [s for step in trace.steps for s in step.sends if s.input == "h"]
    assert len(sent_to_h) == 3 and step_h.number > max(
        step.number for step in trace.steps if any(s.input == "h" for s in step.sends))
    np.testing.assert_allclose(step_h.grad, 2 * np.tanh(0.5) + 1)
    np.testing.assert_allclose(step_h.grad, sent_to_h[-1].total)
    assert step_h.sends[0].formula == "g * (1.0 - out * out)"


@given(st.data())
def test_leaves_get_the_same_grad_as_backward(data):
    shapes = data.draw(broadcastable_shapes(3))
    dtype = data.draw(float_dtypes())
    arrays = [data.draw(float_arrays(s, dtype, min_value=-2, max_value=2)) for s in shapes]

    def loss(ts):
        a, b, c = ts
        return ((a * b).tanh() + c * a).sum()

    plain = [Tensor(v, requires_grad=True) for v in arrays]
    loss(plain).backward()
    traced = [Tensor(v, requires_grad=True) for v in arrays]
    trace = backward_trace(loss(traced))
    for p, t in zip(plain, traced):
        assert t.grad.dtype == p.grad.dtype and t.grad.shape == p.grad.shape
        np.testing.assert_array_equal(t.grad, p.grad)
    assert trace.steps[0].op == "sum"  # the engine starts from the output


def test_the_4_3_1_sigmoid_network_matches_the_hand_derived_deltas():
    # notebook 02's network and its deltas, derived by hand
    X = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=np.float64)
    y = np.array([[1], [1], [0]], dtype=np.float64)
    rng = np.random.default_rng(42)
    W1, b1, W2, b2 = rng.normal(size=(4, 3)), np.zeros(3), rng.normal(size=(3, 1)), np.zeros(1)

    def sigmoid(t):
        return 1 / (1 + np.exp(-t))

    H = sigmoid(X @ W1 + b1)
    y_hat = sigmoid(H @ W2 + b2)
    d_y_hat = 2 * (y_hat - y) / y.size
    d_2 = d_y_hat * y_hat * (1 - y_hat)
    d_H = d_2 @ W2.T
    d_1 = d_H * H * (1 - H)

    p = {k: Tensor(v, requires_grad=True, name=k) for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items()}
    z1 = X @ p["W1"] + p["b1"]
    h = z1.sigmoid()
    z2 = h @ p["W2"] + p["b2"]
    out = z2.sigmoid()
    for t, name in ((z1, "z1"), (h, "H"), (z2, "z2"), (out, "y_hat")):
        t.name = name
    trace = backward_trace(((out - y) ** 2).mean())
    arriving = {step.tensor: step.grad for step in trace.steps}
    for name, expected in (("y_hat", d_y_hat), ("z2", d_2), ("H", d_H), ("z1", d_1)):
        np.testing.assert_allclose(arriving[name], expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(p["W1"].grad, X.T @ d_1, rtol=0, atol=1e-15)
    sigmoid_step = next(s for s in trace.steps if s.tensor == "y_hat")
    assert sigmoid_step.sends[0].formula == "g * out * (1.0 - out)"
    matmul_step = next(s for s in trace.steps if s.tensor.startswith("matmul") and s.sends[0].input == "H")
    assert [s.formula for s in matmul_step.sends] == ["g @ b.T", "a.T @ g"]


def test_bad_input_says_what_to_do():
    x = Tensor(1.0, requires_grad=True)
    with pytest.raises(TypeError, match="backward_trace: expected a Tensor, got float"):
        backward_trace(1.0)
    with pytest.raises(ValueError, match="backward_trace: the output is a leaf"):
        backward_trace(x)
    out = x * 2
    out.backward()
    with pytest.raises(RuntimeError, match="released by an earlier backward"):
        backward_trace(out)


# ---------------------------------------------------------------- the rules' formulas
def test_formulas_come_from_the_rules_own_source():
    softplus = autograd.primitive(lambda x: np.logaddexp(0, x), vjp=lambda i, g, out, x: g / (1 + np.exp(-x)),
                                  name="softplus")

    def pick(i, g, out, a, b):
        if i == 0:
            return g * b
        return g

    two_cases = autograd.primitive(np.multiply, vjp=pick, name="two_cases")
    x = Tensor(1.0, requires_grad=True)
    assert rule_formula(softplus(x)._prim, 0, ["x"]) == ("g / (1 + np.exp(-x))", "")
    assert rule_formula(two_cases(x, x)._prim, 1, ["x", "x"]) == ("rule pick for input 1", "")
    assert rule_formula((x + 1)._prim, 0, ["x", "1"]) == ("g", "")
    assert rule_formula((x - 1)._prim, 1, ["x", "1"]) == ("-g", "")


# ---------------------------------------------------------------- frames and the player
def test_one_frame_per_step_with_the_same_layout():
    g, _ = seed_001()
    trace = backward_trace(g)
    frames = trace.frames()
    assert len(frames) == len(trace) == 2
    sources = [f.source for f in frames]
    node_lines = [[line.split(" [")[0] for line in s.splitlines() if " width=" in line and "->" not in line] for s in sources]
    assert node_lines[0] == node_lines[1] and len(node_lines[0]) == 7
    widths = [[line.split(" width=")[1].split()[0] for line in s.splitlines() if " width=" in line and "->" not in line]
              for s in sources]
    assert widths[0] == widths[1]
    assert "rankdir=TB" in sources[0] and "rankdir=TB" in sources[1]


def test_a_frame_highlights_the_step_and_fills_in_what_is_known():
    g, _ = seed_001()
    trace = backward_trace(g)
    first, second = (f.source for f in trace.frames())
    assert 'label="x (param)\\nscalar float64\\nvalue 1\\ngrad ?"' in first
    assert 'label="z (param)\\nscalar float64\\nvalue -3\\ngrad 4"' in first
    assert 'label="x (param)\\nscalar float64\\nvalue 1\\ngrad -3"' in second
    assert first.count('class="output now"') == 1 and first.count('class="op now"') == 1
    assert second.count('class="tensor now"') == 1 and "output now" not in second
    assert first.count("xlabel=") == 2 and second.count("xlabel=") == 2  # this step's contributions
    assert "step 1 of 2: g (mul) gets gradient 1" in first
    with pytest.raises(IndexError, match="steps are 1..2"):
        trace.frame(3)


def test_frames_export_as_numbered_svg_and_png(tmp_path):
    g, _ = seed_001()
    trace = backward_trace(g)
    svgs = trace.save_frames(tmp_path / "svg")
    assert [p.name for p in svgs] == ["frame_001.svg", "frame_002.svg"]
    assert all(ET.parse(p).getroot().tag == "{http://www.w3.org/2000/svg}svg" for p in svgs)
    pngs = trace.save_frames(tmp_path / "png", format="png")
    assert [p.read_bytes()[:8] for p in pngs] == [b"\x89PNG\r\n\x1a\n"] * 2
    with pytest.raises(ValueError, match="format must be 'svg' or 'png'"):
        trace.save_frames(tmp_path, format="gif")


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.frames, self.scripts, self.urls, self.controls = [], 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "frame" in (attrs.get("class") or "").split():
            self.frames.append(attrs)
        if tag == "script":
            self.scripts += 1
            assert "src" not in attrs
        if tag in ("button", "input"):
            self.controls.append(attrs.get("class"))
        for key in ("src", "href", "xlink:href"):
            if attrs.get(key):
                self.urls.append(attrs[key])


def test_the_player_is_one_self_contained_page(tmp_path):
    g, _ = seed_001()
    player = backward_trace(g).player()
    path = player.save(tmp_path / "trace.html")
    page = path.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(page)
    assert [f["data-step"] for f in parser.frames] == ["1", "2"]
    assert "style" not in parser.frames[0] and parser.frames[1]["style"] == "display:none"
    assert parser.controls == ["prev", "slider", "next"] and parser.scripts == 1
    assert parser.urls == []  # nothing to fetch
    assert page.startswith("<!DOCTYPE html>") and player._repr_html_() in page
    assert repr(player) == "<backward trace player: 2 frames>"


def test_a_trace_inside_scopes_keeps_its_clusters():
    x = Tensor(np.ones(3), requires_grad=True, name="x")
    with name_scope("layer", label="Dense(3→3, tanh)"):
        h = (x * 0.5).tanh()
    trace = backward_trace(h.sum())
    assert [s.op for s in trace.steps] == ["sum", "tanh", "mul(·, 0.5)"]
    assert 'label="layer: Dense(3→3, tanh)"' in trace.frame(2).source


def test_frames_of_a_graph_too_big_to_draw_say_what_to_do():
    h = Tensor(0.5, requires_grad=True, name="x")
    for _ in range(250):
        h = h.tanh()
    trace = backward_trace(h)
    assert len(trace) == 250 and "250" in str(trace).splitlines()[-1].split()[0]
    with pytest.raises(ValueError, match=r"the graph has 501 nodes, more than 500 .* trace a smaller part"):
        trace.frame(1)


def test_a_vector_output_is_traced_from_the_gradient_given():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    out = x.exp()
    trace = backward_trace(out, np.array([1.0, 0.0, -1.0]))
    (step,) = trace.steps
    np.testing.assert_array_equal(step.grad, [1.0, 0.0, -1.0])
    np.testing.assert_allclose(x.grad, [np.e, 0.0, -np.exp(3)])
    assert step.sends[0].formula == "g * out" and "[1, 0, -1]" in str(trace)
    assert "grad [2.718, 0, -20.09]" in trace.frame(1).source


def test_retain_grads_keeps_what_a_create_graph_backward_computes():
    x = Tensor(0.5, requires_grad=True, name="x")
    h = x.tanh()
    out = h * h
    with retain_grads():
        (dx,) = autograd.grad(out, x, create_graph=True)
    np.testing.assert_allclose(h.grad, 2 * np.tanh(0.5))
    assert isinstance(h.grad, np.ndarray) and out.grad == 1.0
    np.testing.assert_allclose(dx.item(), 2 * np.tanh(0.5) * (1 - np.tanh(0.5) ** 2))


def test_formulas_of_rules_typed_in_a_notebook_cell():
    import linecache

    source = "softsign = autograd.primitive(lambda x: x / (1 + abs(x)), vjp=lambda i, g, out, x: g / (1 + abs(x)) ** 2)\n"
    linecache.cache["<cell 7>"] = (len(source), None, source.splitlines(True), "<cell 7>")  # as IPython does
    cell = {"autograd": autograd}
    exec(compile(source, "<cell 7>", "exec"), cell)
    x = Tensor(1.0, requires_grad=True)
    assert rule_formula(cell["softsign"](x)._prim, 0, ["x"]) == ("g / (1 + abs(x)) ** 2", "")
    exec(compile(source, "<lost cell>", "exec"), cell)  # source nowhere to be found: the rule's name instead
    assert rule_formula(cell["softsign"](x)._prim, 0, ["x"]) == ("rule <lambda> for input 0", "")
