"""Page layout for graph images: the direction, and where to fold a long graph, so the image fits a page.

Graphviz's ``dot`` stacks the graph in ranks (a node's rank: one more than its inputs').  Drawn
left to right, a deep graph is a strip; drawn top to bottom, a wide one is.  ``choose`` estimates
both drawings' sizes from the labels (Helvetica 10 pt, as ``viz`` sets it) and the ranks, keeps
the squarer one, and when both are clearly longer than ``MAX_RATIO`` : 1 it folds the ranks top to bottom
into side-by-side columns (as a newspaper does): edges that cross from one column to the next
stop constraining the ranks, so each column starts again at the top.
"""
import math

CHAR_W, LINE_H = 0.062, 0.17  # inches per character (on average) and per label line at 10 pt Helvetica
PAD_W, PAD_H = 0.25, 0.12  # node margins and border
NODESEP, RANKSEP = 0.25, 0.35  # inches, as draw_graph sets them
MAX_RATIO = 3.0  # the longer side of the image at most this many times the shorter one
# the estimates count each rank's nodes side by side and no more, so they take a graph for narrower
# than dot draws it (clusters, edges routed around nodes); fold only what is clearly too long
FOLD_RATIO = 5.0
TARGET_RATIO = 1.0  # what a fold aims at


def node_size(lines, ellipse):
    """Estimated (width, height) in inches of a node whose label has ``lines``."""
    width = max((len(line) for line in lines), default=1) * CHAR_W + PAD_W
    height = max(len(lines), 1) * LINE_H + PAD_H
    if ellipse:  # an ellipse around a box of text is about 1.4 times wider
        width *= 1.4
    return width, max(height, 0.3)


def ranks(ids, edges):
    """Each node's rank as dot assigns it: longest path from the sources, and a source just before
    its first consumer (dot pulls a leaf down to where it is used)."""
    preds = {n: [] for n in ids}
    succs = {n: [] for n in ids}
    for u, v in edges:
        succs[u].append(v)
        preds[v].append(u)
    pending = {n: len(preds[n]) for n in ids}
    ready = [n for n in ids if not pending[n]]
    rank, order = {}, []
    while ready:
        n = ready.pop()
        order.append(n)
        rank[n] = max((rank[p] + 1 for p in preds[n]), default=0)
        for s in succs[n]:
            pending[s] -= 1
            if not pending[s]:
                ready.append(s)
    for n in order:
        if not preds[n] and succs[n]:
            rank[n] = max(min(rank[s] for s in succs[n]) - 1, 0)
    return rank


def _extent(sizes, rank, horizontal):
    """Estimated (width, height) of the whole drawing, ranks left to right when ``horizontal``."""
    along, across = {}, {}  # per rank: the largest extent along the flow, the sum across it
    for n, (w, h) in sizes.items():
        r = rank[n]
        depth, breadth = (w, h) if horizontal else (h, w)
        along[r] = max(along.get(r, 0.0), depth)
        across[r] = across.get(r, 0.0) + breadth + NODESEP
    length = sum(along.values()) + RANKSEP * max(len(along) - 1, 0)
    breadth = max(across.values(), default=0.0)
    return (length, breadth) if horizontal else (breadth, length)


def _ratio(extent):
    w, h = extent
    return max(w, h) / max(min(w, h), 1e-9)


def choose(sizes, edges, rankdir=None):
    """``(rankdir, fold)``: the direction for dot and, when a long graph must be folded into
    columns, ``fold`` maps each node to its column (else None).

    ``sizes``: {node id: (width, height)} in inches, ``edges``: [(source id, target id)].
    A given ``rankdir`` is kept as it is, never folded.
    """
    if rankdir is not None or not sizes:
        return rankdir or "TB", None
    rank = ranks(list(sizes), edges)
    lr, tb = _extent(sizes, rank, True), _extent(sizes, rank, False)
    best = "LR" if _ratio(lr) < _ratio(tb) else "TB"
    if min(_ratio(lr), _ratio(tb)) <= FOLD_RATIO or tb[1] <= tb[0]:
        return best, None
    depth = max(rank.values()) + 1
    width, height = tb
    # k columns of depth/k ranks: about k * width wide and height / k tall
    k = max(2, round(math.sqrt(height / (width * TARGET_RATIO))))
    per_column = math.ceil(depth / k)
    return "TB", {n: rank[n] // per_column for n in sizes}
