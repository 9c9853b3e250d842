"""Adamax, exactly as torch.optim.Adamax (single-tensor order)."""

from __future__ import annotations

from collections.abc import Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import Optimizer, _fmt, addcdiv_, lerp_

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, the infinity-norm Adam), exactly torch.optim.Adamax.

    Update rule per step (t counts this parameter's steps from 1; γ = lr, λ = weight_decay)::

        g ← −g                          if maximize
        g ← g + λθ                      if λ ≠ 0
        m ← β₁m + (1−β₁)g               (m₀ = 0)
        u ← max(β₂u, |g| + ε)           (u₀ = 0)
        θ ← θ − (γ/(1−β₁ᵗ))·m/u
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, h: dict) -> None:
        self._check_lr(h["lr"])
        self._check_nonneg("epsilon", h["eps"])
        self._check_betas(h["betas"])
        self._check_nonneg("weight_decay", h["weight_decay"])

    def update(self, p, g, state: dict, group: dict) -> None:
        """One Adamax step on array ``p`` with gradient ``g`` (see the class docstring)."""
        xp = get_array_module(p)
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_inf"] = xp.zeros_like(p)
        state["step"] += 1
        d = self._direction(p, g, group)
        m, u = state["exp_avg"], state["exp_inf"]
        tmp = self.scratch(p, 1)
        lerp_(xp, m, d, 1.0 - beta1, tmp)
        u *= beta2
        xp.abs(d, out=tmp)
        tmp += float(group["eps"])
        xp.maximum(u, tmp, out=u)
        clr = float(group["lr"]) / (1.0 - beta1 ** state["step"])
        addcdiv_(xp, p, m, u, -clr, tmp)

    def effective_lr(self, p, state: dict, group: dict):
        """Per-element step size γ/u applied to m̂ = m/(1−β₁ᵗ) in the last update."""
        return float(group["lr"]) / state["exp_inf"]

    def _describe_group(self, group: dict) -> list[str]:
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        lines = self._describe_direction(group)
        lines += [
            f"m ← {_fmt(b1)}·m + {_fmt(1 - b1)}·g",
            f"u ← max({_fmt(b2)}·u, |g| + {_fmt(eps)})",
            f"θ ← θ − ({_fmt(lr)}/(1 − {_fmt(b1)}ᵗ))·m/u",
        ]
        return lines
