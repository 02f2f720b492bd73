"""``functional_call``: run a module with given tensors in place of its parameters.

This is what lets ``gradcheck`` and the ``autograd.func`` transforms differentiate a model's loss
with respect to its weights: the weights become ordinary function arguments::

    params = {name: Tensor(p.data, requires_grad=True) for name, p in model.named_parameters()}
    loss = lambda *ws: nn.mse_loss(nn.functional_call(model, dict(zip(params, ws)), X), y)
    autograd.gradcheck(loss, tuple(params.values()))
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from autograd import Tensor

from .module import Module

__all__ = ["functional_call"]


def functional_call(module: Module, params: Mapping, *args, **kwargs):
    """``module(*args, **kwargs)`` computed with ``params[name]`` in place of each parameter or
    buffer named ``name`` (the dotted paths of ``module.named_parameters()`` and
    ``named_buffers()``), as ``torch.func.functional_call``.

    Values may be Tensors (used as they are, so gradients flow to them), ndarrays or numbers,
    each of the shape it replaces.  Parameters and buffers not named keep their own values; a
    parameter held in several places (tied weights) is replaced everywhere.  The module's own
    parameters and buffers are put back afterwards, also when the call raises (so a buffer the
    forward reassigns, e.g. running statistics, keeps its value from before the call).  Unknown names or wrong shapes are a
    ``ValueError`` raised before anything is changed.
    """
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected an nn.Module, got {type(module).__name__}")
    if not isinstance(params, Mapping):
        raise TypeError(f"functional_call: params must be a dict of name -> tensor, got {type(params).__name__}")
    own = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    unknown = [name for name in params if name not in own and name not in buffers]
    if unknown:
        known = ", ".join([*own, *buffers]) or "none"
        raise ValueError(f"functional_call: {type(module).__name__} has no parameter or buffer "
                         f"{', '.join(map(repr, unknown))}; it has: {known}")
    replacements, new_buffers = {}, {}
    for name, value in params.items():
        if not isinstance(value, Tensor):
            value = Tensor(np.asarray(value)) if name in own else np.asarray(value)
        expected = own[name].shape if name in own else np.shape(buffers[name])
        if value.shape != expected:
            raise ValueError(f"functional_call: {name!r} must have the shape {expected} it has in "
                             f"the module, got {value.shape}")
        if name in own:
            replacements[id(own[name])] = value
        else:
            new_buffers[name] = value
    modules = dict(module.named_modules())
    undo = []
    try:
        for owner in modules.values():
            for key, held in list(vars(owner).items()):
                replaced = _replaced(held, replacements)
                if replaced is not None:
                    undo.append((owner, key, held))
                    object.__setattr__(owner, key, replaced)  # no renaming: the swap is temporary
        for name, value in new_buffers.items():
            path, _, key = name.rpartition(".")
            owner = modules[path]
            undo.append((owner, key, getattr(owner, key)))
            object.__setattr__(owner, key, value)  # a buffer is a plain attribute
        return module(*args, **kwargs)
    finally:
        for owner, key, held in reversed(undo):
            object.__setattr__(owner, key, held)


def _replaced(held, replacements):
    """``held`` (an attribute's value) with its parameters swapped, or None when it holds none."""
    if id(held) in replacements and isinstance(held, Tensor):
        return replacements[id(held)]
    if isinstance(held, (list, tuple)) and any(id(v) in replacements for v in held):
        return type(held)(replacements.get(id(v), v) for v in held)
    if isinstance(held, dict) and any(id(v) in replacements for v in held.values()):
        return {k: replacements.get(id(v), v) for k, v in held.items()}
    return None
