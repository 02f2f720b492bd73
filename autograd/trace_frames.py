"""A backward trace drawn: one graph image per step, and an HTML player that pages through them.

Every frame has the same nodes, with the same sizes, laid out in the same direction, so paging
through them moves only the colours and the numbers: the tensor processed and its operation in
pink, the inputs it sends to outlined, the edges walked so far pink (this step's labelled with
what flows along them), and each tensor's gradient as far as it is known ("grad ?" before).
"""
from __future__ import annotations

import hashlib
import html
import itertools
import pathlib
import re
import textwrap

from autograd import viz, viz_layout
from autograd.tensor import Tensor
from autograd.trace import show

NOW = {"color": "#c2255c", "penwidth": "3", "fillcolor": "#ffdeeb"}
RECEIVER = {"color": "#c2255c", "penwidth": "2"}
WALKED = {"color": "#f783ac", "penwidth": "1.5"}
FLOWING = {"color": "#c2255c", "penwidth": "2.5", "fontcolor": "#c2255c", "fontsize": "9"}
UNKNOWN = "grad ?"
MAX_NODES = 500  # as draw_graph's max_nodes


def _has_grad_line(kind, obj):
    return isinstance(obj, Tensor) and obj.requires_grad and kind != viz.OP


def _known(trace, number):
    """{node id: gradient text} after ``number`` steps: each tensor's sum so far, a processed one's total."""
    known = {}
    for step in trace.steps[:number]:
        known[step.node] = step.grad
        for s in step.sends:
            known[s.node] = s.total
    return {nid: "grad " + show(g) for nid, g in known.items()}


def _frame_setup(trace):
    """The node widths (the widest label any frame gives a node) and the layout, computed once."""
    if getattr(trace, "_setup", None) is None:
        if len(trace._nodes) > MAX_NODES:
            raise ValueError(
                f"BackwardTrace.frame: the graph has {len(trace._nodes):,} nodes, more than {MAX_NODES} (Graphviz "
                "would take minutes per frame); trace a smaller part of it (an intermediate tensor as the root), "
                "or read the steps from the table")
        texts = {}
        for n in range(1, len(trace.steps) + 1):
            for nid, text in _known(trace, n).items():
                texts[nid] = max(texts.get(nid, ""), text, key=len)
        widths, final = {}, {}
        for nid, kind, _, obj in trace._nodes:
            lines = trace._base[nid] + ([texts.get(nid, UNKNOWN)] if _has_grad_line(kind, obj) else [])
            widths[nid] = viz_layout.node_size(lines, kind == viz.OP)[0]
            final[nid] = {"label": viz._text(lines), "shape": viz._STYLES[kind]["shape"]}
        trace._setup = widths, viz.page_layout(final, trace._edges)
    return trace._setup


def frame(trace, number, caption=True):
    """The graph image of ``trace`` at step ``number`` (1-based), with a line saying what happens
    at that step under it when ``caption``."""
    widths, layout = _frame_setup(trace)
    step = trace.steps[number - 1]
    known = _known(trace, number)
    receivers = {s.node for s in step.sends}
    attrs = {}
    for nid, kind, _, obj in trace._nodes:
        lines = list(trace._base[nid])
        if _has_grad_line(kind, obj):
            lines.append(known.get(nid, UNKNOWN))
        a = dict(viz._STYLES[kind], label=viz._text(lines), width=f"{widths[nid]:.2f}")
        a["class"] = kind
        if nid in (step.node, "op" + step.node[1:]):
            a.update(NOW, style=a["style"] if "filled" in a["style"] else a["style"] + ",filled")
            a["class"] = kind + " now"
        elif nid in receivers:
            a.update(RECEIVER)
        attrs[nid] = a
    edges = {}
    for done in trace.steps[:number]:
        op = "op" + done.node[1:]
        current = done is step
        edges[(op, done.node)] = dict(FLOWING if current else WALKED)
        for s in done.sends:
            style = dict(FLOWING, xlabel=viz._text([show(s.grad)])) if current else dict(WALKED)
            edges[(s.node, op)] = style
    graph = viz.new_graph()
    graph.graph_attr["forcelabels"] = "true"
    if caption:
        graph.graph_attr.update(labelloc="b", label=viz._text(textwrap.wrap(trace.caption(number), 90)))
    viz.emit(graph, trace._nodes, trace._edges, attrs, layout, edges)
    return graph


