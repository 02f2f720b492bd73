"""Graph images: the DOT structure of known graphs, node kinds, scopes, limits, and real rendering."""
import re
import time
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Tensor, draw_graph, name_scope, save_graph
from autograd.viz import INSTALL_HINT, GraphImage, GraphvizNotFoundError

_NODE = re.compile(r'^\t*(\w+) \[(.*)\]$')
_EDGE = re.compile(r'^\t*(\w+) -> (\w+)')
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')


def parse(graph):
    """Nodes {id: attrs (with 'clusters': enclosing cluster labels)}, edges [(u, v)] of a graph's DOT text."""
    nodes, edges, stack = {}, [], []
    for line in graph.source.splitlines():
        if m := re.match(r'^\t*subgraph (\w+) \{$', line):
            stack.append(m.group(1))
        elif line.strip() == "}":
            if stack:
                stack.pop()
        elif m := re.match(r'^\t*graph \[(.*)\]$', line):
            if stack:
                label = dict(_ATTR.findall(m.group(1)))["label"].strip('"')
                stack[-1] = label
        elif m := _EDGE.match(line):
            edges.append(m.groups())
        elif (m := _NODE.match(line)) and m.group(1) not in ("node", "edge"):
            attrs = {k: v.strip('"') for k, v in _ATTR.findall(m.group(2))}
            attrs["clusters"] = tuple(stack)
            nodes[m.group(1)] = attrs
    return nodes, edges


def kinds(nodes):
    return {nid: a["class"].split()[0] for nid, a in nodes.items()}


def of_kind(nodes, kind):
    return [nid for nid, k in kinds(nodes).items() if k == kind]


def lines(attrs):
    return attrs["label"].split("\\n")


def by_title(nodes, title):
    found = [a for a in nodes.values() if lines(a)[0] == title]
    assert len(found) == 1, (title, [lines(a) for a in nodes.values()])
    return found[0]


def leaves():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = Tensor([3.0, 4.0], requires_grad=True, name="y")
    z = Tensor(2.0, name="z")
    return x, y, z


# ---------------------------------------------------------------- structure
def test_sum_times_constant_has_two_ops_and_five_tensors():
    x, y, z = leaves()
    nodes, edges = parse(draw_graph((x + y) * z))
    assert len(of_kind(nodes, "op")) == 2
    assert len(nodes) - 2 == 5
    assert sorted(lines(nodes[n])[0] for n in of_kind(nodes, "op")) == ["add", "mul"]
    assert len(edges) == 6
    assert kinds(nodes) == {"t0": "param", "t1": "param", "op2": "op", "t2": "tensor", "t3": "const",
                            "op4": "op", "t4": "output"}
    assert set(edges) == {("t0", "op2"), ("t1", "op2"), ("op2", "t2"), ("t2", "op4"), ("t3", "op4"), ("op4", "t4")}


GOLDEN = """digraph autograd {
	graph [bgcolor=white fontname=Helvetica fontsize=11 nodesep=0.25 rankdir=TB ranksep=0.35]
	node [fontname=Helvetica fontsize=10 height=0.3 margin="0.1,0.04"]
	edge [arrowsize=0.6 color="#495057"]
	t0 [label="x (param)\\n(2,) float64" class=param color="#1c7ed6" fillcolor="#d0ebff" shape=box style=filled]
	t1 [label="y (param)\\n(2,) float64" class=param color="#1c7ed6" fillcolor="#d0ebff" shape=box style=filled]
	op2 [label=add class=op color="#f59f00" fillcolor="#fff3bf" shape=ellipse style=filled]
	t2 [label="(2,) float64" class=tensor color="#495057" fillcolor="#ffffff" shape=box style="rounded,filled"]
	t3 [label="z (const)\\nscalar float64" class=const color="#868e96" fillcolor="#f1f3f5" shape=box style="filled,dashed"]
	op4 [label=mul class=op color="#f59f00" fillcolor="#fff3bf" shape=ellipse style=filled]
	t4 [label="output\\n(2,) float64" class=output color="#e8590c" fillcolor="#ffe8cc" peripheries=2 shape=box style="filled,bold"]
	t0 -> op2
	t1 -> op2
	op2 -> t2
	t2 -> op4
	t3 -> op4
	op4 -> t4
}
"""


