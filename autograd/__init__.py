"""dagrad's autograd: a NumPy Tensor that records a DAG of primitives and backpropagates.

>>> from autograd import Tensor
>>> x = Tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
array([2., 4.])
"""
# first: Tensor's module loads the operations, which need Tensor defined
from autograd.tensor import Tensor  # isort: skip
from autograd.anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from autograd.compile import compile
from autograd.conv import avg_pool2d, conv2d, max_pool2d
from autograd.engine import grad
from autograd.grad_mode import enable_grad, is_grad_enabled, name_scope, no_grad
from autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from autograd.graphcheck import GraphcheckError, check_graph
from autograd.primitive import EXPORTS, Primitive, primitive
from autograd.trace import BackwardTrace, backward_trace, retain_grads
from autograd.viz import draw_graph, save_graph

from autograd import func, testing  # isort: skip  (submodules: autograd.func.grad, autograd.testing.check_gradients)

# the built-in functions (exp, sum, reshape, softmax...) come from the registry they are defined in
globals().update({name: export.fn for name, export in EXPORTS.items()})


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
    "Tensor", "primitive", "Primitive", "grad", "no_grad", "enable_grad", "is_grad_enabled", "name_scope",
    "gradcheck", "gradgradcheck", "GradcheckError", "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
    "draw_graph", "save_graph", "backward_trace", "BackwardTrace", "retain_grads", "check_graph", "GraphcheckError",
    "conv2d", "max_pool2d", "avg_pool2d", "func", "testing", "compile",
    *EXPORTS,
]
