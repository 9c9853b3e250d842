"""Learning-rate schedulers with torch.optim.lr_scheduler's names, arguments and semantics.

Each scheduler changes ``group["lr"]`` of its optimizer's param groups when ``step()`` is called
(once per epoch, or per batch for OneCycleLR and ExponentialDecay). As in PyTorch, creating a
scheduler stores ``group["initial_lr"]`` and performs step 0; ``last_epoch`` counts the steps.
The chainable schedulers update the current lr recursively, exactly as PyTorch does, so two
schedulers can be stacked on one optimizer.
"""

from __future__ import annotations

import math
import types
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import _validation as V
from .optimizer import Optimizer

__all__ = [
    "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
    "LambdaLR", "OneCycleLR", "SequentialLR", "ReduceLROnPlateau", "ExponentialDecay",
]


def _check_positive_int(name: str, value) -> None:
    V.int_at_least(name, value, 1)


def _check_positive(name: str, value) -> None:
    V.number_in(name, value, 0.0, low_open=True)


def _plain_copy(value):
    """A copy made of plain types (a Counter becomes a dict, a tuple stays a tuple)."""
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain_copy(v) for v in value) if isinstance(value, tuple) \
            else [_plain_copy(v) for v in value]
    return value


def _check_like(where: str, current, saved) -> None:
    """``saved`` must be of the same kind as ``current`` (recursively), else TypeError."""
    if isinstance(current, bool) or current is None and isinstance(saved, bool):
        if not isinstance(saved, bool):
            raise TypeError(f"{where} must be a bool, got {V.describe(saved)}")
    elif V.is_real(current) or current is None:
        if not (V.is_real(saved) or saved is None) or (current is not None and saved is None):
            raise TypeError(f"{where} must be a number, got {V.describe(saved)}")
        if saved is not None and math.isnan(float(saved)):
            raise ValueError(f"{where} is NaN")
    elif isinstance(current, str):
        if not isinstance(saved, str):
            raise TypeError(f"{where} must be a string, got {V.describe(saved)}")
    elif isinstance(current, (list, tuple)):
        if not isinstance(saved, (list, tuple)):
            raise TypeError(f"{where} must be a list, got {V.describe(saved)}")
        if len(saved) != len(current):
            raise ValueError(
                f"{where} has {len(saved)} entries, expected {len(current)} (one per param "
                "group, or per sub-scheduler)"
            )
        for i, (c, v) in enumerate(zip(current, saved, strict=True)):
            _check_like(f"{where}[{i}]", c, v)
    elif isinstance(current, dict):
        if not isinstance(saved, dict):
            raise TypeError(f"{where} must be a dict, got {V.describe(saved)}")
        if set(saved) != set(current):
            raise ValueError(f"{where} has keys {sorted(map(str, saved))}, expected "
                             f"{sorted(map(str, current))}")
        for k in current:
            _check_like(f"{where}[{k!r}]", current[k], saved[k])