def test_dot_text_is_deterministic_and_matches_the_golden_file():
    x, y, z = leaves()
    first = draw_graph((x + y) * z).source
    x, y, z = leaves()
    assert draw_graph((x + y) * z).source == first == GOLDEN


def test_kinds_look_different():
    x, y, z = leaves()
    nodes, _ = parse(draw_graph((x + y) * z))
    looks = {}
    for nid, kind in kinds(nodes).items():
        a = nodes[nid]
        looks.setdefault(kind, set()).add((a["shape"], a["fillcolor"], a["style"], a.get("peripheries")))
    assert all(len(v) == 1 for v in looks.values())
    assert len({v.pop() for v in looks.values()}) == 5  # param, const, output, tensor, op
    assert lines(nodes["t0"])[0] == "x (param)" and lines(nodes["t3"])[0] == "z (const)"
    assert lines(nodes["t4"])[0] == "output" and nodes["op2"]["shape"] == "ellipse"


def test_a_tensor_used_many_times_is_one_node():
    x = Tensor(3.0, requires_grad=True, name="x")
    a = x * x
    out = a * x + a
    nodes, edges = parse(draw_graph(out))
    assert len(nodes) == 1 + 2 * 3
    assert edges.count(("t0", "op1")) == 2  # x * x: both operands drawn
    assert len({lines(a)[0] for a in nodes.values() if a["class"] == "param"}) == 1


def test_several_roots_share_their_graph():
    x, y, _ = leaves()
    h = x * y
    a, b = h.sum(), h.exp()
    nodes, _ = parse(draw_graph(a, b, a))
    assert len(of_kind(nodes, "output")) == 2
    assert len(of_kind(nodes, "op")) == 3


_OPS = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a.tanh(), lambda a, b: b.exp()]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_OPS) - 1), st.integers(0, 99), st.integers(0, 99)), max_size=25),
       st.lists(st.booleans(), min_size=1, max_size=4))
def test_random_graphs_draw_each_tensor_once(steps, needs_grad):
    pool = [Tensor(float(k), requires_grad=r) for k, r in enumerate(needs_grad)]
    for op, i, j in steps:
        pool.append(_OPS[op](pool[i % len(pool)], pool[j % len(pool)]))
    roots = pool[-2:]
    seen, stack = {}, list(roots)  # the tensors that produced the roots, found independently
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen[id(t)] = t
            stack.extend(a for a in (t._inputs or ()) if isinstance(a, Tensor))
    recorded = [t for t in seen.values() if t._prim is not None]
    g = draw_graph(*roots)
    nodes, edges = parse(g)
    assert len(nodes) == len(seen) + len(recorded)
    assert len(re.findall(r"^\t+\w+ \[label", g.source, re.M)) == len(nodes)  # no id twice
    assert len(edges) == sum(len(t._inputs) for t in recorded) + len(recorded)
    assert draw_graph(*roots).source == g.source


def test_op_labels_parameters_and_inline_scalars():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    out = (2.0 - x).sum(axis=1) * 0.5
    ops = sorted(lines(a)[0] for a in parse(draw_graph(out))[0].values() if a["class"] == "op")
    assert ops[:2] == ["mul(·, 0.5)", "sub(2, ·)"] and ops[2].startswith("sum(axis=")


def test_array_constants_become_const_nodes_once():
    x = Tensor(np.ones(3), requires_grad=True)
    c = np.arange(3.0)
    # (a rule that reads its constant, as mul's, keeps its own copy: that copy is a const node of its own)
    nodes, edges = parse(draw_graph((x + c) - c))
    consts = of_kind(nodes, "const")
    assert len(consts) == 1 and lines(nodes[consts[0]])[:2] == ["const", "(3,) float64"]
    assert sum(u == consts[0] for u, _ in edges) == 2


