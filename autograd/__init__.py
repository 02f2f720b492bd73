"""dagrad's autograd: a NumPy Tensor that records a DAG of primitives and backpropagates.

>>> from autograd import Tensor
>>> x = Tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
array([2., 4.])
"""
from autograd.engine import grad
from autograd.functional import expand_dims, logsumexp, mean, softmax, squeeze, stack, swapaxes
from autograd.grad_mode import enable_grad, is_grad_enabled, name_scope, no_grad
from autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from autograd.ops import (
    abs,
    add,
    astype,
    clip,
    cos,
    div,
    exp,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    min,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sin,
    sqrt,
    sub,
    sum,
    tanh,
    where,
)
from autograd.shape_ops import broadcast_to, concatenate, getitem, reshape, transpose
from autograd.tensor import Tensor
from autograd.viz import draw_graph, save_graph


def _warn_if_shadowed():
    """Warn when another installed distribution also provides the ``autograd`` import name."""
    import importlib.metadata
    import warnings

    try:
        owners = importlib.metadata.packages_distributions().get("autograd", [])
    except Exception:  # broken metadata must never stop the import
        return
    others = sorted({name for name in owners if name.lower() != "dagrad"})
    if others:
        warnings.warn(
            f"another installed distribution also provides the 'autograd' package ({', '.join(others)}); "
            "one may have overwritten the other. Install dagrad in a dedicated virtual environment.",
            RuntimeWarning,
            stacklevel=2,
        )


_warn_if_shadowed()

__all__ = [
    "Tensor", "draw_graph", "save_graph", "grad", "gradcheck", "gradgradcheck", "GradcheckError",
    "no_grad", "enable_grad", "is_grad_enabled", "name_scope",
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "cos", "div", "exp", "expand_dims",
    "getitem", "log", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum",
    "mul", "neg", "pow", "relu", "reshape", "sigmoid", "sin", "softmax", "sqrt", "squeeze", "stack", "sub",
    "sum", "swapaxes", "tanh", "transpose", "where",
]
