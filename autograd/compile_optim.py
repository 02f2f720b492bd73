"""An optimizer's ``zero_grad()`` and ``step()`` as part of a compiled step (``compile(fn, optimizer=opt)``).

A call of the compiled function is ``opt.zero_grad(); fn(...); opt.step()``.  For an optimizer of
``nn.optim``'s kind (a class whose ``step`` is ``Optimizer.step``: an update function ``_update``
over arrays, options in ``param_groups``) the replay runs the same update functions on the same
arrays, then subtracts each step from the parameter's data in place as ``param -= update`` does,
without the Tensor machinery around it; any other optimizer's own ``zero_grad()`` and ``step()``
are called.  Options are read at every call (a learning-rate schedule between calls is seen).

``Emitter`` writes that update into the replay's source, parameter by parameter (plain SGD's
``lr * grad`` as one product), when every parameter the replay gives a gradient is one the
replay reads (not an input of the call); ``fused_step`` is the loop it unrolls, kept for the rest.
"""
from __future__ import annotations

import numpy as np

from autograd import versions
from autograd.grad_mode import no_grad


class Stale(Exception):
    """What the replay was generated for changed (a parameter's shape, an optimizer's groups): record again."""


def fusable(optimizer) -> bool:
    """Whether ``optimizer.step()`` is ``nn.optim.Optimizer.step`` over an ``_update`` function."""
    step = getattr(type(optimizer), "step", None)
    return (getattr(step, "__qualname__", None) == "Optimizer.step" and getattr(step, "__module__", None) == "nn.optim"
            and callable(getattr(type(optimizer), "_update", None)))


def _nn_zero_grad(optimizer) -> bool:
    zero = getattr(type(optimizer), "zero_grad", None)
    return getattr(zero, "__qualname__", None) == "Optimizer.zero_grad" and getattr(zero, "__module__", None) == "nn.optim"


def _plain_sgd(optimizer, options) -> bool:
    """sgd_update without momentum and weight decay: its step is ``lr * grad``."""
    update = type(optimizer)._update
    return (getattr(update, "__qualname__", None) == "sgd_update" and update.__module__ == "nn.optim"
            and not options["momentum"] and not options["weight_decay"])


# nn.optim's update functions: each returns a new array of the parameter's shape (see ``Emitter.step``)
_NN_UPDATES = ("sgd_update", "adam_update", "adamw_update", "rmsprop_update")


def _nn_update(optimizer) -> bool:
    update = type(optimizer)._update
    return getattr(update, "__qualname__", None) in _NN_UPDATES and getattr(update, "__module__", None) == "nn.optim"


def zero_grad(optimizer) -> None:
    """``optimizer.zero_grad()`` (for nn's optimizers: every parameter's ``.grad`` set to None)."""
    optimizer.zero_grad()


def fused_step(optimizer, checked: dict) -> None:
    """``optimizer.step()`` for an optimizer with ``fusable(optimizer)``, bit for bit, without building Tensors.

    ``checked``: {group index: its option values when last checked}, kept by the caller from call to
    call: a group's options are checked again (``_check_group``) only when one changed.
    """
    update = type(optimizer)._update
    for g, (group, states) in enumerate(zip(optimizer.param_groups, optimizer.state)):
        options = optimizer._options(group)
        values = tuple(options.values())
        if checked.get(g) != values:  # (nan != nan: a nan option is checked, so refused, every time)
            optimizer._check_group(group)
            checked[g] = values
        lr = options["lr"] if _plain_sgd(optimizer, options) else None
        for param, state in zip(group["params"], states):
            grad = param.grad
            if grad is None or not param.requires_grad:
                continue
            data = param._data
            apply_step(param, data, lr * grad if lr is not None else update(data, grad, state, **options))


def apply_step(param, data, step) -> None:
    """``param -= step`` under no_grad: in place into the array the parameter owns when it can be."""
    if type(step) is np.ndarray and step.shape == data.shape and step.dtype.kind in "biuf" \
            and data.base is None and data.flags.writeable:
        np.subtract(data, step, out=data, casting="same_kind")  # (what Tensor's -= does on an array it owns)
        versions.mark_changed(param)
    else:
        with no_grad():
            param -= step


def recheck(optimizer, g: int, values: tuple, checked: list, plain: bool) -> None:
    """Group ``g``'s options changed since the last call: check them as ``step()`` does; ``Stale`` when
    the replay's update was written for plain SGD and no longer is."""
    group = optimizer.param_groups[g]
    optimizer._check_group(group)
    if plain and not _plain_sgd(optimizer, group):
        raise Stale
    checked[g] = values