def test_names_and_shapes_and_dtypes_show():
    w = Tensor(np.zeros((3, 4), dtype=np.float32), requires_grad=True, name="W1")
    h = w.sum()
    h.name = "total"
    nodes, _ = parse(draw_graph(h))
    assert lines(by_title(nodes, "W1 (param)"))[1] == "(3, 4) float32"
    assert lines(by_title(nodes, "total (output)"))[1] == "scalar float32"


def test_tensor_method_draws_the_same_graph():
    x, y, z = leaves()
    g = (x + y) * z
    assert isinstance(g.draw_graph(), graphviz.Digraph)
    assert g.draw_graph(show_values=True).source == draw_graph(g, show_values=True).source


def test_bad_arguments():
    with pytest.raises(TypeError, match="at least one"):
        draw_graph()
    with pytest.raises(TypeError, match="ndarray"):
        draw_graph(np.ones(2))
    x, _, _ = leaves()
    with pytest.raises(ValueError, match="depth"):
        draw_graph(x * 2, depth=0)


def test_a_gradient_graph_from_create_graph_draws():
    x = Tensor(2.0, requires_grad=True, name="x")
    (gx,) = autograd.grad(x ** 3, x, create_graph=True)
    nodes, _ = parse(draw_graph(gx))
    assert len(of_kind(nodes, "op")) >= 2 and of_kind(nodes, "output")


# ---------------------------------------------------------------- values, gradients, NaN
def test_show_values_summarises_never_dumps():
    x = Tensor(np.linspace(-1, 3, 10_000), requires_grad=True, name="x")
    s = x.sum()
    nodes, _ = parse(draw_graph(s, show_values=True))
    assert lines(by_title(nodes, "x (param)"))[2] == "value mean 1, -1..3"
    assert lines(by_title(nodes, "output"))[2] == "value 1e+04"
    assert all(len(a["label"]) < 120 for a in nodes.values())
    assert "value" not in draw_graph(s).source


def test_show_grads_after_backward_with_retain_graph():
    x = Tensor([1.0, -2.0], requires_grad=True, name="x")
    h = (x * 3.0).retain_grad()
    h.name = "h"
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    nodes, _ = parse(draw_graph(loss, show_grads=True))
    assert lines(by_title(nodes, "x (param)"))[-1] == "grad mean -9, -36..18"
    assert lines(by_title(nodes, "h"))[-1] == "grad mean -3, -12..6"
    assert not any("grad" in line for line in lines(by_title(nodes, "output"))[1:])


def test_show_grads_before_backward_says_none():
    x, _, _ = leaves()
    nodes, _ = parse(draw_graph(x.sum(), show_grads=True))
    assert lines(by_title(nodes, "x (param)"))[-1] == "grad None"


def test_drawing_a_released_graph_says_what_to_do():
    x, y, _ = leaves()
    loss = (x * y).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="before calling backward.*retain_graph=True"):
        draw_graph(loss, show_grads=True)


def test_nan_and_inf_are_marked_even_when_values_are_hidden():
    x = Tensor([1.0, -1.0, 0.0], requires_grad=True, name="x")
    with np.errstate(all="ignore"):
        y = x.log()
    nodes, _ = parse(draw_graph(y))
    out = by_title(nodes, "output")
    assert out["class"] == "output nonfinite" and out["color"] == "#e03131"
    assert lines(out)[-1] == "value all 0; 1 NaN, 1 -Inf"  # the finite entries, then the others
    assert by_title(nodes, "x (param)")["class"] == "param"


def test_nan_gradient_is_marked():
    x = Tensor([0.0, 1.0], requires_grad=True, name="x")
    with np.errstate(all="ignore"):
        loss = x.sqrt().sum()
        loss.backward(retain_graph=True)
    nodes, _ = parse(draw_graph(loss))
    node = by_title(nodes, "x (param)")
    assert "nonfinite" in node["class"] and lines(node)[-1] == "grad all 0.5; 1 +Inf"


def test_scalar_nan_value_is_marked():
    x = Tensor(np.nan, requires_grad=True)
    nodes, _ = parse(draw_graph(x * 2, show_values=True))
    assert lines(by_title(nodes, "output"))[-1] == "value nan"
    assert by_title(nodes, "output")["class"] == "output nonfinite"


