"""Optimizers with PyTorch's update rules (torch.optim's single-tensor code paths).

Each optimizer is a thin class over one small update function that computes a parameter's step
from its value and gradient (NumPy arrays), updating a per-parameter state dict in place.
``step()`` then subtracts that step from the parameter Tensor in place (``param -= update``)
under ``no_grad``: it never records a graph, and the Tensor's in-place operator marks the
parameter as changed, so backpropagating through a graph that saved the old values raises an
error instead of giving a wrong gradient (as in PyTorch).  Parameters whose ``.grad`` is None
are skipped, and so are frozen ones (``requires_grad`` False).
``params`` is any iterable of Parameters, or of dicts (parameter groups:
``{"params": [...], "lr": 0.1}``) whose keys override the defaults, as in PyTorch.
"""

import inspect
import math

import numpy as np

from autograd import Tensor, enable_grad, no_grad

from .utils import as_array, check_finite

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "sgd_update", "adam_update",
           "adamw_update", "rmsprop_update", "get_optimizer"]


# ---- update rules: return the step to subtract from param; state arrays change in place ---------

def sgd_update(param, grad, state, *, lr, momentum, dampening, nesterov, weight_decay):
    """SGD: g += wd p; buf = m buf + (1 - dampening) g (buf = g at first); returns the step
    lr (g + m buf if nesterov else buf)."""
    if weight_decay:
        grad = grad + weight_decay * param
    if momentum:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = grad.copy()
        else:
            buf *= momentum
            buf += (1.0 - dampening) * grad
        grad = grad + momentum * buf if nesterov else buf
    return lr * grad


