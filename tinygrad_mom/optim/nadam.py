"""NAdam, exactly as torch.optim.NAdam (single-tensor order)."""

from __future__ import annotations

from collections.abc import Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import Optimizer, _fmt, addcdiv_, addcmul_, lerp_

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam (Dozat: Adam with Nesterov momentum), exactly torch.optim.NAdam.

    Update rule per step (t counts this parameter's steps from 1; γ = lr, ψ = momentum_decay)::

        g ← −g                               if maximize
        θ ← θ − γλθ  if decoupled_weight_decay, else  g ← g + λθ
        μₜ = β₁(1 − ½·0.96^(tψ)) ;  μₜ₊₁ = β₁(1 − ½·0.96^((t+1)ψ)) ;  Πₜ = μ₁μ₂…μₜ
        m ← β₁m + (1−β₁)g ;  v ← β₂v + (1−β₂)g²
        D = √(v/(1−β₂ᵗ)) + ε
        θ ← θ − γ(1−μₜ)/(1−Πₜ) · g/D − γμₜ₊₁/(1−Πₜμₜ₊₁) · m/D

    The product Πₜ is kept as a Python float (PyTorch keeps a 0-d tensor of the default dtype,
    so in float32 runs its last bits can differ from this float64 product).
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, h: dict) -> None:
        self._check_lr(h["lr"])
        self._check_nonneg("epsilon", h["eps"])
        self._check_betas(h["betas"])
        self._check_nonneg("weight_decay", h["weight_decay"])
        self._check_nonneg("momentum_decay", h["momentum_decay"])

    def update(self, p, g, state: dict, group: dict) -> None:
        """One NAdam step on array ``p`` with gradient ``g`` (see the class docstring)."""
        xp = get_array_module(p)
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        wd, psi = float(group["weight_decay"]), float(group["momentum_decay"])
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        bias_correction2 = 1.0 - beta2**step
        if group["decoupled_weight_decay"]:
            if wd != 0.0:
                p *= 1.0 - lr * wd
            d = self._direction(p, g, group, weight_decay=0.0)
        else:
            d = self._direction(p, g, group)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        denom = self.scratch(p, 1)
        lerp_(xp, m, d, 1.0 - beta1, denom)
        v *= beta2
        addcmul_(xp, v, d, d, 1.0 - beta2, denom)
        xp.divide(v, bias_correction2, out=denom)
        xp.sqrt(denom, out=denom)
        denom += eps
        mu_product_next = mu_product * mu_next
        tmp = self.scratch(p, 0)  # may alias d: addcdiv_ reads d before writing tmp
        addcdiv_(xp, p, d, denom, -lr * (1.0 - mu) / (1.0 - mu_product), tmp)
        addcdiv_(xp, p, m, denom, (-lr * mu_next) / (1.0 - mu_product_next), tmp)

    def effective_lr(self, p, state: dict, group: dict):
        """Per-element step size γ/(√(v/(1−β₂ᵗ)) + ε) (before the momentum-schedule factors)."""
        xp = get_array_module(p)
        bc2 = 1.0 - float(group["betas"][1]) ** state["step"]
        return float(group["lr"]) / (xp.sqrt(state["exp_avg_sq"] / bc2) + float(group["eps"]))

    def _describe_group(self, group: dict) -> list[str]:
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        psi = group["momentum_decay"]
        lines = self._describe_direction(group)
        lines += [
            f"μₜ = {_fmt(b1)}·(1 − 0.5·0.96^(t·{_fmt(psi)})) ;  Πₜ = μ₁⋯μₜ",
            f"m ← {_fmt(b1)}·m + {_fmt(1 - b1)}·g ;  v ← {_fmt(b2)}·v + {_fmt(1 - b2)}·g²",
            f"D = √(v/(1 − {_fmt(b2)}ᵗ)) + {_fmt(eps)}",
            f"θ ← θ − {_fmt(lr)}·(1−μₜ)/(1−Πₜ)·g/D − {_fmt(lr)}·μₜ₊₁/(1−Πₜμₜ₊₁)·m/D",
        ]
        return lines