# ---------------------------------------------------------------- name scopes
def mlp(n_layers=2, width=3):
    x = Tensor(np.ones((4, width)), name="x")
    h = x
    for i in range(n_layers):
        w = Tensor(np.full((width, width), 0.1), requires_grad=True, name=f"{i}.weight")
        with name_scope(str(i)):
            h = (h @ w).tanh()
    return h.sum()


def test_each_scope_is_a_cluster_holding_its_ops_and_parameters():
    nodes, _ = parse(draw_graph(mlp()))
    assert by_title(nodes, "0.weight (param)")["clusters"] == ("0",)
    assert by_title(nodes, "1.weight (param)")["clusters"] == ("1",)
    assert by_title(nodes, "x (const)")["clusters"] == ()
    assert by_title(nodes, "output")["clusters"] == ()
    in_scopes = [a["clusters"] for a in nodes.values() if a["class"] == "op" and a["clusters"]]
    assert in_scopes == [("0",)] * 2 + [("1",)] * 2


def test_scopes_nest_and_shared_parameters_sit_in_the_common_scope():
    w = Tensor(np.ones(2), requires_grad=True, name="w")
    with name_scope("encoder"):
        with name_scope("a"):
            h = w * 2.0
        with name_scope("b"):
            h = h + w
    nodes, _ = parse(draw_graph(h.sum()))
    assert by_title(nodes, "w (param)")["clusters"] == ("encoder",)
    assert by_title(nodes, "mul(·, 2)")["clusters"] == ("encoder", "a")
    assert by_title(nodes, "add")["clusters"] == ("encoder", "b")
    assert draw_graph(h.sum()).source.count("subgraph cluster_") == 3


def test_collapse_draws_one_node_per_scope():
    loss = mlp(n_layers=3)
    nodes, edges = parse(draw_graph(loss, collapse=True))
    scopes = of_kind(nodes, "scope")
    assert [lines(nodes[s]) for s in scopes] == [
        [str(i), "2 ops: matmul, tanh", f"params: {i}.weight", "out: (4, 3) float64"] for i in range(3)]
    assert edges[:3] == [("t0", "s0"), ("s0", "s1"), ("s1", "s2")]
    assert len(nodes) == 1 + 3 + 2  # x, 3 scopes, the sum and its output
    assert len(edges) == len(set(edges))


def test_depth_collapses_inner_scopes_and_keeps_outer_clusters():
    w = Tensor(np.ones(2), requires_grad=True, name="w")
    with name_scope("encoder"):
        for name in "ab":
            with name_scope(name):
                w = (w * 2.0).tanh()
    nodes, _ = parse(draw_graph(w.sum(), depth=2))
    scopes = [nodes[s] for s in of_kind(nodes, "scope")]
    assert [lines(s)[0] for s in scopes] == ["a", "b"]
    assert all(s["clusters"] == ("encoder",) for s in scopes)


def test_a_collapsed_root_stays_visible():
    x = Tensor(np.ones(2), requires_grad=True, name="x")
    with name_scope("block"):
        out = (x * 2.0).sum()
    nodes, edges = parse(draw_graph(out, collapse=True))
    assert kinds(nodes) == {"s0": "scope", "t2": "output"}
    assert edges == [("s0", "t2")]


def test_collapse_marks_scopes_holding_nan():
    x = Tensor([-1.0, 1.0], requires_grad=True)
    with name_scope("bad"), np.errstate(all="ignore"):
        y = x.log() * 2.0
    nodes, _ = parse(draw_graph(y.sum(), collapse=True))
    assert nodes["s0"]["class"] == "scope nonfinite"


# ---------------------------------------------------------------- size limits
def chain(n, block=None, x=None):
    h = x if x is not None else Tensor(0.5, requires_grad=True, name="x")
    for i in range(n):
        if block is None:
            h = h.tanh()
        else:
            with name_scope(f"block{i // block}"):
                h = h.tanh()
    return h


def test_over_the_limit_without_scopes_refuses_with_the_count():
    with pytest.raises(ValueError, match=r"1,201 nodes, more than max_nodes=500.*no name scope.*name_scope"):
        draw_graph(chain(600))