def adam_update(param, grad, state, *, lr, betas, eps, weight_decay):
    """Adam with bias correction: m, v moving averages of g and g^2; returns the step
    lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    beta1, beta2 = betas
    if not state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
    state["step"] += 1
    step = state["step"]
    if weight_decay:
        grad = grad + weight_decay * param
    m, v = state["exp_avg"], state["exp_avg_sq"]
    scratch = np.subtract(grad, m)
    scratch *= 1.0 - beta1
    m += scratch                                   # m = lerp(m, g, 1 - b1), as torch
    np.multiply(grad, 1.0 - beta2, out=scratch)
    scratch *= grad
    v *= beta2
    v += scratch                                   # v = b2 v + (1 - b2) g g
    # lr / (1 - b1^t) * m / (sqrt(v) / c + eps) with c = sqrt(1 - b2^t), scaled by c above and below:
    # one pass over the data fewer, and the update made in the scratch array
    c = math.sqrt(1.0 - beta2 ** step)
    np.sqrt(v, out=scratch)
    scratch += eps * c                             # denominator
    np.divide(m, scratch, out=scratch)
    scratch *= lr * c / (1.0 - beta1 ** step)
    return scratch


def adamw_update(param, grad, state, *, lr, betas, eps, weight_decay):
    """AdamW: Adam's step without weight decay in the gradient, plus the decoupled decay
    lr * weight_decay * param (torch multiplies param by 1 - lr wd first: equal to round-off)."""
    update = adam_update(param, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=0.0)
    if weight_decay:
        update += (lr * weight_decay) * param
    return update


def rmsprop_update(param, grad, state, *, lr, alpha, eps, weight_decay, momentum, centered):
    """RMSprop: s = alpha s + (1 - alpha) g^2; returns the step lr g / (sqrt(s) + eps) (through
    a momentum buffer when momentum > 0; ``centered`` subtracts the squared mean gradient)."""
    if not state:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(param)
        if momentum > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if centered:
            state["grad_avg"] = np.zeros_like(param)
    state["step"] += 1
    if weight_decay:
        grad = grad + weight_decay * param
    square_avg = state["square_avg"]
    square_avg *= alpha
    square_avg += (1.0 - alpha) * grad * grad
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg += (1.0 - alpha) * (grad - grad_avg)
        avg = np.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf *= momentum
        buf += grad / avg
        return lr * buf
    return lr * grad / avg


# ---- the optimizer classes -----------------------------------------------------------------------

class Optimizer:
    """Base class: holds parameter groups and per-parameter state; subclasses give ``_update``
    (one of the functions above) and their defaults.

    ``param_groups`` is the one place options live: ``opt.param_groups[k]["lr"]`` is what the
    next ``step()`` uses.  ``opt.lr`` (and every other option name) reads the value shared by
    all groups and sets it in all groups; setting any other attribute is an AttributeError, so
    a misspelt or dead option never fails silently.  Options are checked again at every step
    (a nan learning rate written into a group is refused there).
    """

    _update = None
    _ATTRIBUTES = ("defaults", "param_groups", "state")

    def __init__(self, params, defaults):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Parameters, got a single "
                            "Tensor (wrap it in a list)")
        items = list(params)
        if not items:
            raise ValueError(f"{name}: got an empty parameter list")
        groups = items if all(isinstance(g, dict) for g in items) else [{"params": items}]
        object.__setattr__(self, "defaults", dict(defaults))
        object.__setattr__(self, "param_groups", [])
        seen = set()
        for group in groups:
            full = {**self.defaults, **group, "params": list(group["params"])}
            for param in full["params"]:
                if not isinstance(param, Tensor) or not param.is_leaf:
                    raise TypeError(f"{name}: every parameter must be a leaf Tensor, got "
                                    f"{type(param).__name__}")
                if id(param) in seen:
                    raise ValueError(f"{name}: a parameter appears more than once (shape "
                                     f"{param.shape}, name {param.name!r})")
                seen.add(id(param))
            self._check_group(full)
            self.param_groups.append(full)
        object.__setattr__(self, "state", [[{} for _ in g["params"]] for g in self.param_groups])

    # ---- options: one truth in param_groups ---------------------------------------------------
    def __getattr__(self, key):
        defaults = self.__dict__.get("defaults", {})
        if key not in defaults:
            raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")
        values = [group[key] for group in self.param_groups]
        if any(v != values[0] for v in values[1:]):
            raise AttributeError(f"{type(self).__name__}.{key}: the parameter groups differ "
                                 f"({values}); read opt.param_groups[k][{key!r}]")
        return values[0]

    def __setattr__(self, key, value):
        if key in self.defaults:
            for group in self.param_groups:
                self._check_group({**group, key: value})
            for group in self.param_groups:
                group[key] = value
        elif key in self._ATTRIBUTES:
            object.__setattr__(self, key, value)
        else:
            raise AttributeError(f"{type(self).__name__} has no option {key!r}, so setting it "
                                 f"would change nothing; its options are "
                                 f"{', '.join(self.defaults)} (opt.lr = 0.01 sets every group's)")

    def _check_group(self, group):
        name = type(self).__name__
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{name}: unknown option(s) {sorted(unknown)} in a parameter "
                             f"group; known: {sorted(self.defaults)}")
        numbers = {key: value for key, value in group.items()
                   if key != "params" and not isinstance(value, bool)}
        check_finite(name, **numbers)
        self._check_hyperparameters(group)

    def _check_hyperparameters(self, group):
        if group["lr"] < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']}")

    def _options(self, group):
        return {key: group[key] for key in self.defaults}

    # ---- the update ---------------------------------------------------------------------------
    def step(self, closure=None):
        """Update every parameter that requires grad and has a ``.grad``; returns
        ``closure()``'s loss if given.

        closure: optional callable that recomputes and returns the loss (run with grad on).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group, states in zip(self.param_groups, self.state):
                self._check_group(group)
                options = self._options(group)
                for param, state in zip(group["params"], states):
                    if param.grad is not None and param.requires_grad:
                        param -= type(self)._update(param.data, param.grad, state, **options)
        return loss

    def zero_grad(self):
        """Set every parameter's ``.grad`` to None."""
        for group in self.param_groups:
            for param in group["params"]:
                param.grad = None

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: {name: array copy or int}}, "param_groups": [{options...,
        "params": [indices]}]}, indices counting parameters across groups in order."""
        state, groups, index = {}, [], 0
        for group, states in zip(self.param_groups, self.state):
            indices = list(range(index, index + len(group["params"])))
            index += len(indices)
            groups.append({**self._options(group), "params": indices})
            for i, entry in zip(indices, states):
                if entry:
                    state[i] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                for k, v in entry.items()}
        return {"state": state, "param_groups": groups}

    def _check_same_kind(self, groups):
        """Refuse a state saved by another kind of optimizer (its options differ)."""
        saved = set().union(*(set(g) - {"params"} for g in groups)) if groups else set()
        if saved == set(self.defaults):
            return
        kinds = [cls.__name__ for cls in _OPTIMIZERS if _option_names(cls) == saved]
        source = " or ".join(kinds) if kinds else "another optimizer"
        raise ValueError(f"{type(self).__name__}.load_state_dict: the state was saved by "
                         f"{source} (options {', '.join(sorted(saved))}), not by "
                         f"{type(self).__name__} (options {', '.join(sorted(self.defaults))}); "
                         f"load it into a {kinds[0] if kinds else 'matching optimizer'}")

    def load_state_dict(self, state_dict):
        """Restore options and per-parameter state saved by ``state_dict`` (arrays copied and
        cast to each parameter's dtype).  The state must come from the same kind of optimizer;
        group and parameter counts and shapes must match."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        self._check_same_kind(groups)
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: {len(groups)} parameter groups in the "
                             f"state, {len(self.param_groups)} in the optimizer")
        for saved, group in zip(groups, self.param_groups):
            self._check_group({**group, **{k: saved[k] for k in self.defaults}})
        saved_state = {int(k): v for k, v in state_dict["state"].items()}
        new_states = []
        for g, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {g} has {len(saved['params'])} "
                                 f"parameters in the state, {len(group['params'])} here")
            states = []
            for index, param in zip(saved["params"], group["params"]):
                entry = {}
                for key, value in saved_state.get(index, {}).items():
                    if isinstance(value, (np.ndarray, Tensor)):
                        value = as_array(value)
                        if value.shape != param.shape:
                            raise ValueError(f"{name}.load_state_dict: state {key!r} of "
                                             f"parameter {index} has shape {value.shape}, the "
                                             f"parameter has {param.shape}")
                        value = value.astype(param.dtype, copy=True)
                    entry[key] = value
                states.append(entry)
            new_states.append(states)
        for saved, group in zip(groups, self.param_groups):
            group.update({key: saved[key] for key in self.defaults})
        object.__setattr__(self, "state", new_states)

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self._options(self.param_groups[0]).items())
        return f"{type(self).__name__}({options})"


