"""Watching backprop: every intermediate gradient kept for drawing, and the engine's walk step by step.

>>> with retain_grads():
...     loss.backward()             # every recorded tensor keeps its gradient in .grad
>>> trace = backward_trace(g)       # runs g.backward() and records each step of the walk
>>> print(trace)                    # the steps as a table (HTML in Jupyter)
>>> trace.player()                  # the graph image step by step: previous / next / slider
>>> trace.player().save("trace.html"); trace.save_frames("frames", format="svg")

Both listen to the engine's walk through ``engine.observe``: at each step the engine processes
one recorded tensor with its total gradient ``g`` and its rule sends a contribution to each
input; a tensor used several times sums the contributions it receives before its own step.
"""
from __future__ import annotations

import contextlib
import dataclasses
import html
import pathlib

import numpy as np

from autograd import engine, viz
from autograd.grad_mode import _state
from autograd.tensor import Tensor
from autograd.trace_rules import rule_formula


def _copy(g):
    return np.array(g.data if isinstance(g, Tensor) else g, copy=True)


class _Observer:
    """Passes every event on to the observer that was active when this one started, so they nest."""

    def __init__(self):
        self.outer = _state.observer

    def step(self, t, g):
        if self.outer is not None:
            self.outer.step(t, g)

    def send(self, t, k, a, ga):
        if self.outer is not None:
            self.outer.send(t, k, a, ga)


class _Keeper(_Observer):
    def step(self, t, g):
        super().step(t, g)
        if not t._retain:  # a retained tensor's .grad is already kept by the engine
            g = _copy(g).astype(t.data.dtype, copy=False)
            t.grad = g if t.grad is None else t.grad + g


@contextlib.contextmanager
def retain_grads():
    """Every recorded tensor reached by a backward pass inside the block keeps its gradient in ``.grad``
    (the output's is 1), as ``retain_grad()`` on each would, so ``draw_graph(..., show_grads=True)``
    shows them all.  Call ``backward(retain_graph=True)`` inside to draw the graph afterwards.

    >>> with retain_grads():
    ...     loss.backward(retain_graph=True)
    >>> draw_graph(loss, show_grads=True)
    """
    with engine.observe(_Keeper()):
        yield


# ---------------------------------------------------------------- the trace
@dataclasses.dataclass(frozen=True)
class Send:
    """One contribution: the rule of ``Step.op`` sends ``grad`` to its input ``position``.

    ``formula``: the rule's expression for that input (``g * b``), ``where``: what its names stand
    for (``b = z``); ``total``: the input's gradient summed so far in this backward, ``count``: how
    many contributions it has received (more than one when the value is used several times).
    """

    position: int
    input: str
    node: str
    formula: str
    where: str
    grad: np.ndarray
    total: np.ndarray
    count: int


@dataclasses.dataclass(frozen=True)
class Step:
    """The engine processes recorded tensor ``tensor`` (made by ``op``) with its total gradient ``grad``."""

    number: int
    tensor: str
    op: str
    node: str
    grad: np.ndarray
    sends: tuple[Send, ...]


class _Recorder(_Observer):
    def __init__(self, names, nodes):
        super().__init__()
        self.names, self.nodes = names, nodes
        self.steps, self.totals = [], {}

    def step(self, t, g):
        super().step(t, g)
        self.steps.append((t, _copy(g), []))

    def send(self, t, k, a, ga):
        super().send(t, k, a, ga)
        ga = _copy(ga)
        total, count = self.totals.get(id(a), (None, 0))
        total = ga.copy() if total is None else total + ga
        self.totals[id(a)] = (total, count + 1)
        self.steps[-1][2].append((k, a, ga, total, count + 1))


def backward_trace(root: Tensor, gradient=None, *, retain_graph: bool = False) -> BackwardTrace:
    """Run ``root.backward(gradient)`` (leaves get the same ``.grad``) and return its steps, in the
    engine's order, as a ``BackwardTrace``: a table (``print``, HTML in Jupyter), graph frames
    (``frames()``, ``save_frames``) and a self-contained HTML player (``player()``).

    >>> x, y, z = (Tensor(v, requires_grad=True, name=n) for v, n in ((1.0, "x"), (3.0, "y"), (-3.0, "z")))
    >>> trace = backward_trace((x + y) * z)
    >>> [step.op for step in trace.steps]
    ['mul', 'add']
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"backward_trace: expected a Tensor, got {type(root).__name__}")
    if root._prim is None:
        raise ValueError("backward_trace: the output is a leaf, so backward has no step to show; "
                         "trace a tensor computed from tensors that require grad")
    if root._inputs is None:
        raise RuntimeError("backward_trace: this graph was released by an earlier backward(); trace it before, "
                           "or call that backward with retain_graph=True")
    order, index = viz._walk([root])
    nodes, edges, roles = viz._plan([root], order, index)
    names = _names(order)
    base = {nid: _base_lines(kind, obj, names, roles.get(nid)) for nid, kind, _, obj in nodes}
    args = {id(t): _arg_names(t, names) for t in order if t._prim is not None}  # before backward releases them
    recorder = _Recorder(names, index)
    with engine.observe(recorder):
        root.backward(gradient, retain_graph=retain_graph)
    steps = []
    for number, (t, g, sends) in enumerate(recorder.steps, 1):
        k = index[id(t)]
        rows = tuple(Send(position, names[id(a)], f"t{index[id(a)]}", *rule_formula(t._prim, position, args[id(t)]),
                          ga, total, count)
                     for position, a, ga, total, count in sends)
        steps.append(Step(number, names[id(t)], base[f"op{k}"][0], f"t{k}", g, rows))
    return BackwardTrace(steps, nodes, edges, base)


def _names(order):
    """A name for every tensor of the graph: its own, else its op and its place in the walk (``add_2``)."""
    names = {}
    for k, t in enumerate(order):
        if t.name:
            names[id(t)] = t.name
        elif t._prim is None:
            names[id(t)] = f"{'leaf' if t.requires_grad else 'const'}_{k}"
        else:
            names[id(t)] = f"{t._prim.name}_{k}"
    return names


def _arg_names(t, names):
    return [names[id(a)] if isinstance(a, Tensor) else viz._num(a, 4) if viz._is_scalar(a) else "const"
            for a in t._inputs]


def _base_lines(kind, obj, names, role):
    """A node's label lines without its gradient, computed before backward releases the graph."""
    if kind == viz.OP:
        return viz._op_label(obj)
    if isinstance(obj, Tensor):
        lines, _ = viz._tensor_node(kind, obj, True, False, role)
        if not obj.name and not role:  # the name the table uses for it
            lines.insert(0, names[id(obj)])
        return lines
    return ["const", viz._shape_text(np.asarray(obj))]


