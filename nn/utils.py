"""Small helpers shared by ``nn``: Tensor/array conversion, finite checks, gradient clipping
and the BLAS thread limit."""

import contextlib
import importlib.util
import math
import numbers
import sys

import numpy as np

from autograd import Tensor

__all__ = ["as_tensor", "as_array", "check_finite", "clip_grad_norm_", "clip_grad_value_",
           "blas_threads"]


def as_tensor(x) -> Tensor:
    """``x`` if it is a Tensor, else ``Tensor(x)`` (an ndarray, list or scalar; no grad)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def as_array(x) -> np.ndarray:
    """The data of a Tensor, or ``np.asarray(x)`` for anything else (no copy when possible)."""
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def check_finite(owner: str, **values) -> None:
    """Raise ValueError naming ``owner`` and the option when a number (or a number inside a
    tuple/list, such as Adam's betas) is nan or infinite."""
    for name, value in values.items():
        items = value if isinstance(value, (tuple, list)) else (value,)
        for item in items:
            if isinstance(item, bool) or not isinstance(item, numbers.Real):
                raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
            if not math.isfinite(item):
                raise ValueError(f"{owner}: {name} must be finite, got {value!r}")


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale every ``.grad`` in place so that their joint norm is at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_``: total = ||(||g_1||, ..., ||g_k||)||_p over the
    parameters that have a gradient; each gradient is multiplied by
    min(1, max_norm / (total + 1e-6)).  Returns the total norm (before clipping) as a float.

    parameters: a Tensor or an iterable of Tensors (those without ``.grad`` are skipped);
    norm_type: p >= 1 or ``inf``.  A nan/inf total is an error with ``error_if_nonfinite``.
    """
    check_finite("clip_grad_norm_", max_norm=max_norm)
    norm_type = float(norm_type)
    if not (norm_type >= 1.0 or norm_type == math.inf):
        raise ValueError(f"clip_grad_norm_: norm_type must be >= 1 or inf, got {norm_type}")
    params = _with_grads(parameters)
    if not params:
        return 0.0
    if norm_type == math.inf:
        norms = [float(np.max(np.abs(p.grad))) if p.grad.size else 0.0 for p in params]
        total = max(norms)
    else:
        norms = [float(np.linalg.norm(p.grad.ravel(), ord=norm_type)) for p in params]
        total = float(np.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}; "
                           "pass error_if_nonfinite=False to clip anyway")
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1.0:
        # new arrays, not in place: two leaves may share one gradient array
        for p in params:
            p.grad = p.grad * np.asarray(coefficient, dtype=p.grad.dtype)
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every ``.grad`` in place to [-clip_value, clip_value], as
    ``torch.nn.utils.clip_grad_value_``.  parameters: a Tensor or an iterable of Tensors."""
    check_finite("clip_grad_value_", clip_value=clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _with_grads(parameters):
        p.grad = np.clip(p.grad, -clip_value, clip_value).astype(p.grad.dtype, copy=False)


_controller = {"modules": -1, "controller": None}


def _blas_controller():
    """A threadpoolctl controller, made again when modules were imported since the last one
    (a newly imported extension may bring its own BLAS, e.g. SciPy's)."""
    from threadpoolctl import ThreadpoolController
    if _controller["modules"] != len(sys.modules):
        _controller["controller"] = ThreadpoolController()
        _controller["modules"] = len(sys.modules)
    return _controller["controller"]


@contextlib.contextmanager
def blas_threads(limit):
    """Run the block with at most ``limit`` BLAS threads (None: leave BLAS alone), through
    ``threadpoolctl`` when it is installed (a no-op otherwise).  On ``nn``'s small matrix
    products extra threads mostly wait for each other: on a 2-core machine a digits fit runs
    about 15x faster with one thread than with OpenBLAS's default."""
    if limit is None or importlib.util.find_spec("threadpoolctl") is None:
        yield
        return
    with _blas_controller().limit(limits=limit, user_api="blas"):
        yield