class Emitter:
    """Source lines of ``zero_grad()`` and ``step()`` unrolled for one optimizer (see the module docstring).

    ``w``: the replay's writer (``compile_plan._Writer``); ``leaves``: the tensors the replay gives
    gradients, as references (``("ext", tensor)``, ``("arg", j)``).
    """

    def __init__(self, w, optimizer, leaves):
        self.w, self.optimizer = w, optimizer
        ext = {id(ref[1]) for ref in leaves if ref[0] == "ext"}
        params = [p for group in optimizer.param_groups for p in group["params"]]
        args = {id(a) for a in w.args}
        self.unrolled = fusable(optimizer) and _nn_zero_grad(optimizer) and not any(id(p) in args for p in params)
        self.updated = [{id(p) for p in group["params"] if id(p) in ext} for group in optimizer.param_groups]
        self.params = params

    def head(self) -> list[str]:
        """Checks before anything runs: the groups are the ones the code was written for, and their options."""
        if not self.unrolled:
            return []
        w, opt = self.w, self.optimizer
        w.names.update(_O=opt, _recheck=recheck, _checked=[None] * len(opt.param_groups))
        groups = w.bind("PG", opt.param_groups)
        # the same groups, lists and parameter objects (a parameter replaced in its list is another tensor)
        lines = ["_og = _O.param_groups",
                 f"if _og is not {groups} or len(_og) != {len(opt.param_groups)}"
                 + "".join(f" or _og[{g}]['params'] is not {w.bind('PL', group['params'])}"
                           f" or len(_og[{g}]['params']) != {len(group['params'])}"
                           + "".join(f" or _og[{g}]['params'][{k}] is not {w.bind('P', p)}"
                                     for k, p in enumerate(group["params"]))
                           for g, group in enumerate(opt.param_groups)) + ": _stale(None)"]
        for g, group in enumerate(opt.param_groups):
            options = opt._options(group)
            values = ", ".join(f"_og[{g}][{key!r}]" for key in options)
            plain = _plain_sgd(opt, options)
            lines.append(f"_o{g} = ({values},)")
            lines.append(f"if _o{g} != _checked[{g}]: _recheck(_O, {g}, _o{g}, _checked, {plain})")
        return lines

    def zero(self) -> list[str]:
        """``zero_grad()``: every parameter's gradient set to None."""
        if not self.unrolled:
            self.w.names.update(_O=self.optimizer, _zero=zero_grad)
            return ["_zero(_O)"]
        return [f"for _p in {self.w.bind('P', tuple(self.params))}: _p._grad = None"]

    def step(self) -> list[str]:
        """``step()``: each updated parameter's step, subtracted from its data in place."""
        w, opt = self.w, self.optimizer
        if not fusable(opt):
            return ["_O.step()"]
        if not self.unrolled:
            w.names.update(_ostep=fused_step, _ochecked={})
            return ["_ostep(_O, _ochecked)"]
        w.names.update(_sub=np.subtract, _mark_many=versions.mark_changed_many, _apply=apply_step,
                       _update=type(opt)._update)
        lines = []
        for g, group in enumerate(opt.param_groups):
            in_place = []  # the group's parameters subtracted from directly: stamped together after them
            options = opt._options(group)
            plain = _plain_sgd(opt, options)
            if self.updated[g] and not plain:
                lines.append(f"_st = _O.state[{g}]")
            keywords = ", ".join(f"{key}=_o{g}[{k}]" for k, key in enumerate(options))
            lr = f"_o{g}[{list(options).index('lr')}]"
            for i, p in enumerate(group["params"]):
                if id(p) not in self.updated[g]:
                    continue
                data, tensor = w.expr(("ext", p))[0], w.leaf(("ext", p))
                if not plain and p.data.base is None and p.data.dtype.kind == "f" and _nn_update(opt):
                    # nn's update functions give an ndarray of the parameter's shape, as apply_step's own
                    # in-place branch checks, subtracted the same way (a failing update stamps those before it)
                    w.guards.append((f"{data}.base is None", (True,)))
                    done = w.bind("P", tuple(in_place))
                    lines += [f"try: _u = _update({data}, {tensor}._grad, _st[{i}], {keywords})",
                              f"except BaseException: _mark_many({done}); raise",
                              f"try: _sub({data}, _u, out={data})",
                              f"except Exception: _mark_many({done}); _apply({tensor}, {data}, _u)"]
                    in_place.append(p)
                elif plain and p.data.base is None:
                    # the data is guarded to own its memory; a read-only array makes NumPy refuse before
                    # writing, and then Tensor's -= gives it a new array (stamped by _apply), or raises
                    # as eager mode does, the parameters updated before it stamped first.
                    # (casting='same_kind' is the ufuncs' default, as Tensor's -= passes it)
                    w.guards.append((f"{data}.base is None", (True,)))
                    done = w.bind("P", tuple(in_place))
                    lines += [f"try: _sub({data}, {lr} * {tensor}._grad, out={data})",
                              f"except Exception: _mark_many({done}); _apply({tensor}, {data}, {lr} * {tensor}._grad)"]
                    in_place.append(p)
                elif plain:
                    lines.append(f"_apply({tensor}, {data}, {lr} * {tensor}._grad)")
                else:
                    lines.append(f"_apply({tensor}, {data}, _update({data}, {tensor}._grad, _st[{i}], {keywords}))")
            if in_place:  # one stamp for them all (nothing is recorded between the changes)
                lines.append(f"_mark_many({w.bind('P', tuple(in_place))})")
        return lines