class Player:
    """A backward trace's frames in one self-contained HTML page: previous / next buttons, a slider
    and the arrow keys, the first frame shown without JavaScript, nothing loaded from the network."""

    _count = itertools.count(1)

    def __init__(self, trace):
        self.trace = trace
        svgs = [_inline_svg(frame(trace, n, caption=False).pipe(format="svg").decode("utf-8"), f"f{n}")
                for n in range(1, len(trace.steps) + 1)]
        digest = hashlib.sha1("".join(svgs).encode()).hexdigest()[:8]
        self.id = f"dagrad-player-{digest}-{next(self._count)}"
        self.frames = len(svgs)
        self.html = _fragment(self.id, [trace.caption(n) for n in range(1, len(svgs) + 1)], svgs)

    def page(self) -> str:
        """The player as a complete HTML document."""
        return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>backward trace</title>\n'
                f'</head>\n<body>\n{self.html}\n</body>\n</html>\n')

    def save(self, path) -> pathlib.Path:
        """Write the page to ``path`` (opens in any browser, offline); returns the path."""
        path = pathlib.Path(path)
        path.write_text(self.page(), encoding="utf-8")
        return path

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        return f"<backward trace player: {self.frames} frames>"


def _inline_svg(svg, prefix):
    """Graphviz's SVG text made fit to sit in a page: no XML prolog, ids unique to the frame, scaled to the width."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\bid="([^"]*)"', lambda m: f'id="{prefix}_{m.group(1)}"', svg)
    return svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)


_SCRIPT = """
(function () {
  var root = document.getElementById("%s");
  var frames = root.querySelectorAll(".frame");
  var slider = root.querySelector(".slider");
  var counter = root.querySelector(".counter");
  function show(k) {
    k = Math.max(1, Math.min(frames.length, k));
    for (var i = 0; i < frames.length; i++) { frames[i].style.display = (i + 1 === k) ? "" : "none"; }
    slider.value = String(k);
    counter.textContent = "step " + k + " of " + frames.length;
    root.setAttribute("data-step", String(k));
  }
  root.querySelector(".prev").addEventListener("click", function () { show(Number(slider.value) - 1); });
  root.querySelector(".next").addEventListener("click", function () { show(Number(slider.value) + 1); });
  slider.addEventListener("input", function () { show(Number(slider.value)); });
  root.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      show(Number(slider.value) + (event.key === "ArrowRight" ? 1 : -1));
      event.preventDefault();
    }
  });
  show(1);
})();
"""


def _fragment(pid, captions, svgs):
    n = len(svgs)
    hidden = ' style="display:none"'
    frames = "\n".join(
        f'<div class="frame" data-step="{k}"{"" if k == 1 else hidden}>'
        f'<p class="caption">{html.escape(caption)}</p>\n{svg}</div>'
        for k, (caption, svg) in enumerate(zip(captions, svgs), 1))
    return (f'<div class="dagrad-player" id="{pid}" data-step="1" tabindex="0" '
            'style="font-family:Helvetica,Arial,sans-serif">\n'
            f'<div class="controls"><button type="button" class="prev">&#9664; previous</button> '
            f'<input type="range" class="slider" min="1" max="{n}" step="1" value="1" aria-label="step"> '
            f'<button type="button" class="next">next &#9654;</button> '
            f'<span class="counter">step 1 of {n}</span></div>\n{frames}\n'
            f'<script>{_SCRIPT % pid}</script>\n</div>')