def show(a) -> str:
    """A gradient as text: the number, a few entries, or a summary with the shape."""
    a = np.asarray(a)
    if a.size == 1:
        return viz._num(a.reshape(()), 4)
    if a.size <= 4:
        return "[" + ", ".join(viz._num(v, 4) for v in a.ravel()) + "]"
    return f"{a.shape}: {viz._summary(a)}"


class BackwardTrace:
    """The steps of one backward pass (``steps``: ``Step`` objects, in the engine's order)."""

    def __init__(self, steps, nodes, edges, base):
        self.steps = steps
        self._nodes, self._edges, self._base = nodes, edges, base

    def __len__(self):
        return len(self.steps)

    def rows(self) -> list[list[str]]:
        """The table as rows of text: step, tensor (op), gradient in, → input, formula, sent, input's gradient so far."""
        rows = []
        for step in self.steps:
            first = [str(step.number), f"{step.tensor} ({step.op})", show(step.grad)]
            if not step.sends:
                rows.append([*first, "", "", "", ""])
            for j, s in enumerate(step.sends):
                so_far = show(s.total) + (f" (sum of {s.count})" if s.count > 1 else "")
                formula = s.formula + (f"  [{s.where}]" if s.where else "")
                rows.append([*(first if j == 0 else ["", "", ""]), f"→ {s.input}", formula, show(s.grad), so_far])
        return rows

    HEADER = ("step", "tensor (op)", "gradient in", "to input", "rule", "sends", "input's gradient so far")

    def __str__(self):
        rows = [list(self.HEADER), *self.rows()]
        widths = [max(len(r[c]) for r in rows) for c in range(len(self.HEADER))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __repr__(self):
        return f"<BackwardTrace: {len(self.steps)} steps>\n{self}"

    def _repr_html_(self):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.HEADER)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows())
        return (f'<table class="dagrad-trace"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')

    def caption(self, number: int) -> str:
        """One line saying what happens at step ``number`` (1-based)."""
        step = self.steps[number - 1]
        sends = "; ".join(f"{s.formula} = {show(s.grad)} to {s.input}" for s in step.sends) or "nothing (no input needs grad)"
        return f"step {number} of {len(self.steps)}: {step.tensor} ({step.op}) gets gradient {show(step.grad)} and sends {sends}"

    # ------------------------------------------------------------ frames
    def frame(self, number: int) -> viz.GraphImage:
        """The graph image at step ``number`` (1-based): that tensor and its op highlighted, the
        gradients known so far filled in, the edges already walked marked."""
        from autograd.trace_frames import frame

        if not 1 <= number <= len(self.steps):
            raise IndexError(f"BackwardTrace.frame: step {number} does not exist; steps are 1..{len(self.steps)}")
        return frame(self, number)

    def frames(self) -> list[viz.GraphImage]:
        """One graph image per step."""
        return [self.frame(n) for n in range(1, len(self.steps) + 1)]

    def save_frames(self, folder, format: str = "svg") -> list[pathlib.Path]:
        """Write ``frame_001.svg``... (or ``.png``) into ``folder``, one per step; returns the paths."""
        if format not in ("svg", "png"):
            raise ValueError(f"BackwardTrace.save_frames: format must be 'svg' or 'png', not {format!r}")
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        width = len(str(len(self.steps))) if len(self.steps) > 999 else 3
        return [viz.save_graph(folder / f"frame_{n:0{width}d}.{format}", self.frame(n)) for n in range(1, len(self.steps) + 1)]

    def player(self):
        """The frames in one self-contained HTML page (previous / next / slider; no network): shown
        inline in Jupyter, ``.save(path)`` writes it, ``.html`` is the text."""
        from autograd.trace_frames import Player

        return Player(self)
