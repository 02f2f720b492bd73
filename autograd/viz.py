"""Graph images: the DAG that produced some tensors, as a ``graphviz.Digraph``.

>>> from autograd import Tensor, draw_graph, save_graph
>>> x = Tensor([1.0, 2.0], requires_grad=True, name="x")
>>> loss = (x * x).sum()
>>> g = draw_graph(loss)              # shows inline in Jupyter; g.source is the DOT text
>>> save_graph("loss.svg", loss)      # PNG, SVG, PDF or DOT, chosen by the suffix

Every recorded tensor is drawn as an operation node (ellipse: ``mul``, ``sum(axis=1)``) feeding a
tensor node (box: name, shape, dtype).  The kind of a tensor shows in its style and its first
line: parameters (leaves that require grad, blue, "param"), constants (grey, dashed, "const"),
the roots (orange, double border, "output") and intermediates (white, rounded).  Python and 0-d
constants are written into the operation's label (``mul(·, 0.5)``: · is a tensor input); array
constants get a "const" node.  Each ``name_scope`` becomes a labelled cluster; a parameter sits in
the innermost scope shared by the operations that read it, constant tensors outside all scopes.
NaN and Inf values or gradients turn a node red.  Node ids are numbered in the order of an
iterative depth-first walk from the roots, so the DOT text is deterministic.

Graphviz's layout time explodes with size, so past ``max_nodes`` nodes each name scope is drawn
as one node, or a ValueError says how many nodes there are and how to get under the limit.
The direction (top-down or left-to-right) and the folding of deep chains into columns are chosen
so the image fits a page (``viz_layout``); ``autograd.trace`` draws a backward pass frame by frame.
"""
import numbers
import pathlib

import graphviz
import numpy as np

from autograd import viz_layout
from autograd.tensor import Tensor
from autograd.viz_collapse import _choose_level, _collapse
from autograd.viz_text import CONST, OP, OUTPUT, PARAM, SCOPE, TENSOR, _nonfinite, _num, _shape_text, _summary, _text

INSTALL_HINT = (
    "Graphviz's 'dot' executable was not found on PATH, so the graph cannot be rendered as an image "
    "(its DOT text is still in graph.source). Install Graphviz itself, not only the Python package: "
    "'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS), "
    "'conda install -c conda-forge graphviz', or https://graphviz.org/download/"
)


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's ``dot`` executable, which is missing; the message says how to install it."""

    def __init__(self, message=INSTALL_HINT):
        RuntimeError.__init__(self, message)


class GraphImage(graphviz.Digraph):
    """The ``graphviz.Digraph`` returned by ``draw_graph``: rendering errors carry the install hint.

    ``.source`` is the DOT text, ``.render(path, format="png")`` writes a file, and in Jupyter the
    graph shows inline (or, without ``dot``, the install hint instead of a traceback).
    """

    def pipe(self, *args, **kwargs):
        """The rendered image as bytes (``format="png"``...), as graphviz's; raises the install hint without ``dot``."""
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFoundError() from None

    def render(self, *args, **kwargs):
        """Write the image file (``render(path, format="png")``), as graphviz's; raises the install hint without ``dot``."""
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFoundError() from None

    def __repr__(self):  # stable (no memory address), so saved notebook outputs do not churn
        nodes = sum(1 for line in self.body if line.lstrip().split(" ", 1)[0].isidentifier() and "->" not in line and "[" in line)
        return f"<GraphImage {self.name or 'graph'}: {nodes} nodes>"

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": INSTALL_HINT}