def _option_names(cls):
    """The options a kind of optimizer takes: its constructor's arguments after ``params``."""
    names = list(inspect.signature(cls.__init__).parameters)
    return set(names[2:])


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay,
    exactly torch.optim.SGD."""

    _update = staticmethod(sgd_update)

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0,
                 dampening=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        if group["momentum"] < 0:
            raise ValueError(f"SGD: invalid momentum {group['momentum']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")


class Adam(Optimizer):
    """Adam with bias correction and L2 weight decay added to the gradient, exactly
    torch.optim.Adam (amsgrad off)."""

    _update = staticmethod(adam_update)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        beta1, beta2 = group["betas"]
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got "
                             f"{group['betas']}")
        if group["eps"] < 0:
            raise ValueError(f"{type(self).__name__}: invalid eps {group['eps']}")


class AdamW(Adam):
    """Adam with decoupled weight decay (the parameter shrinks by lr * weight_decay * param at
    each step instead of the decay entering the gradient), as torch.optim.AdamW (amsgrad off),
    with its default weight_decay=1e-2."""

    _update = staticmethod(adamw_update)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop, exactly torch.optim.RMSprop: eps added outside the square root, optional
    momentum, centering and L2 weight decay (defaults are PyTorch's, lr=1e-2)."""

    _update = staticmethod(rmsprop_update)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        if not 0.0 <= group["alpha"] <= 1.0:
            raise ValueError(f"RMSprop: alpha must be in [0, 1], got {group['alpha']}")
        if group["momentum"] < 0 or group["eps"] < 0:
            raise ValueError("RMSprop: momentum and eps must be >= 0")


_OPTIMIZERS = (SGD, Adam, AdamW, RMSprop)


def get_optimizer(optimizer, params):
    """An Optimizer instance as is, or one built from a name with default settings:
    "sgd" (lr=0.01, Keras's default), "adam", "adamw", "rmsprop" (PyTorch's defaults)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    makers = {"sgd": lambda p: SGD(p, lr=0.01), "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}
    key = optimizer.lower() if isinstance(optimizer, str) else optimizer
    if key not in makers:
        raise ValueError(f"unknown optimizer {optimizer!r}; pass an nn.Optimizer or one of "
                         f"{', '.join(makers)}")
    return makers[key](params)
