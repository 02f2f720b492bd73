"""Learning-rate schedules with torch.optim.lr_scheduler's arguments and per-step values.

Create a scheduler after its optimizer; it starts at step 0 with each group's current lr as
its base (as PyTorch does on construction) and writes the scheduled rate into
``optimizer.param_groups[k]["lr"]`` at every ``step()``.  Call ``step()`` once per epoch
(``OneCycleLR``: once per batch; ``ReduceLROnPlateau``: ``step(metric)``), after the
optimizer's steps, or pass the scheduler to ``nn.fit(callbacks=[...])``.  Each rate is the
closed form of the schedule at step t, so the values equal torch's to round-off.
"""

import bisect
import math

from .optim import Optimizer
from .utils import check_finite

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "OneCycleLR", "ReduceLROnPlateau"]


class _Schedule:
    """What every schedule shares: its optimizer, the rates it set last, and its state."""

    interval = "epoch"  # how nn.fit steps it: after each "epoch" or each "batch"

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an nn.Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer

    def get_last_lr(self) -> list:
        """The learning rate of each group as set by the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (to resume a schedule)."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        vars(self).update(state)


class LRScheduler(_Schedule):
    """Base class: ``step()`` advances ``last_epoch`` and sets every group's lr to
    ``lr_at(base_lr, last_epoch)``; ``get_last_lr()`` lists the rates set last."""

    def __init__(self, optimizer: Optimizer):
        super().__init__(optimizer)
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def lr_at(self, base_lr: float, t: int) -> float:
        """The rate at step ``t`` for a group that started at ``base_lr``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and write the new rates into the optimizer's groups."""
        self.last_epoch += 1
        lrs = [self.lr_at(base, self.last_epoch) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs


def _positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return value


class StepLR(LRScheduler):
    """lr = base * gamma ** (t // step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        check_finite("StepLR", gamma=gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base * gamma ** (number of milestones <= t)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1):
        self.milestones = sorted(int(m) for m in milestones)
        check_finite("MultiStepLR", gamma=gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """lr = base * gamma ** t."""

    def __init__(self, optimizer, gamma: float):
        check_finite("ExponentialLR", gamma=gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, t):
        return base_lr * self.gamma ** t


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2 (SGDR without restarts;
    past T_max it rises again along the same cosine, as torch's)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        self.T_max = _positive_int("CosineAnnealingLR", "T_max", T_max)
        check_finite("CosineAnnealingLR", eta_min=eta_min)
        self.eta_min = eta_min
        super().__init__(optimizer)

    def lr_at(self, base_lr, t):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped once per batch: the lr rises from max_lr / div_factor to
    max_lr over the first ``pct_start`` of ``total_steps`` and anneals to
    max_lr / (div_factor * final_div_factor) (``three_phase``: back to the start, then down);
    with ``cycle_momentum`` the momentum (SGD, RMSprop) or Adam's beta1 moves inversely between
    max_momentum and base_momentum.  total_steps, or epochs and steps_per_epoch.  Stepping past
    total_steps is an error, as in torch.
    """

    interval = "batch"

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = _positive_int("OneCycleLR", "epochs", epochs) * _positive_int(
                "OneCycleLR", "steps_per_epoch", steps_per_epoch)
        self.total_steps = _positive_int("OneCycleLR", "total_steps", total_steps)
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        check_finite("OneCycleLR", div_factor=div_factor, final_div_factor=final_div_factor,
                     base_momentum=base_momentum, max_momentum=max_momentum)
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        check_finite("OneCycleLR", max_lr=max_lrs)
        self.anneal_strategy, self.cycle_momentum = anneal_strategy, cycle_momentum
        self._phases = self._make_phases(float(pct_start), three_phase)
        self._lr_points = [(m / div_factor, m, m / div_factor / final_div_factor) for m in max_lrs]
        self._momenta = (base_momentum, max_momentum)
        if cycle_momentum and not all("momentum" in g or "betas" in g for g in groups):
            raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with momentum or "
                             "betas; pass cycle_momentum=False")
        for group, (initial, _, _) in zip(groups, self._lr_points):
            group["lr"] = initial
        super().__init__(optimizer)

    def _make_phases(self, pct_start, three_phase):
        """[(end step, lr from, lr to, momentum from, momentum to)], points named as indices
        0: initial, 1: max, 2: min lr; momentum 0: base, 1: max."""
        n = self.total_steps
        if three_phase:
            return [(pct_start * n - 1, 0, 1, 1, 0), (2 * pct_start * n - 2, 1, 0, 0, 1),
                    (n - 1, 0, 2, 1, 1)]
        return [(pct_start * n - 1, 0, 1, 1, 0), (n - 1, 1, 2, 0, 1)]

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _position(self, t):
        """(phase, fraction of it done) at step t."""
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, past total_steps="
                             f"{self.total_steps}; raise total_steps (or epochs)")
        start = 0.0
        for i, phase in enumerate(self._phases):
            if t <= phase[0] or i == len(self._phases) - 1:
                return phase, (t - start) / (phase[0] - start)
            start = phase[0]

    def step(self):
        """Advance one batch: set every group's lr (and momentum or beta1)."""
        self.last_epoch += 1
        phase, pct = self._position(self.last_epoch)
        lrs = []
        for group, points in zip(self.optimizer.param_groups, self._lr_points):
            lrs.append(self._anneal(points[phase[1]], points[phase[2]], pct))
            group["lr"] = lrs[-1]
            if self.cycle_momentum:
                momentum = self._anneal(self._momenta[phase[3]], self._momenta[phase[4]], pct)
                if "betas" in group:
                    group["betas"] = (momentum, group["betas"][1])
                else:
                    group["momentum"] = momentum
        self._last_lr = lrs


class ReduceLROnPlateau(_Schedule):
    """Multiply the lr by ``factor`` when ``step(metric)`` has not improved for more than
    ``patience`` steps (torch's rule: improvement beyond ``threshold``, relative or absolute;
    ``cooldown`` steps of rest after a reduction; never below ``min_lr``; changes smaller than
    ``eps`` are skipped)."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        super().__init__(optimizer)
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max' and "
                             f"threshold_mode 'rel' or 'abs', got {mode!r}, {threshold_mode!r}")
        check_finite("ReduceLROnPlateau", factor=factor, threshold=threshold, eps=eps)
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor}")
        groups = optimizer.param_groups
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(groups)
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown = threshold, threshold_mode, cooldown
        self.min_lrs, self.eps = min_lrs, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
        self._last_lr = [group["lr"] for group in groups]

    def _is_better(self, value):
        if self.mode == "min":
            limit = self.best * (1 - self.threshold) if self.threshold_mode == "rel" \
                else self.best - self.threshold
            return value < limit
        limit = self.best * (1 + self.threshold) if self.threshold_mode == "rel" \
            else self.best + self.threshold
        return value > limit

    def step(self, metric: float) -> None:
        """Record this epoch's monitored value (e.g. the validation loss)."""
        value = float(metric)
        self.last_epoch += 1
        if self._is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
