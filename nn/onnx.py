"""ONNX export: ``export_onnx(model, example_input, path)`` writes the module's forward as an ONNX
model (opset 17) that ONNX Runtime, Netron, PyTorch and others read.

The model is traced, not parsed: its forward runs once in eval mode on ``example_input``, and the
graph that autograd records is walked from the output (each recorded tensor's primitive, inputs and
parameters).  Every part that does not depend on the input (parameters, their reshapes and
transposes, running statistics) is folded into a constant; each primitive that does becomes one or
two ONNX nodes, named after the module scope it was recorded in.  NumPy's type promotion is made
explicit with ``Cast`` nodes (ONNX does not promote).  The batch dimension (axis 0) is symbolic,
so the exported model takes any batch size; a reshape that keeps the batch axis keeps it symbolic.

``onnx`` is imported only here, when exporting: ``pip install 'dagrad[onnx]'``.
"""

import os

import numpy as np

from autograd import Tensor, enable_grad

from .module import Module

__all__ = ["export_onnx", "OPSET", "SUPPORTED"]

OPSET = 17

_UNARY = {"neg": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "sin": "Sin", "cos": "Cos",
          "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "matmul": "MatMul",
           "maximum": "Max", "minimum": "Min"}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("nn.export_onnx needs the onnx package, which is not installed: "
                          "pip install 'dagrad[onnx]' (or: pip install onnx onnxruntime)") from None
    return onnx


class _Graph:
    """The ONNX nodes and constants being built, and the ONNX name of each traced value."""

    def __init__(self, onnx, x, batch):
        self.onnx, self.x, self.batch = onnx, x, batch
        self.nodes, self.constants, self.names, self.count = [], [], {id(x): "input"}, 0
        self.folded = {}  # (id of a constant Tensor, dtype) -> its initializer: a shared weight is stored once

    def fresh(self, stem):
        self.count += 1
        return f"{stem}_{self.count}"

    def constant(self, value, dtype=None, name=None):
        array = np.asarray(value)
        if dtype is not None:
            array = array.astype(dtype)
        name = self.fresh(name or "const")
        self.constants.append(self.onnx.numpy_helper.from_array(np.array(array, order="C"), name))  # keeps 0-d
        return name

    def add(self, op, inputs, scope, **attrs):
        """Append node ``op`` and return the name of its output."""
        out = self.fresh(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], name=f"{scope}/{out}", **attrs))
        return out

    def operand(self, a, dtype, scope):
        """The ONNX name of ``a`` (the input, a traced tensor or a constant), cast to ``dtype``
        when given: as a constant when it is one, by a Cast node otherwise."""
        if isinstance(a, Tensor) and id(a) in self.names:
            name = self.names[id(a)]
            if dtype is None or a.dtype == dtype:
                return name
            return self.add("Cast", [name], scope, to=self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
        if not isinstance(a, Tensor):
            return self.constant(a, dtype)
        key = (id(a), None if dtype is None else np.dtype(dtype))
        if key not in self.folded:
            self.folded[key] = self.constant(a.data, dtype, a.name or None)
        return self.folded[key]


# ---------------------------------------------------------------- one translation per primitive
def _elementwise(g, t, scope, op, operands):
    return g.add(op, [g.operand(a, t.dtype, scope) for a in operands], scope)


def _reduce(g, t, scope, op, params):
    (x,) = t._inputs
    axis, keepdims = params["axis"], int(params["keepdims"])
    inputs = [g.operand(x, t.dtype, scope)]
    if axis == ():
        return g.add("Identity", inputs, scope)
    if op == "ReduceSum":  # axes are an input from opset 13, an attribute for ReduceMax/Min until 18
        if axis is not None:
            inputs.append(g.constant(np.array(axis, np.int64)))
        return g.add(op, inputs, scope, keepdims=keepdims)
    extra = {} if axis is None else {"axes": list(axis)}
    return g.add(op, inputs, scope, keepdims=keepdims, **extra)


def _reshape(g, t, scope, params):
    (x,) = t._inputs
    shape = list(params["shape"])
    # keep the batch axis symbolic: 0 copies the input's dimension in ONNX's Reshape
    if shape and x.ndim and x.shape[0] == g.batch and t.shape[0] == g.batch and shape[0] in (g.batch, -1):
        shape[0] = 0
    return g.add("Reshape", [g.operand(x, None, scope), g.constant(np.array(shape, np.int64))], scope)


_BIG = 2 ** 63 - 1


def _getitem(g, t, scope, index):
    """Basic indexing (slices, ints, None, Ellipsis) as Slice, Gather and Unsqueeze nodes; ONNX's
    Slice clamps and counts negative positions from the end as Python does, so the raw bounds keep
    the batch axis symbolic."""
    (x,) = t._inputs
    parts = index if isinstance(index, tuple) else (index,)
    if not all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer)) for p in parts):
        raise NotImplementedError(
            f"export_onnx: indexing with arrays or masks (recorded in {scope or 'the top level'}) has no ONNX "
            "translation here; use slices and integers, or reshape/concatenate")
    if Ellipsis in parts:
        k = parts.index(Ellipsis)
        fill = x.ndim - sum(p is not None and p is not Ellipsis for p in parts)
        parts = parts[:k] + (slice(None),) * fill + parts[k + 1:]
    parts = parts + (slice(None),) * (x.ndim - sum(p is not None for p in parts))
    sliced, gathered, new_axes, axis, out_axis = [], [], [], 0, 0
    for p in parts:
        if p is None:
            new_axes.append(out_axis)
            out_axis += 1
            continue
        if isinstance(p, slice) and p != slice(None):
            step = 1 if p.step is None else p.step
            start = p.start if p.start is not None else (0 if step > 0 else _BIG)
            stop = p.stop if p.stop is not None else (_BIG if step > 0 else -_BIG - 1)
            sliced.append((start, stop, axis, step))
        elif not isinstance(p, slice):
            gathered.append((axis, int(p)))
        out_axis += isinstance(p, slice)
        axis += 1
    out = g.operand(x, None, scope)
    if sliced:
        starts, stops, axes, steps = (g.constant(np.array(v, np.int64)) for v in zip(*sliced))
        out = g.add("Slice", [out, starts, stops, axes, steps], scope)
    for axis, i in reversed(gathered):  # the last axis first, so the others keep their numbers
        out = g.add("Gather", [out, g.constant(np.array(i, np.int64))], scope, axis=axis)
    if new_axes:
        out = g.add("Unsqueeze", [out, g.constant(np.array(new_axes, np.int64))], scope)
    return out


