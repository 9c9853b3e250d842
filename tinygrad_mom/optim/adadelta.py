"""Adadelta, exactly as torch.optim.Adadelta (single-tensor order)."""

from __future__ import annotations

from collections.abc import Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import Optimizer, _fmt, addcmul_

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler), exactly torch.optim.Adadelta.

    Update rule per step (γ = lr, ρ = rho, λ = weight_decay)::

        g ← −g                          if maximize
        g ← g + λθ                      if λ ≠ 0
        v ← ρv + (1−ρ)g²                (v₀ = 0)
        Δ = √(u + ε)/√(v + ε) · g       (u₀ = 0)
        u ← ρu + (1−ρ)Δ²
        θ ← θ − γΔ
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, h: dict) -> None:
        self._check_lr(h["lr"])
        self._check_range("rho", h["rho"], 0.0, 1.0)
        self._check_nonneg("epsilon", h["eps"])
        self._check_nonneg("weight_decay", h["weight_decay"])

    def update(self, p, g, state: dict, group: dict) -> None:
        """One Adadelta step on array ``p`` with gradient ``g`` (see the class docstring)."""
        xp = get_array_module(p)
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            state["acc_delta"] = xp.zeros_like(p)
        state["step"] += 1
        d = self._direction(p, g, group)
        sq, acc = state["square_avg"], state["acc_delta"]
        std = self.scratch(p, 1)
        delta = self.scratch(p, 2)
        sq *= rho
        addcmul_(xp, sq, d, d, 1.0 - rho, std)
        xp.add(sq, eps, out=std)
        xp.sqrt(std, out=std)
        xp.add(acc, eps, out=delta)
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= d
        acc *= rho
        addcmul_(xp, acc, delta, delta, 1.0 - rho, std)
        delta *= -lr
        p += delta

    def effective_lr(self, p, state: dict, group: dict):
        """Per-element step size γ·√(u + ε)/√(v + ε) for the next gradient."""
        xp = get_array_module(p)
        eps = float(group["eps"])
        return float(group["lr"]) * xp.sqrt(state["acc_delta"] + eps) / xp.sqrt(
            state["square_avg"] + eps
        )

    def _describe_group(self, group: dict) -> list[str]:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        lines = self._describe_direction(group)
        lines += [
            f"v ← {_fmt(rho)}·v + {_fmt(1 - rho)}·g²",
            f"Δ = √(u + {_fmt(eps)})/√(v + {_fmt(eps)})·g",
            f"u ← {_fmt(rho)}·u + {_fmt(1 - rho)}·Δ²",
            f"θ ← θ − {_fmt(lr)}·Δ",
        ]
        return lines
