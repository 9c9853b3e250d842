"""RAdam, exactly as torch.optim.RAdam (single-tensor order)."""

from __future__ import annotations

from collections.abc import Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import Optimizer, _fmt, addcmul_, lerp_

__all__ = ["RAdam"]


def _rho(beta2: float, step: int) -> tuple[float, float]:
    """(ρ∞, ρₜ): the maximum and current length of the approximated SMA."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * step * (beta2**step) / (1.0 - beta2**step)
    return rho_inf, rho_t


def _rect(rho_inf: float, rho_t: float) -> float:
    """The variance rectification term r(ρₜ)."""
    return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


class RAdam(Optimizer):
    """RAdam (Liu et al.: rectified Adam), exactly torch.optim.RAdam.

    Update rule per step (t counts this parameter's steps from 1; γ = lr)::

        g ← −g                               if maximize
        θ ← θ − γλθ  if decoupled_weight_decay, else  g ← g + λθ
        m ← β₁m + (1−β₁)g ;  v ← β₂v + (1−β₂)g² ;  m̂ = m/(1−β₁ᵗ)
        ρ∞ = 2/(1−β₂) − 1 ;  ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ)
        ρₜ > 5:  r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ)) ;  a = √(1−β₂ᵗ)/(√v + ε)
                 θ ← θ − γ·m̂·a·r
        else:    θ ← θ − γ·m̂
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, h: dict) -> None:
        self._check_lr(h["lr"])
        self._check_nonneg("epsilon", h["eps"])
        self._check_betas(h["betas"])
        self._check_nonneg("weight_decay", h["weight_decay"])

    def update(self, p, g, state: dict, group: dict) -> None:
        """One RAdam step on array ``p`` with gradient ``g`` (see the class docstring)."""
        xp = get_array_module(p)
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        wd = float(group["weight_decay"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        if group["decoupled_weight_decay"]:
            if wd != 0.0:
                p *= 1.0 - lr * wd
            d = self._direction(p, g, group, weight_decay=0.0)
        else:
            d = self._direction(p, g, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        upd = self.scratch(p, 1)
        lerp_(xp, m, d, 1.0 - beta1, upd)
        v *= beta2
        addcmul_(xp, v, d, d, 1.0 - beta2, upd)
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        xp.divide(m, bias_correction1, out=upd)  # m̂
        upd *= lr
        rho_inf, rho_t = _rho(beta2, step)
        if rho_t > 5.0:
            adaptive = self.scratch(p, 0)  # d is no longer needed
            xp.sqrt(v, out=adaptive)
            adaptive += eps
            xp.divide(bias_correction2**0.5, adaptive, out=adaptive)
            rect = _rect(rho_inf, rho_t)
            upd *= adaptive
            upd *= rect
        p -= upd

    def effective_lr(self, p, state: dict, group: dict):
        """Per-element step size applied to m̂ in the last update: γ·a·r, or γ unrectified."""
        xp = get_array_module(p)
        beta2 = float(group["betas"][1])
        step = state["step"]
        base = float(group["lr"])
        rho_inf, rho_t = _rho(beta2, step)
        if not rho_t > 5.0:
            return base
        eps = float(group["eps"])
        adaptive = (1.0 - beta2**step) ** 0.5 / (xp.sqrt(state["exp_avg_sq"]) + eps)
        return base * _rect(rho_inf, rho_t) * adaptive

    def _describe_group(self, group: dict) -> list[str]:
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        lines = self._describe_direction(group)
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        lines += [
            f"m ← {_fmt(b1)}·m + {_fmt(1 - b1)}·g ;  v ← {_fmt(b2)}·v + {_fmt(1 - b2)}·g²",
            f"ρₜ = {_fmt(rho_inf)} − 2t·{_fmt(b2)}ᵗ/(1 − {_fmt(b2)}ᵗ)",
            f"ρₜ > 5: θ ← θ − {_fmt(lr)}·m/(1 − {_fmt(b1)}ᵗ)·r(ρₜ)·√(1 − {_fmt(b2)}ᵗ)"
            f"/(√v + {_fmt(eps)})",
            f"else:   θ ← θ − {_fmt(lr)}·m/(1 − {_fmt(b1)}ᵗ)",
        ]
        return lines