_STYLES = {
    PARAM: {"shape": "box", "style": "filled", "fillcolor": "#d0ebff", "color": "#1c7ed6"},
    CONST: {"shape": "box", "style": "filled,dashed", "fillcolor": "#f1f3f5", "color": "#868e96"},
    OUTPUT: {"shape": "box", "style": "filled,bold", "fillcolor": "#ffe8cc", "color": "#e8590c", "peripheries": "2"},
    TENSOR: {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": "#495057"},
    OP: {"shape": "ellipse", "style": "filled", "fillcolor": "#fff3bf", "color": "#f59f00"},
    SCOPE: {"shape": "box3d", "style": "filled", "fillcolor": "#e6fcf5", "color": "#0ca678"},
}
_NONFINITE = {"color": "#e03131", "fontcolor": "#c92a2a", "penwidth": "3"}
_CLUSTER_FILLS = ("#f8f9fa", "#f1f3f5", "#e9ecef")
_TAGS = {PARAM: "param", CONST: "const", OUTPUT: "output"}
DERIVATIVE_TITLE = "derivative graph: the backward pass recorded by grad(..., create_graph=True)"


def draw_graph(*roots, show_values=False, show_grads=False, rankdir=None, max_nodes=500, collapse=None,
               depth=None):
    """The graph of operations that produced ``roots``, as a ``graphviz.Digraph`` (a ``GraphImage``).

    ``show_values`` / ``show_grads`` add to each tensor its value / gradient: a scalar's value, or an
    array's mean and min..max (leaves' gradients, and intermediates' after ``retain_grad()``).
    To see gradients after ``backward()``, call ``backward(retain_graph=True)``: a plain
    ``backward()`` releases the graph and drawing it afterwards raises an error.

    ``rankdir`` (None: chosen to fit a page) forces a direction: "LR", "TB", "RL" or "BT".  By
    default the squarer of left-to-right and top-to-bottom is drawn, and a graph too long either
    way (a deep chain) is folded top to bottom into side-by-side columns.

    ``max_nodes`` (None: no limit) bounds the drawing.  ``collapse=None`` draws everything when it
    fits, else collapses the deepest scope level that brings it under the limit, else raises
    ValueError.  ``collapse=True`` always draws each scope at nesting level ``depth`` (default 1:
    the outermost) as one node; ``collapse=False`` never collapses.  The roots always stay visible.

    >>> with name_scope("layer"):
    ...     h = (x @ W + b).tanh()
    >>> draw_graph(h.sum(), show_values=True)               # one box labelled "layer"
    >>> draw_graph(h.sum(), collapse=True)                  # "layer" drawn as one node
    """
    if not roots:
        raise TypeError("draw_graph: give at least one Tensor to draw")
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"draw_graph: expected Tensors, got {type(r).__name__}")
    roots = list({id(r): r for r in roots}.values())
    if rankdir is not None and rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be None (fit the page), 'LR', 'TB', 'RL' or 'BT', not {rankdir!r}")
    if depth is not None:
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1:
            raise ValueError(f"draw_graph: depth must be a positive integer (a scope nesting level), got {depth!r}")
        if collapse is False:
            raise ValueError("draw_graph: depth only applies when collapsing; drop collapse=False")
        collapse = True
    order, index = _walk(roots)
    nodes, edges, roles = _plan(roots, order, index)
    level = _choose_level(nodes, max_nodes, collapse, depth or 1)
    graph = new_graph()
    titles = [DERIVATIVE_TITLE] if _is_derivative(order) else []
    if level is not None and collapse is None:
        titles.append(f"{len(nodes):,} nodes > max_nodes={max_nodes}: each name scope at nesting level {level} is one node")
    if titles:
        graph.graph_attr.update(labelloc="t", label=_text(titles))
    if level is not None:
        nodes, edges = _collapse(nodes, edges, level)
    attrs = {nid: _node_attrs(kind, obj, show_values, show_grads, roles.get(nid)) for nid, kind, _, obj in nodes}
    emit(graph, nodes, edges, attrs, page_layout(attrs, edges, rankdir))
    return graph


def new_graph():
    """An empty ``GraphImage`` with the fonts, spacing and colours every graph image uses."""
    return GraphImage(
        name="autograd",
        graph_attr={"fontname": "Helvetica", "fontsize": "11", "nodesep": "0.25",
                    "ranksep": "0.35", "bgcolor": "white"},
        node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.3", "margin": "0.1,0.04"},
        edge_attr={"arrowsize": "0.6", "color": "#495057"},
    )


def save_graph(path, *roots, format=None, **options):
    """Draw ``roots`` (or take a graph from ``draw_graph``) and write it to ``path``; returns the path.

    The format comes from ``format`` or the suffix: png, svg, pdf, jpg, or gv/dot for the DOT text
    (which needs no Graphviz).  ``options`` go to ``draw_graph``.

    >>> save_graph("docs/images/loss.png", loss, show_grads=True)
    """
    path = pathlib.Path(path)
    if len(roots) == 1 and isinstance(roots[0], (graphviz.Digraph, graphviz.Graph)):
        if options:
            raise TypeError(f"save_graph: options {sorted(options)} only apply when drawing tensors")
        graph = roots[0]
    else:
        graph = draw_graph(*roots, **options)
    fmt = (format or path.suffix.lstrip(".")).lower()
    fmt = {"jpg": "jpeg", "gv": "dot"}.get(fmt, fmt)
    if fmt == "dot":
        path.write_text(graph.source, encoding="utf-8")
        return path
    if fmt not in graphviz.FORMATS:
        raise ValueError(f"save_graph: cannot tell the image format from {str(path)!r}; pass format='png' or 'svg'")
    try:
        data = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError() from None
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- the walk and the plan
def _released():
    return RuntimeError(
        "draw_graph: this graph was released by backward(); draw it before calling backward(), or call "
        "backward(retain_graph=True) to draw it afterwards (with show_grads=True to see the gradients)"
    )


