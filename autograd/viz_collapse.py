"""Big graphs: each name scope drawn as one node, at the nesting level that brings the graph
under ``max_nodes``, or an error saying how to get there."""
import numpy as np

from autograd.tensor import Tensor
from autograd.viz_text import OP, OUTPUT, PARAM, SCOPE, _nonfinite, _shape_text


def _count(nodes, level):
    """How many nodes the graph has once each scope at nesting ``level`` is one node (roots stay)."""
    groups, kept = {}, 0
    for _, kind, scope, _ in nodes:
        if len(scope) >= level and kind != OUTPUT:
            groups[scope[:level]] = None
        else:
            kept += 1
    return kept + len(groups)


def _choose_level(nodes, max_nodes, collapse, depth):
    """The scope nesting level to collapse (None: draw everything), or a ValueError saying what to do."""
    total = len(nodes)
    limit = float("inf") if max_nodes is None else max_nodes
    if not collapse and total <= limit:
        return None
    deepest = max((len(scope) for _, _, scope, _ in nodes), default=0)
    levels = [depth] if collapse else range(deepest, 0, -1) if collapse is None else []
    for level in levels:  # deepest first: the most detail that fits
        count = _count(nodes, level)
        if count <= limit:
            return level
    why = (f"draw_graph: the graph has {total:,} nodes, more than max_nodes={max_nodes} "
           "(Graphviz's layout time explodes with size)")
    if collapse is False and deepest and _count(nodes, 1) <= limit:
        raise ValueError(f"{why}; pass collapse=True to draw one node per name scope ({_count(nodes, 1):,} nodes), "
                         "draw a part of it by passing an intermediate tensor as the root, or raise max_nodes")
    if not deepest:
        why += ", and it has no name scope to collapse"
    elif collapse is False:
        why += f", and even one node per name scope would leave {_count(nodes, 1):,}"
    else:
        why += f", and with one node per name scope at nesting level {level} it still has {count:,}"
        why += f" (try a depth smaller than {depth})" if collapse and depth > 1 else ""
    raise ValueError(
        f"{why}. To draw it, record (more of) the computation inside autograd.name_scope(...) blocks and pass "
        "collapse=True (or depth=...) to draw one node per scope, draw a part of it by passing an intermediate "
        "tensor as the root, or raise max_nodes (Graphviz may then take minutes)"
    )


def _collapse(nodes, edges, level):
    """Replace everything inside each scope at nesting ``level`` by one scope node."""
    new_nodes, owner, groups = [], {}, {}
    for node in nodes:
        nid, kind, scope, obj = node
        if len(scope) < level:
            new_nodes.append(node)
            continue
        if kind == OUTPUT:
            new_nodes.append((nid, kind, scope[:level - 1], obj))
            continue
        key = scope[:level]
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"id": f"s{len(groups)}", "name": key[-1], "ops": [], "params": [], "bad": False,
                                   "outputs": {}}
            new_nodes.append((group["id"], SCOPE, key[:level - 1], group))
        owner[nid] = group["id"], group, obj
        if kind == OP:
            group["ops"].append(obj._prim.name)
        elif kind == PARAM:
            group["params"].append(obj.name or f"param {obj.shape}")
        if kind != OP and not group["bad"]:
            data = obj.data if isinstance(obj, Tensor) else np.asarray(obj)
            grad = obj.grad if isinstance(obj, Tensor) else None
            group["bad"] = _nonfinite(data) or (grad is not None and _nonfinite(grad))
    new_edges, seen = [], {}
    for u, v in edges:
        ou, ov = owner[u][0] if u in owner else u, owner[v][0] if v in owner else v
        if ou == ov:
            continue
        if ou != u and isinstance(owner[u][2], Tensor):  # a tensor leaving the scope: one of its outputs
            owner[u][1]["outputs"][_shape_text(owner[u][2].data)] = None
        if ou != u or ov != v:  # an edge of a collapsed scope: once per pair of nodes
            if (ou, ov) in seen:
                continue
            seen[(ou, ov)] = None
        new_edges.append((ou, ov))
    return new_nodes, new_edges
