"""Graph images fit a page: the direction chosen from the graph's shape, long chains folded into
columns, module clusters that say what they are; checked on rendered PNGs."""
import struct

import numpy as np
import pytest
from test_viz import by_title, lines, of_kind, parse

import autograd
from autograd import Tensor, draw_graph, name_scope
from autograd.viz_layout import MAX_RATIO, choose, node_size, ranks


def png_size(data):
    """(width, height) in pixels from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def ratio(graph):
    width, height = png_size(graph.pipe(format="png"))
    return max(width, height) / min(width, height), width, height


def mlp_loss():
    """The README's 2-8-1 tanh MLP and its mean squared error, as nn records it (scopes with labels)."""
    rng = np.random.default_rng(0)
    x, y = Tensor(rng.normal(size=(4, 2)), name="x"), Tensor(rng.normal(size=(4, 1)), name="y")
    w0 = Tensor(rng.normal(size=(2, 8)), requires_grad=True, name="0.weight")
    b0 = Tensor(np.zeros(8), requires_grad=True, name="0.bias")
    w1 = Tensor(rng.normal(size=(8, 1)), requires_grad=True, name="1.weight")
    b1 = Tensor(np.zeros(1), requires_grad=True, name="1.bias")
    with name_scope("Sequential", label="Sequential"):
        with name_scope("0", label="Dense(2→8, tanh)"):
            h = (x @ w0 + b0).tanh()
        with name_scope("1", label="Linear(8→1)"):
            out = h @ w1 + b1
    with name_scope("mse_loss"):
        loss = ((out - y) ** 2).mean()
    loss.name = "loss"
    return loss