def _inputs(t):
    inputs = t._inputs
    if inputs is None:
        raise _released()
    return inputs


def _walk(roots):
    """Every tensor that produced ``roots``, each once, inputs before their consumers (iterative DFS)."""
    order, index = [], {}
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        t, expanded = stack.pop()
        key = id(t)
        if key in index:
            continue
        if expanded:
            index[key] = len(order)
            order.append(t)
            continue
        stack.append((t, True))
        if t._prim is not None:
            for a in reversed(_inputs(t)):
                if isinstance(a, Tensor) and id(a) not in index:
                    stack.append((a, False))
    return order, index


def _is_derivative(order):
    """True when some drawn tensor was recorded by a backward pass (``grad(..., create_graph=True)``):
    the engine records such a walk inside a name scope whose ``ScopeName`` has ``derivative = True``."""
    return any(getattr(name, "derivative", False) for t in order if t._scope for name in t._scope)


def _is_scalar(a):
    return isinstance(a, (numbers.Number, np.generic)) or (isinstance(a, np.ndarray) and a.ndim == 0)


def _common_prefix(a, b):
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return a[:n]


def _plan(roots, order, index):
    """Nodes ``(id, kind, scope, object)``, edges ``(source id, target id)`` of the full graph, and
    ``roles``: {node id: a title} for the unnamed constants whose role the graph tells."""
    root_ids = {id(r) for r in roots}
    leaf_scope = {}  # a parameter sits in the innermost scope shared by the ops that read it
    for t in order:
        if t._prim is not None:
            scope = t._scope or ()
            for a in _inputs(t):
                if isinstance(a, Tensor) and a._prim is None:
                    known = leaf_scope.get(id(a))
                    leaf_scope[id(a)] = scope if known is None else _common_prefix(known, scope)
    nodes, edges, consts, roles = [], [], {}, {}
    for k, t in enumerate(order):
        tid = f"t{k}"
        if t._prim is None:
            kind = OUTPUT if id(t) in root_ids else PARAM if t.requires_grad else CONST
            scope = leaf_scope.get(id(t), ())
            derivative = next((n for n, name in enumerate(scope) if getattr(name, "derivative", False)), None)
            if kind == CONST:  # constants sit outside all scopes; an unnamed one is named by the scope it enters
                if scope and not t.name:
                    roles[tid] = "backward constant" if derivative is not None else f"input of {scope[0]}"
                scope = ()
            elif derivative is not None:  # a leaf of the forward graph stays outside a recorded backward
                scope = scope[:derivative]
            nodes.append((tid, kind, scope, t))
            continue
        scope = t._scope or ()
        op = f"op{k}"
        nodes.append((op, OP, scope, t))
        for j, a in enumerate(_inputs(t)):
            if isinstance(a, Tensor):
                edges.append((f"t{index[id(a)]}", op))
            elif not _is_scalar(a):  # an array constant: its own node, once however often it is used
                cid = consts.get(id(a))
                if cid is None:
                    cid = consts[id(a)] = f"c{k}_{j}"
                    nodes.append((cid, CONST, scope, a))
                edges.append((cid, op))
        edges.append((op, tid))
        nodes.append((tid, OUTPUT if id(t) in root_ids else TENSOR, scope, t))
    return nodes, edges, roles


# ---------------------------------------------------------------- labels and DOT output
def _tensor_node(kind, t, show_values, show_grads, role=None):
    tag = _TAGS.get(kind)
    name = t.name or role
    title = f"{name} ({tag})" if name and tag else name or tag
    lines = [title] if title else []
    lines.append(_shape_text(t.data))
    bad = _nonfinite(t.data)
    if show_values or bad:
        lines.append("value " + _summary(t.data))
    grad = t.grad
    if grad is not None and _nonfinite(np.asarray(grad)):
        bad = True
        lines.append("grad " + _summary(grad))
    elif show_grads and t.requires_grad and (t._prim is None or t._retain or grad is not None):
        lines.append("grad " + ("None" if grad is None else _summary(grad)))
    return lines, bad


