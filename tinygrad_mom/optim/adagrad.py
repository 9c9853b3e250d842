"""Adagrad, exactly as torch.optim.Adagrad (dense gradients, single-tensor order)."""

from __future__ import annotations

from collections.abc import Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from . import fused as _fused
from .optimizer import Optimizer, _fmt, addcdiv_, addcmul_

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), exactly torch.optim.Adagrad.

    Update rule per step (t counts this parameter's steps from 1; γ = lr, λ = weight_decay)::

        g ← −g                         if maximize
        g ← g + λθ                     if λ ≠ 0
        γ̃ = γ / (1 + (t−1)·lr_decay)
        s ← s + g²                     (s₀ = initial_accumulator_value)
        θ ← θ − γ̃·g/(√s + ε)

    ``fused=True`` (CUDA parameters) runs the rule as one CuPy kernel per parameter
    (:mod:`tinygrad_mom.optim.fused`); the default None runs array operations.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize,
            fused=fused,
        )
        super().__init__(params, defaults)

    def _validate(self, h: dict) -> None:
        self._check_lr(h["lr"])
        self._check_nonneg("lr_decay", h["lr_decay"])
        self._check_nonneg("weight_decay", h["weight_decay"])
        self._check_nonneg("initial_accumulator_value", h["initial_accumulator_value"])
        self._check_nonneg("epsilon", h["eps"])
        self._check_fused(h)

    def update(self, p, g, state: dict, group: dict) -> None:
        """One Adagrad step on array ``p`` with gradient ``g`` (see the class docstring)."""
        if group.get("fused"):
            self._fused_ready(p)
        xp = get_array_module(p)
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p, float(group["initial_accumulator_value"]))
        state["step"] += 1
        if group.get("fused"):
            rule = _fused.adagrad_rule(
                weight_decay=float(group["weight_decay"]) != 0.0, maximize=group["maximize"]
            )
            clr = float(group["lr"]) / (1.0 + (state["step"] - 1) * float(group["lr_decay"]))
            scalars = {"wd": float(group["weight_decay"]), "eps": float(group["eps"]),
                       "neg_clr": -clr}  # fmt: skip
            _fused.launch(rule, {"p": p, "g": g, "s": state["sum"]}, scalars)
            return
        d = self._direction(p, g, group)
        clr = float(group["lr"]) / (1.0 + (state["step"] - 1) * float(group["lr_decay"]))
        std = self.scratch(p, 1)
        s = state["sum"]
        addcmul_(xp, s, d, d, 1.0, std)
        xp.sqrt(s, out=std)
        std += float(group["eps"])
        addcdiv_(xp, p, d, std, -clr, self.scratch(p, 0))

    def effective_lr(self, p, state: dict, group: dict):
        """Per-element step size γ̃/(√s + ε) of the last update."""
        xp = get_array_module(p)
        clr = float(group["lr"]) / (1.0 + (state["step"] - 1) * float(group["lr_decay"]))
        return clr / (xp.sqrt(state["sum"]) + float(group["eps"]))

    def _describe_group(self, group: dict) -> list[str]:
        lr, dec, eps = group["lr"], group["lr_decay"], group["eps"]
        lines = self._describe_direction(group)
        lines.append(f"s ← s + g²   (s₀ = {_fmt(group['initial_accumulator_value'])})")
        rate = _fmt(lr) if dec == 0 else f"{_fmt(lr)}/(1 + (t−1)·{_fmt(dec)})"
        lines.append(f"θ ← θ − {rate}·g/(√s + {_fmt(eps)})")
        return lines