def digits_loss():
    """The main job's Dense(64→512, relu) + Dense(512→10) cross-entropy on a batch of 8."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(8, 64)).astype(np.float32)
    labels = rng.integers(0, 10, size=8)
    w0 = Tensor(rng.normal(size=(64, 512)).astype(np.float32) * 0.1, requires_grad=True, name="0.weight")
    b0 = Tensor(np.zeros(512, np.float32), requires_grad=True, name="0.bias")
    w1 = Tensor(rng.normal(size=(512, 10)).astype(np.float32) * 0.1, requires_grad=True, name="1.weight")
    b1 = Tensor(np.zeros(10, np.float32), requires_grad=True, name="1.bias")
    with name_scope("0", label="Dense(64→512, relu)"):
        h = (x @ w0 + b0).relu()
    with name_scope("1", label="Dense(512→10)"):
        logits = h @ w1 + b1
    with name_scope("cross_entropy"):
        loss = -autograd.log_softmax(logits, axis=1)[np.arange(8), labels].sum() * (1 / 8)
    return loss


def deep_chain(n=149):  # 248 ops: 497 nodes, just under max_nodes
    h = Tensor(0.5, requires_grad=True, name="x")
    for i in range(n):
        h = (h * 0.9).tanh() if i % 3 else h.sin()
    return h


@pytest.mark.parametrize("make", [mlp_loss, digits_loss, deep_chain])
@pytest.mark.parametrize("annotated", [False, True], ids=["plain", "values+grads"])
def test_default_images_fit_a_page(make, annotated):
    root = make()
    root.backward(retain_graph=True)
    r, width, height = ratio(draw_graph(root, show_values=annotated, show_grads=annotated))
    assert r <= MAX_RATIO, (width, height)


@pytest.mark.parametrize("make", [mlp_loss, digits_loss])
def test_readme_images_keep_labels_legible_at_column_width(make):
    # 10 pt labels at 96 dpi are 13 px tall; scaled into an 880 px column they must stay >= 8 px
    _, width, _ = ratio(draw_graph(make(), show_values=True, show_grads=True))
    assert width * 8 / 13 <= 880, width


def test_the_old_left_to_right_strip_was_too_long():
    # the layout the default replaced: the same graphs drawn left to right are strips
    for make in (mlp_loss, digits_loss):
        r, _, _ = ratio(draw_graph(make(), rankdir="LR"))
        assert r > MAX_RATIO


def test_a_deep_chain_is_folded_into_columns():
    graph = draw_graph(deep_chain())
    crossing = [line for line in graph.source.splitlines() if "constraint=false" in line]
    assert "rankdir=TB" in graph.source
    assert 2 <= len(crossing) <= 20  # one edge from each column to the next
    nodes, edges = parse(graph)
    assert len(edges) == len(nodes) - 1  # nothing added or lost: a chain stays a chain


def test_rankdir_forces_a_direction_and_never_folds():
    for direction in ("LR", "TB", "RL", "BT"):
        source = draw_graph(deep_chain(60), rankdir=direction).source
        assert f"rankdir={direction}" in source and "constraint" not in source


def test_a_wide_shallow_graph_is_drawn_left_to_right():
    parts = [Tensor(np.ones(2), requires_grad=True, name=f"part {i}") for i in range(12)]
    source = draw_graph(autograd.concatenate(parts)).source
    assert "rankdir=LR" in source


def test_a_short_chain_is_drawn_top_down():
    x = Tensor(1.0, requires_grad=True, name="x")
    assert "rankdir=TB" in draw_graph(x.tanh().exp()).source


def test_bad_rankdir_says_what_is_allowed():
    with pytest.raises(ValueError, match=r"draw_graph: rankdir must be None .* not 'up'"):
        draw_graph(Tensor(1.0, requires_grad=True) * 2, rankdir="up")


def test_ranks_pull_a_leaf_down_to_its_consumer():
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("leaf", "d")]
    assert ranks(["a", "b", "c", "d", "leaf"], edges) == {"a": 0, "b": 1, "c": 2, "d": 3, "leaf": 2}


def test_choose_estimates_both_directions():
    tall = {str(i): node_size(["tanh"], True) for i in range(40)}
    chain = [(str(i), str(i + 1)) for i in range(39)]
    direction, fold = choose(tall, chain)
    assert direction == "TB" and fold is not None and sorted(set(fold.values())) == list(range(max(fold.values()) + 1))
    assert choose(tall, chain, "LR") == ("LR", None)
    wide = {str(i): node_size(["param", "(2,) float64"], False) for i in range(20)}
    assert choose(wide | {"sink": (1.0, 0.3)}, [(str(i), "sink") for i in range(20)]) == ("LR", None)


# ---------------------------------------------------------------- what a module is
def test_clusters_show_the_module_label_under_its_path():
    nodes, _ = parse(draw_graph(mlp_loss()))
    assert by_title(nodes, "0.weight (param)")["clusters"] == ("Sequential", "0: Dense(2→8, tanh)")
    assert by_title(nodes, "1.bias (param)")["clusters"] == ("Sequential", "1: Linear(8→1)")
    ops = [nodes[n]["clusters"] for n in of_kind(nodes, "op")]
    assert ("mse_loss",) in ops  # a scope without a label shows its name alone


def test_a_collapsed_module_shows_its_label_ops_and_output_shape():
    nodes, edges = parse(draw_graph(digits_loss(), collapse=True))
    labels = {lines(nodes[s])[0]: lines(nodes[s]) for s in of_kind(nodes, "scope")}
    assert labels["0: Dense(64→512, relu)"] == [
        "0: Dense(64→512, relu)", "3 ops: matmul, add, relu", "params: 0.weight, 0.bias", "out: (8, 512) float32"]
    assert labels["1: Dense(512→10)"][-1] == "out: (8, 10) float32"
    assert labels["cross_entropy"][-1] == "out: scalar float32"
    assert len(of_kind(nodes, "scope")) == 3 and len(edges) == len(set(edges))


# ---------------------------------------------------------------- derivative graphs
def test_a_scope_marked_derivative_titles_the_image_and_is_coloured():
    x = Tensor(0.5, requires_grad=True, name="x")
    out = x.tanh()
    with name_scope("backward", label="derivative graph") as scope:
        scope[-1].derivative = True
        dx = 1 - out * out
    graph = draw_graph(dx)
    assert graph.graph_attr["label"] == autograd.viz.DERIVATIVE_TITLE
    nodes, _ = parse(graph)
    assert {nodes[n]["clusters"] for n in of_kind(nodes, "op")} == {(), ("backward: derivative graph",)}
    assert 'fillcolor="#fff0f6"' in graph.source
    assert "label" not in draw_graph(out).graph_attr  # the forward graph alone has no title


def test_leaves_stay_outside_a_recorded_backward_and_its_constants_say_so():
    x = Tensor(0.5, requires_grad=True, name="x")
    seed = Tensor(1.0)
    with name_scope("backward", label="derivative graph") as scope:
        scope[-1].derivative = True
        dx = seed * (1 - x.tanh() ** 2)
    nodes, _ = parse(draw_graph(dx))
    assert by_title(nodes, "x (param)")["clusters"] == ()
    assert by_title(nodes, "backward constant (const)")["clusters"] == ()


def test_an_unnamed_constant_is_named_by_the_scope_it_enters():
    x = Tensor(np.ones((2, 3)))  # the data a model is called on
    w = Tensor(np.ones((3, 1)), requires_grad=True, name="w")
    with name_scope("model"):
        out = x @ w
    named = Tensor(np.ones((2, 1)), name="target")
    nodes, _ = parse(draw_graph(((out - named) ** 2).sum()))
    assert by_title(nodes, "input of model (const)")["clusters"] == ()
    assert by_title(nodes, "target (const)")["clusters"] == ()  # its own name wins; used outside scopes
    plain = Tensor(np.ones(3))
    assert lines(parse(draw_graph(plain * w.sum()))[0]["t0"])[0] == "const"  # no scope: no role


def test_a_label_equal_to_the_name_is_shown_once():
    x = Tensor(1.0, requires_grad=True, name="x")
    with name_scope("Sequential", label="Sequential"):
        y = x.exp()
    assert 'label=Sequential' in draw_graph(y).source and "Sequential: Sequential" not in draw_graph(y).source


def test_a_gradient_from_create_graph_is_drawn_as_a_derivative_graph():
    x = Tensor(0.5, requires_grad=True, name="x")
    (d1,) = autograd.grad(x.tanh(), x, create_graph=True)
    (d2,) = autograd.grad(d1, x, create_graph=True)
    graph = draw_graph(d2)
    assert graph.graph_attr.get("label") == autograd.viz.DERIVATIVE_TITLE
    nodes, _ = parse(graph)
    assert by_title(nodes, "x (param)")["clusters"] == ()
    assert {nodes[n]["clusters"] for n in of_kind(nodes, "op")} == {("backward: derivative graph",)}