class LRScheduler:
    """Base class: subclasses implement ``get_lr()`` (the lrs for ``self.last_epoch``)."""

    _is_initial = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        V.int_at_least("last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "a scheduler with last_epoch >= 0"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Step 0: set the schedule's first lr (called by __init__, as PyTorch does)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The lrs for ``self.last_epoch`` (PyTorch's chainable form)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The lrs the last ``step()`` set, one per param group."""
        return self._last_lr

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one (or, deprecated, jump to ``epoch``) and set the lrs."""
        if self._step_count == 1 and not self._is_initial \
                and not getattr(self.optimizer, "_opt_called", True):
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`: call "
                "`optimizer.step()` first, or the first value of the schedule is skipped.",
                UserWarning, stacklevel=2,
            )
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            warnings.warn(
                "The epoch parameter in `scheduler.step()` is deprecated (as in PyTorch); "
                "call step() without it.", UserWarning, stacklevel=2,
            )
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=False):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer, as plain values (a copy)."""
        return {k: _plain_copy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` of the same kind of scheduler; checked before applying.

        The entries must be exactly this scheduler's, each of the same kind (a number for a
        number, a list of the same length for a list, ...): another scheduler's state, strings
        for numbers or a key that would shadow a method raise ValueError/TypeError and change
        nothing.
        """
        self._prepare_load(state_dict)()

    def _prepare_load(self, state_dict: dict[str, Any]) -> Callable[[], None]:
        """Check ``state_dict`` completely; return a function that applies it (cannot fail)."""
        values = self._checked_state(state_dict)

        def commit() -> None:
            self.__dict__.update(values)

        return commit

    def _checked_state(self, state_dict: dict[str, Any], skip: tuple[str, ...] = ()) -> dict:
        """The attributes ``state_dict`` would set, after checking it against this scheduler."""
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}.load_state_dict: expected a dict, got "
                            f"{V.describe(state_dict)}")
        current = self.state_dict()
        missing = sorted(k for k in current if k not in state_dict)
        unexpected = sorted(str(k) for k in state_dict if k not in current)
        if missing or unexpected:
            raise ValueError(
                f"{name}.load_state_dict: the state does not belong to a {name} (missing "
                f"{missing}, unexpected {unexpected}); was it saved by another scheduler?"
            )
        values = {}
        for key, value in state_dict.items():
            if key in skip:
                continue
            _check_like(f"{name} state '{key}'", current[key], value)
            values[key] = _plain_copy(value)
        return values

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


class LambdaLR(LRScheduler):
    """lr = initial_lr · f(t), with one function or one per param group."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * n
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda must be callable, got {type(fn).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        pairs = zip(self.lr_lambdas, self.base_lrs, strict=True)
        return [base * fn(self.last_epoch) for fn, base in pairs]

    def state_dict(self) -> dict[str, Any]:
        """As PyTorch: plain functions are not saved; callable objects save their __dict__."""
        sd = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        sd["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
            for fn in self.lr_lambdas
        ]
        return sd

    def _prepare_load(self, state_dict: dict[str, Any]) -> Callable[[], None]:
        values = self._checked_state(state_dict, skip=("lr_lambdas",))
        lambdas = state_dict["lr_lambdas"]
        if not isinstance(lambdas, (list, tuple)) or len(lambdas) != len(self.lr_lambdas):
            raise ValueError(f"LambdaLR state 'lr_lambdas' must be a list of "
                             f"{len(self.lr_lambdas)} entries, got {V.describe(lambdas)}")
        for i, saved in enumerate(lambdas):
            if saved is not None and not isinstance(saved, dict):
                raise TypeError(f"LambdaLR state 'lr_lambdas'[{i}] must be None or a dict, "
                                f"got {V.describe(saved)}")

        def commit() -> None:
            self.__dict__.update(values)
            for fn, saved in zip(self.lr_lambdas, lambdas, strict=True):
                if saved is not None:
                    fn.__dict__.update(saved)

        return commit


class StepLR(LRScheduler):
    """lr = initial_lr · gamma^⌊t/step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        _check_positive_int("step_size", step_size)
        _check_positive("gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = initial_lr · gamma^(number of milestones ≤ t)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if not isinstance(milestones, Iterable) or isinstance(milestones, (str, bytes)):
            raise TypeError(f"milestones must be a list of ints, but got {V.describe(milestones)}")
        milestones = list(milestones)
        for i, m in enumerate(milestones):
            V.int_at_least(f"milestones[{i}]", m, 0)
        _check_positive("gamma", gamma)
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """As the base class, with the milestones as a sorted list of ints (plain types only,
        so any file round trip restores it; PyTorch keeps a Counter)."""
        sd = super().state_dict()
        sd["milestones"] = sorted(self.milestones.elements())
        return sd

    def _prepare_load(self, state_dict: dict[str, Any]) -> Callable[[], None]:
        values = self._checked_state(state_dict, skip=("milestones",))
        saved = state_dict["milestones"]
        if isinstance(saved, dict):  # a Counter (or its dict) from an older state_dict
            saved = [m for m, n in saved.items() if V.is_int(n) for _ in range(int(n))]
        if not isinstance(saved, (list, tuple)):
            raise TypeError(f"MultiStepLR state 'milestones' must be a list of ints, got "
                            f"{V.describe(saved)}")
        for i, m in enumerate(saved):
            V.int_at_least(f"MultiStepLR state 'milestones'[{i}]", m, 0)
        values["milestones"] = Counter(int(m) for m in saved)

        def commit() -> None:
            self.__dict__.update(values)

        return commit

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        ms = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(ms, self.last_epoch) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = initial_lr · gamma^t."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        _check_positive("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (initial_lr − η_min)(1 + cos(πt/T_max))/2, in PyTorch's recursive form.

    For a schedule stepped one epoch at a time with nothing else changing the lr, the recursion
    gives the closed form above (to float rounding); past T_max it continues as PyTorch does.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,  # noqa: N803
                 last_epoch: int = -1) -> None:
        _check_positive_int("T_max", T_max)
        V.number_in("eta_min", eta_min, 0.0)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta = self.last_epoch, self.T_max, self.eta_min
        lrs = self._current_lrs()
        if self._is_initial:
            return lrs
        if self._step_count == 1 and t > 0:
            return [eta + (b - eta) * (1 + math.cos(t * math.pi / T)) / 2 for b in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (b - eta) * (1 - math.cos(math.pi / T)) / 2
                    for b, lr in zip(self.base_lrs, lrs, strict=False)]
        return [
            (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta)
            + eta
            for lr in lrs
        ]

    def _get_closed_form_lr(self) -> list[float]:
        t, T, eta = self.last_epoch, self.T_max, self.eta_min
        return [eta + (b - eta) * (1 + math.cos(math.pi * t / T)) / 2 for b in self.base_lrs]


class LinearLR(LRScheduler):
    """lr = initial_lr · (s + (e − s)·min(t, T)/T): linear warm-up (or decay) over T steps."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        V.number_in("start_factor", start_factor, 0.0, 1.0, low_open=True)
        V.number_in("end_factor", end_factor, 0.0, 1.0)
        _check_positive_int("total_iters", total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        s, e, T, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch
        if t == 0:
            return [lr * s for lr in self._current_lrs()]
        if self._is_initial or t > T:
            return self._current_lrs()
        factor = 1.0 + (e - s) / (T * s + (t - 1) * (e - s))
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return [b * (s + (e - s) * min(T, self.last_epoch) / T) for b in self.base_lrs]


class ExponentialDecay(LRScheduler):
    """Keras ExponentialDecay, stepped per batch: lr = initial_lr · decay_rate^(t/decay_steps).

    With ``staircase=True`` the exponent is ⌊t/decay_steps⌋, which is StepLR(decay_steps,
    decay_rate) stepped every batch (closed form here, recursive there: equal to rounding).
    """

    def __init__(self, optimizer: Optimizer, decay_steps: int, decay_rate: float,
                 staircase: bool = False, last_epoch: int = -1) -> None:
        _check_positive_int("decay_steps", decay_steps)
        _check_positive("decay_rate", decay_rate)
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = V.flag("staircase", staircase)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return self._get_closed_form_lr()

    def _get_closed_form_lr(self) -> list[float]:
        p = self.last_epoch / self.decay_steps
        if self.staircase:
            p = self.last_epoch // self.decay_steps
        return [b * self.decay_rate**p for b in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` from ``milestones[i−1]`` on (each restarts at its epoch 0)."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler],
                 milestones: Sequence[int], last_epoch: int = -1) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got none")
        for i, s in enumerate(schedulers):
            if not hasattr(s, "optimizer"):
                raise TypeError(f"SequentialLR: scheduler at index {i} has no `optimizer`")
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(
                    "SequentialLR does not support ReduceLROnPlateau (its step needs a metric), "
                    f"got one at index {i}"
                )
            if s.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR expects all schedulers to belong to the same optimizer, but "
                    f"the scheduler at index {i} ({type(s).__name__}) has another one"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "SequentialLR expects the number of schedulers to be one more than the number "
                f"of milestones, got {len(schedulers)} schedulers and {len(milestones)} milestones"
            )
        if list(milestones) != sorted(milestones):
            raise ValueError(
                f"Invalid milestones value: {list(milestones)!r} (expected increasing)"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        # undo the initial steps the sub-schedulers took when they were built
        for s in self._schedulers:
            s.last_epoch -= 1
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        """Advance the active sub-scheduler (restarting the next one at its milestone)."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s.last_epoch = 0
            closed = getattr(s, "_get_closed_form_lr", None)
            values = closed() if closed is not None else s.get_lr()
            for group, lr in zip(self.optimizer.param_groups, values, strict=False):
                group["lr"] = lr
            s._last_lr = s._current_lrs()
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """Own attributes plus each sub-scheduler's state_dict."""
        sd = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        sd["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return sd

    def _prepare_load(self, state_dict: dict[str, Any]) -> Callable[[], None]:
        values = self._checked_state(state_dict, skip=("_schedulers",))
        subs = state_dict["_schedulers"]
        if not isinstance(subs, (list, tuple)) or len(subs) != len(self._schedulers):
            raise ValueError(f"SequentialLR state '_schedulers' must be a list of "
                             f"{len(self._schedulers)} states, got {V.describe(subs)}")
        commits = [s._prepare_load(saved) for s, saved in zip(self._schedulers, subs, strict=True)]

        def commit() -> None:
            self.__dict__.update(values)
            for c in commits:
                c()

        return commit


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith), stepped per batch, exactly as torch's OneCycleLR.

    lr rises from max_lr/div_factor to max_lr over pct_start of ``total_steps`` then anneals to
    max_lr/(div_factor·final_div_factor); momentum (or β₁) cycles inversely when
    ``cycle_momentum``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if total_steps is not None:
            _check_positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            _check_positive_int("epochs", epochs)
            _check_positive_int("steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        V.number_in("pct_start", pct_start, 0.0, 1.0)
        V.one_of("anneal_strategy", anneal_strategy, ("cos", "linear"), where="OneCycleLR")
        V.flag("cycle_momentum", cycle_momentum, where="OneCycleLR")
        V.flag("three_phase", three_phase, where="OneCycleLR")
        _check_positive("div_factor", div_factor)
        _check_positive("final_div_factor", final_div_factor)
        max_lrs = self._per_group("max_lr", optimizer, max_lr)
        for v in max_lrs:
            _check_positive("max_lr", v)
        if cycle_momentum:
            for name, value in (("max_momentum", max_momentum), ("base_momentum", base_momentum)):
                for v in self._per_group(name, optimizer, value):
                    V.number_in(name, v, 0.0, 1.0)
        if cycle_momentum and "momentum" not in optimizer.defaults \
                and "betas" not in optimizer.defaults:
            raise ValueError(
                "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
            )
        self.optimizer = optimizer
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        n = float(total_steps)
        if three_phase:
            self._schedule_phases = [
                {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr",
                 "end_lr": "max_lr", "start_momentum": "max_momentum",
                 "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * n) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr", "start_momentum": "base_momentum",
                 "end_momentum": "max_momentum"},
                {"end_step": n - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr",
                 "end_lr": "max_lr", "start_momentum": "max_momentum",
                 "end_momentum": "base_momentum"},
                {"end_step": n - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]
        if last_epoch == -1:
            for i, group in enumerate(optimizer.param_groups):
                group["initial_lr"] = max_lrs[i] / div_factor
                group["max_lr"] = max_lrs[i]
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if cycle_momentum:
            self.use_beta1 = "betas" in optimizer.defaults
            max_m = self._per_group("max_momentum", optimizer, max_momentum)
            base_m = self._per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for mm, bm, group in zip(max_m, base_m, optimizer.param_groups, strict=False):
                    if self.use_beta1:
                        group["betas"] = (mm, *group["betas"][1:])
                    else:
                        group["momentum"] = mm
                    group["max_momentum"] = mm
                    group["base_momentum"] = bm
        super().__init__(optimizer, last_epoch)

    def _prepare_load(self, state_dict: dict[str, Any]) -> Callable[[], None]:
        commit = super()._prepare_load(state_dict)
        if state_dict["total_steps"] != self.total_steps:
            # the phases are fractions of total_steps: a 1cycle schedule cannot be stretched
            raise ValueError(
                f"OneCycleLR state was saved for total_steps={state_dict['total_steps']}, but "
                f"this scheduler has total_steps={self.total_steps}; build it with the same "
                "total_steps (or epochs and steps_per_epoch) as the run that saved it"
            )
        return commit

    @staticmethod
    def _per_group(name: str, optimizer: Optimizer, value) -> list:
        n = len(optimizer.param_groups)
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"expected {n} values for {name}, got {len(value)}")
            return list(value)
        return [value] * n

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"Tried to step {step} times. The specified number of total steps is "
                f"{self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        mom = self._anneal(group[phase["start_momentum"]],
                                           group[phase["end_momentum"]], pct)
                    break
                start = end
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (mom, *group["betas"][1:])
                else:
                    group["momentum"] = mom
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by ``factor`` once the metric passed to ``step(metric)`` stops improving."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        V.number_in("factor", factor, 0.0, 1.0, high_open=True)
        V.one_of("mode", mode, ("min", "max"), where="ReduceLROnPlateau")
        V.one_of("threshold_mode", threshold_mode, ("rel", "abs"), where="ReduceLROnPlateau")
        V.int_at_least("patience", patience, 0)
        V.int_at_least("cooldown", cooldown, 0)
        V.number_in("threshold", threshold, 0.0)
        V.number_in("eps", eps, 0.0)
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        for v in self.min_lrs:
            V.number_in("min_lr", v, 0.0)
        self.optimizer = optimizer
        self.factor = factor
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        """Whether the scheduler is waiting out its cooldown after a reduction."""
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record one epoch's ``metrics`` and reduce the lrs after ``patience`` bad epochs."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated.",
                          UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            if len(self.min_lrs) != len(self.optimizer.param_groups):
                if self.default_min_lr is None:
                    raise RuntimeError(
                        "The number of param groups in the optimizer differs from when "
                        "ReduceLROnPlateau was created; update its min_lrs"
                    )
                self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
            for i, group in enumerate(self.optimizer.param_groups):
                old = float(group["lr"])
                new = max(old * self.factor, self.min_lrs[i])
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()