def _window_attrs(params, kernel):
    (ph, pw) = params["padding"]
    return dict(kernel_shape=list(kernel), strides=list(params["stride"]), pads=[ph, pw, ph, pw])


def _translate(g, t, scope):
    name, params, inputs = t._prim.name, t._params or {}, t._inputs
    if name in _UNARY:
        return _elementwise(g, t, scope, _UNARY[name], inputs)
    if name in _BINARY:
        return _elementwise(g, t, scope, _BINARY[name], inputs)
    if name == "where":
        cond = g.constant(np.asarray(params["cond"], bool))
        return g.add("Where", [cond] + [g.operand(a, t.dtype, scope) for a in inputs], scope)
    if name == "clip":  # np.clip(x, lo, hi) = min(max(x, lo), hi), with array bounds too
        out = g.operand(inputs[0], t.dtype, scope)
        for op, bound in (("Max", params["lo"]), ("Min", params["hi"])):
            if bound is not None:
                out = g.add(op, [out, g.constant(bound, t.dtype)], scope)
        return out
    if name == "astype":
        return g.operand(inputs[0], t.dtype, scope)
    if name == "sum":
        return _reduce(g, t, scope, "ReduceSum", params)
    if name in ("max", "min"):
        return _reduce(g, t, scope, "ReduceMax" if name == "max" else "ReduceMin", params)
    if name == "log_softmax":
        return g.add("LogSoftmax", [g.operand(inputs[0], t.dtype, scope)], scope, axis=int(params["axis"]))
    if name == "reshape":
        return _reshape(g, t, scope, params)
    if name == "transpose":
        perm = params["axes"] if params["axes"] is not None else tuple(reversed(range(t.ndim)))
        return g.add("Transpose", [g.operand(inputs[0], None, scope)], scope, perm=list(perm))
    if name == "broadcast_to":
        shape = g.constant(np.array(params["shape"], np.int64))
        return g.add("Expand", [g.operand(inputs[0], None, scope), shape], scope)
    if name == "getitem":
        return _getitem(g, t, scope, params["index"])
    if name == "concatenate":
        return g.add("Concat", [g.operand(a, t.dtype, scope) for a in inputs], scope, axis=int(params["axis"]))
    if name == "conv2d":
        x, w = inputs[:2]
        operands = [g.operand(a, t.dtype, scope) for a in inputs]
        return g.add("Conv", operands, scope, dilations=list(params["dilation"]), group=1,
                     **_window_attrs(params, w.shape[2:]))
    if name in ("max_pool2d", "avg_pool2d"):
        attrs = _window_attrs(params, params["kernel_size"])
        x = g.operand(inputs[0], t.dtype, scope)
        if name == "max_pool2d":
            return g.add("MaxPool", [x], scope, **attrs)
        return g.add("AveragePool", [x], scope, count_include_pad=1, **attrs)
    raise NotImplementedError(
        f"export_onnx: the primitive '{name}' (recorded in {scope or 'the top level'}) has no ONNX translation; "
        f"supported: {', '.join(SUPPORTED)}.  Replace it in the model's forward, or export a model without it")