def _op_label(t):
    label, inputs = t._prim.label(t._params), t._inputs
    if any(_is_scalar(a) for a in inputs):  # scalar constants are written in, · marks a tensor input
        label += f"({', '.join(_num(a, 4) if _is_scalar(a) else '·' for a in inputs)})"
    return [label]


def _scope_label(group):
    ops, params = group["ops"], group["params"]
    names = list(dict.fromkeys(ops))
    lines = _cluster_title((group["name"],)) + [f"{len(ops)} op{'s' * (len(ops) != 1)}"
                                                 + (f": {', '.join(names)}" if len(names) <= 4 else "")]
    if params:
        shown = ", ".join(params[:4]) + (f" +{len(params) - 4} more" if len(params) > 4 else "")
        lines.append(f"params: {shown}")
    if group["outputs"]:
        lines.append("out: " + ", ".join(group["outputs"]))
    return lines


def _node_attrs(kind, obj, show_values, show_grads, role=None):
    bad = False
    if kind == OP:
        lines = _op_label(obj)
    elif kind == SCOPE:
        lines, bad = _scope_label(obj), obj["bad"]
    elif isinstance(obj, Tensor):
        lines, bad = _tensor_node(kind, obj, show_values, show_grads, role)
    else:  # an array constant of an operation
        data = np.asarray(obj)
        bad = _nonfinite(data)
        lines = ["const", _shape_text(data)] + (["value " + _summary(data)] if show_values or bad else [])
    attrs = dict(_STYLES[kind], label=_text(lines))
    attrs["class"] = kind  # also a CSS class in SVG output
    if bad:
        attrs.update(_NONFINITE)
        attrs["class"] = kind + " nonfinite"
    return attrs


def page_layout(attrs, edges, rankdir=None):
    """``(rankdir, fold)`` for nodes drawn with ``attrs`` (see ``viz_layout.choose``)."""
    sizes = {nid: viz_layout.node_size(str(a["label"]).split("\\n"), a["shape"] == "ellipse") for nid, a in attrs.items()}
    return viz_layout.choose(sizes, edges, rankdir)


def emit(graph, nodes, edges, attrs, layout, edge_attrs=None):
    """Write the nodes (drawn with ``attrs[id]``) into nested clusters, one per name scope, then the
    edges (with ``edge_attrs[(u, v)]`` when given), in the direction and columns of ``layout``."""
    rankdir, fold = layout
    graph.graph_attr["rankdir"] = rankdir
    members, children, cluster_ids = {(): []}, {(): []}, {}
    for node in nodes:
        scope = node[2]
        for n in range(1, len(scope) + 1):
            path = scope[:n]
            if path not in cluster_ids:
                cluster_ids[path] = len(cluster_ids)
                members[path], children[path] = [], []
                children[path[:-1]].append(path)
        members[scope].append(node)

    def fill(g, path):  # recursion as deep as the nesting of name scopes, not of the graph
        for nid, _, _, _ in members[path]:
            g.node(nid, **attrs[nid])
        for child in children[path]:
            attrs_ = {"label": _text(_cluster_title(child)), "style": "rounded,filled", "color": "#adb5bd",
                      "fillcolor": _CLUSTER_FILLS[(len(child) - 1) % len(_CLUSTER_FILLS)], "labeljust": "l"}
            if getattr(child[-1], "derivative", False):  # a recorded backward pass: its own colours
                attrs_.update(color="#e64980", fillcolor="#fff0f6")
            with g.subgraph(name=f"cluster_{cluster_ids[child]}", graph_attr=attrs_) as sub:
                fill(sub, child)

    fill(graph, ())
    for u, v in edges:
        extra = edge_attrs.get((u, v), {}) if edge_attrs else {}
        if fold is not None and fold[u] != fold[v]:  # from one column to the next: no rank constraint
            extra = dict(extra, constraint="false")
        graph.edge(u, v, **extra)


def _cluster_title(path):
    """A scope's cluster label: its name, and what it is (``ScopeName.label``, e.g. a module's type) when known."""
    name = path[-1]
    label = getattr(name, "label", None)
    return [f"{name}: {label}"] if label and label != name else [str(name)]