def test_over_the_limit_with_scopes_collapses_automatically():
    g = draw_graph(chain(600, block=100))
    nodes, _ = parse(g)
    assert len(of_kind(nodes, "scope")) == 6 and len(nodes) == 7
    assert 'label="1,201 nodes > max_nodes=500' in g.source
    with pytest.raises(ValueError, match=r"1,201 nodes.*pass collapse=True.*7 nodes"):
        draw_graph(chain(600, block=100), collapse=False)


def test_auto_collapse_keeps_the_deepest_level_that_fits():
    x = Tensor(0.5, requires_grad=True, name="x")
    h = x
    for outer in range(2):
        with name_scope(f"stage{outer}"):
            h = chain(300, block=100, x=h)
    nodes, _ = parse(draw_graph(h))
    assert len(of_kind(nodes, "scope")) == 6
    assert {a["clusters"] for a in nodes.values() if a["class"] == "scope"} == {("stage0",), ("stage1",)}


def test_refuses_when_collapsing_is_not_enough():
    with pytest.raises(ValueError, match=r"level 1 it still has 601"):
        draw_graph(chain(600, block=1))
    with pytest.raises(ValueError, match=r"still has 601"):
        draw_graph(chain(600, block=1), collapse=True)
    assert len(parse(draw_graph(chain(600, block=1), max_nodes=None))[0]) == 1201


def test_the_walk_is_iterative():
    nodes, _ = parse(draw_graph(chain(5000), max_nodes=None))  # deeper than Python's recursion limit
    assert len(nodes) == 10_001


def test_a_100k_node_graph_returns_within_seconds():
    big = chain(50_000)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="100,001 nodes"):
        draw_graph(big)
    assert time.perf_counter() - start < 5
    big = chain(50_000, block=1_000)
    start = time.perf_counter()
    nodes, _ = parse(draw_graph(big))
    assert time.perf_counter() - start < 5
    assert len(of_kind(nodes, "scope")) == 50


# ---------------------------------------------------------------- rendering
def test_renders_valid_png_and_svg(tmp_path):
    loss = mlp()
    loss.backward(retain_graph=True)
    png = save_graph(tmp_path / "loss.png", loss, show_values=True, show_grads=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    svg = save_graph(tmp_path / "loss.svg", loss)
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    classes = {g.get("class") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert {"node param", "node const", "node output", "node op", "cluster"} <= classes


def test_save_graph_takes_a_drawn_graph_and_formats(tmp_path):
    x, y, z = leaves()
    g = draw_graph((x + y) * z)
    assert save_graph(tmp_path / "g.out", g, format="svg").read_bytes().lstrip().startswith(b"<?xml")
    assert save_graph(tmp_path / "g.gv", g).read_text() == g.source
    with pytest.raises(ValueError, match="format"):
        save_graph(tmp_path / "g.unknown", g)
    with pytest.raises(TypeError, match="options"):
        save_graph(tmp_path / "g.png", g, show_values=True)


def test_the_digraph_renders_itself(tmp_path):
    x, y, z = leaves()
    g = draw_graph((x + y) * z)
    out = g.render(tmp_path / "g", format="png")
    with open(out, "rb") as f:
        assert f.read(4) == b"\x89PNG"
    assert "image/svg+xml" in g._repr_mimebundle_()


def test_missing_dot_gives_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot executable anywhere
    x, y, z = leaves()
    g = draw_graph((x + y) * z)
    assert isinstance(g, GraphImage) and "->" in g.source  # the DOT text needs no Graphviz
    for render in (lambda: save_graph(tmp_path / "g.png", g), lambda: g.pipe(format="svg"),
                   lambda: g.render(tmp_path / "g", format="png")):
        with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as info:
            render()
        assert isinstance(info.value, graphviz.ExecutableNotFound)
        assert info.value.__suppress_context__
    assert g._repr_mimebundle_() == {"text/plain": INSTALL_HINT}  # a notebook shows the hint
    assert save_graph(tmp_path / "g.gv", g).exists()