SUPPORTED = tuple(sorted([*_UNARY, *_BINARY, "where", "clip", "astype", "sum", "max", "min", "log_softmax", "reshape",
                          "transpose", "broadcast_to", "getitem", "concatenate", "conv2d", "max_pool2d", "avg_pool2d"]))


# ---------------------------------------------------------------- tracing and export
def _trace(model, x):
    """Run ``model(x)`` in eval mode with recording on; the modules' modes are restored after."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with enable_grad():
            out = model(x)
    finally:
        for module, training in modes:
            object.__setattr__(module, "training", training)
    if not isinstance(out, Tensor):
        raise TypeError(f"export_onnx: the model must return one Tensor, got {type(out).__name__}")
    return out


def _recorded(out):
    """The recorded tensors that ``out`` depends on, in the order they were created."""
    seen, stack, found = set(), [out], []
    while stack:
        t = stack.pop()
        if id(t) in seen or t._prim is None:
            continue
        seen.add(id(t))
        found.append(t)
        stack.extend(a for a in t._inputs if isinstance(a, Tensor))
    return sorted(found, key=lambda t: t._stamp)


def _value_info(onnx, name, dtype, shape, batch):
    dims = ["batch" if k == 0 and n == batch else n for k, n in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(dtype), dims)


def export_onnx(model: Module, example_input, path) -> "os.PathLike":
    """Write ``model``'s forward as an ONNX model (opset 17) to ``path``; returns the path.

    example_input: a float array or Tensor of the shape the model takes, batch first, e.g.
    (N, 64) or (N, 1, 8, 8); the exported model takes any batch size, input named ``"input"``,
    output ``"output"``.  Dropout and BatchNorm are exported in eval mode (the modules' modes are
    restored afterwards).  The model is checked with ``onnx.checker``.  An operation without an
    ONNX translation raises NotImplementedError naming it and the module it was recorded in.
    Dtypes are kept; ONNX Runtime's CPU provider has no float64 ``Conv`` or ``AveragePool``,
    so export convolutional networks in float32.
    """
    onnx = _onnx()
    if not isinstance(model, Module):
        raise TypeError(f"export_onnx: expected an nn.Module, got {type(model).__name__}")
    data = np.array(example_input.data if isinstance(example_input, Tensor) else example_input)
    if data.dtype.kind != "f" or data.ndim == 0:
        raise TypeError(f"export_onnx: example_input must be a float array with a batch axis, got {data.dtype} of "
                        f"shape {data.shape}; convert it, e.g. X[:1].astype(np.float32)")
    x = Tensor(data, requires_grad=True)  # so every operation that depends on the input is recorded
    out = _trace(model, x)
    if out is x:
        raise ValueError("export_onnx: the model returns its input unchanged; nothing to export")
    g = _Graph(onnx, x, batch=data.shape[0])
    depends = {id(x)}
    for t in _recorded(out):
        if any(isinstance(a, Tensor) and id(a) in depends for a in t._inputs):
            depends.add(id(t))
            g.names[id(t)] = _translate(g, t, "/".join(t._scope or ()))
    if id(out) not in depends:
        raise ValueError("export_onnx: the model's output does not depend on its input; nothing to export")
    g.nodes.append(onnx.helper.make_node("Identity", [g.names[id(out)]], ["output"], name="output"))
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__, [_value_info(onnx, "input", data.dtype, data.shape, g.batch)],
        [_value_info(onnx, "output", out.dtype, out.shape, g.batch)], initializer=g.constants)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="dagrad")
    proto.ir_version = 8  # the oldest IR of opset 17: readable by older runtimes too
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))
    return path
