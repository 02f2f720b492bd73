"""An optimizer's ``zero_grad()`` and ``step()`` as part of a compiled step (``compile(fn, optimizer=opt)``).

A call of the compiled function is ``opt.zero_grad(); fn(...); opt.step()``.  For an optimizer of
``nn.optim``'s kind (a class whose ``step`` is ``Optimizer.step``: an update function ``_update``
over arrays, options in ``param_groups``) the replay runs the same update functions on the same
arrays, then subtracts each step from the parameter's data in place as ``param -= update`` does,
without the Tensor machinery around it; any other optimizer's own ``zero_grad()`` and ``step()``
are called.  Options are read at every call (a learning-rate schedule between calls is seen).
"""
from __future__ import annotations

import numpy as np

from autograd.grad_mode import no_grad


def fusable(optimizer) -> bool:
    """Whether ``optimizer.step()`` is ``nn.optim.Optimizer.step`` over an ``_update`` function."""
    step = getattr(type(optimizer), "step", None)
    return (getattr(step, "__qualname__", None) == "Optimizer.step" and getattr(step, "__module__", None) == "nn.optim"
            and callable(getattr(type(optimizer), "_update", None)))


def zero_grad(optimizer) -> None:
    """``optimizer.zero_grad()`` (for nn's optimizers: every parameter's ``.grad`` set to None)."""
    optimizer.zero_grad()


def fused_step(optimizer, checked: dict) -> None:
    """``optimizer.step()`` for an optimizer with ``fusable(optimizer)``, bit for bit, without building Tensors.

    ``checked``: {group index: its option values when last checked}, kept by the caller from call to
    call: a group's options are checked again (``_check_group``) only when one changed.
    """
    update, subtract, ndarray = type(optimizer)._update, np.subtract, np.ndarray
    sgd = getattr(update, "__qualname__", None) == "sgd_update" and update.__module__ == "nn.optim"
    for g, (group, states) in enumerate(zip(optimizer.param_groups, optimizer.state)):
        options = optimizer._options(group)
        values = tuple(options.values())
        if checked.get(g) != values:  # (nan != nan: a nan option is checked, so refused, every time)
            optimizer._check_group(group)
            checked[g] = values
        # plain SGD's update is lr * grad (sgd_update without momentum and weight decay): written out
        lr = options["lr"] if sgd and not options["momentum"] and not options["weight_decay"] else None
        for param, state in zip(group["params"], states):
            grad = param.grad
            if grad is None or not param.requires_grad:
                continue
            data = param._data
            step = lr * grad if lr is not None else update(data, grad, state, **options)
            if type(step) is ndarray and step.shape == data.shape and step.dtype.kind in "biuf" \
                    and data.base is None and data.flags.writeable:
                subtract(data, step, out=data, casting="same_kind")  # (what Tensor's -= does on an array it owns)
                param._mark_changed()
            else:
                with no_grad():
                    param -= step
