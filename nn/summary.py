"""``Module.summary()``: a Keras-style table of a model's layers, output shapes and parameters."""

import numpy as np

from autograd import Tensor, no_grad

from . import module as module_lib

__all__ = ["summary_table"]


def _own_parameters(module):
    """Parameters held directly by ``module`` (not by its sub-modules)."""
    return [value for _, value in module._members() if isinstance(value, module_lib.Parameter)]


def _trace_shapes(model, input_shape):
    """{id(module): output shape} from one forward pass on zeros of ``input_shape``."""
    if input_shape is None:
        return {}
    shapes = {}

    def record(module, out):
        shapes.setdefault(id(module), tuple(out.shape) if isinstance(out, Tensor) else
                          tuple(np.shape(out)))

    params = list(model.parameters())
    dtype = params[0].dtype if params else np.float32
    was_training = model.training
    module_lib._forward_observers.append(record)
    try:
        model.eval()
        with no_grad():
            model(np.zeros(tuple(input_shape), dtype=dtype))
    finally:
        module_lib._forward_observers.pop()
        model.train(was_training)
    return shapes


def summary_table(model, input_shape=None) -> str:
    """The table described in ``Module.summary``."""
    shapes = _trace_shapes(model, input_shape)
    rows = [(path, module) for path, module in model.named_modules() if path]
    if not rows:
        rows = [(type(model).__name__, model)]
    header = ("Layer (type)", "Output shape", "Param #")
    lines = []
    for path, module in rows:
        shape = shapes.get(id(module))
        lines.append((f"{path} ({type(module).__name__})",
                      "-" if shape is None else str(shape),
                      f"{sum(p.size for p in _own_parameters(module)):,}"))
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(3)]

    def fmt(row):
        return f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}".rstrip()

    rule = "=" * (sum(widths) + 4)
    total = model.num_parameters()
    trainable = model.num_parameters(trainable_only=True)
    out = [f"{type(model).__name__} summary", rule, fmt(header), rule, *map(fmt, lines), rule,
           f"Total params: {total:,}", f"Trainable params: {trainable:,}",
           f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(out)
