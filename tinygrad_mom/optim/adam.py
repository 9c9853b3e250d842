"""Adam, AdamW and AMSGrad, exactly as torch.optim.Adam / AdamW (single-tensor order)."""

from __future__ import annotations

from collections.abc import Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from . import fused as _fused
from .optimizer import Optimizer, _fmt, addcdiv_, addcmul_, lerp_

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), exactly torch.optim.Adam.

    Update rule per step (t counts this parameter's steps from 1; γ = lr, λ = weight_decay)::

        g ← −g                         if maximize
        θ ← θ − γλθ                    if decoupled_weight_decay (AdamW), else  g ← g + λθ
        m ← β₁m + (1−β₁)g ;  v ← β₂v + (1−β₂)g²       (m₀ = v₀ = 0)
        amsgrad: v̂ ← max(v̂, v), used in place of v below
        θ ← θ − (γ/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε)

    The TF/Keras "ε-hat" form is this rule with ε = ε̂/√(1−β₂ᵗ).

    ``fused=True`` (CUDA parameters) runs the rule as one CuPy kernel per parameter
    (:mod:`tinygrad_mom.optim.fused`); the default None runs array operations.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
            weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay, fused=fused,
        )
        super().__init__(params, defaults)

    def _validate(self, h: dict) -> None:
        self._check_lr(h["lr"])
        self._check_nonneg("epsilon", h["eps"])
        self._check_betas(h["betas"])
        self._check_nonneg("weight_decay", h["weight_decay"])
        self._check_fused(h)

    def update(self, p, g, state: dict, group: dict) -> None:
        """One Adam step on array ``p`` with gradient ``g`` (see the class docstring)."""
        if group.get("fused"):
            self._fused_update(p, g, state, group)
            return
        xp = get_array_module(p)
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        wd = float(group["weight_decay"])
        amsgrad = group["amsgrad"]
        step = self._start_step(p, state, group)
        if group["decoupled_weight_decay"]:
            if wd != 0.0:
                p *= 1.0 - lr * wd
            d = self._direction(p, g, group, weight_decay=0.0)
        else:
            d = self._direction(p, g, group)
        tmp = self.scratch(p, 1)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        lerp_(xp, m, d, 1.0 - beta1, tmp)
        v *= beta2
        addcmul_(xp, v, d, d, 1.0 - beta2, tmp)
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        step_size = lr / bias_correction1
        if amsgrad:
            vmax = state["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        denom = tmp
        xp.sqrt(v, out=denom)
        denom /= bias_correction2**0.5
        denom += eps
        addcdiv_(xp, p, m, denom, -step_size, self.scratch(p, 0))

    @staticmethod
    def _start_step(p, state: dict, group: dict) -> int:
        """The lazy state (zeros like ``p``; the AMSGrad maximum also when amsgrad is switched
        on mid-run) and the new step count: shared by the two update paths."""
        xp = get_array_module(p)
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        return state["step"]

    def _fused_update(self, p, g, state: dict, group: dict) -> None:
        """The rule as one kernel (:func:`~tinygrad_mom.optim.fused.adam_rule`)."""
        self._fused_ready(p)
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        wd = float(group["weight_decay"])
        amsgrad = group["amsgrad"]
        step = self._start_step(p, state, group)
        arrays = {"p": p, "g": g, "m": state["exp_avg"], "v": state["exp_avg_sq"]}
        if amsgrad:
            arrays["vmax"] = state["max_exp_avg_sq"]
        rule = _fused.adam_rule(
            amsgrad=amsgrad, decoupled=group["decoupled_weight_decay"], weight_decay=wd != 0.0,
            maximize=group["maximize"], beta1=beta1,
        )  # fmt: skip
        lerp_w = 1.0 - beta1
        scalars = {
            "decay": 1.0 - lr * wd, "wd": wd, "lerp_w": lerp_w, "lerp_omw": 1.0 - lerp_w,
            "beta2": beta2, "one_minus_beta2": 1.0 - beta2,
            "sqrt_bc2": (1.0 - beta2**step) ** 0.5, "eps": float(group["eps"]),
            "neg_step_size": -(lr / (1.0 - beta1**step)),
        }  # fmt: skip
        _fused.launch(rule, arrays, scalars)

    def effective_lr(self, p, state: dict, group: dict):
        """Per-element step size applied to m̂ = m/(1−β₁ᵗ) in the last update: γ/(√v̂ + ε)."""
        xp = get_array_module(p)
        beta2 = float(group["betas"][1])
        step = state["step"]
        v = state["max_exp_avg_sq"] if group["amsgrad"] else state["exp_avg_sq"]
        denom = xp.sqrt(v) / (1.0 - beta2**step) ** 0.5 + float(group["eps"])
        return float(group["lr"]) / denom

    def _describe_group(self, group: dict) -> list[str]:
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        lines = self._describe_direction(group)
        lines.append(f"m ← {_fmt(b1)}·m + {_fmt(1 - b1)}·g")
        lines.append(f"v ← {_fmt(b2)}·v + {_fmt(1 - b2)}·g²")
        vv = "v̂"
        if group["amsgrad"]:
            lines.append("v̂ ← max(v̂, v)   (amsgrad)")
        else:
            vv = "v"
        lines.append(
            f"θ ← θ − ({_fmt(lr)}/(1 − {_fmt(b1)}ᵗ))·m / (√{vv}/√(1 − {_fmt(b2)}ᵗ) + {_fmt(eps)})"
        )
        return lines


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, exactly torch.optim.AdamW.

    Update rule: θ ← θ − γλθ first (default λ = 0.01), then the Adam step of :class:`Adam`
    without the coupled L2 term::

        m ← β₁m + (1−β₁)g ;  v ← β₂v + (1−β₂)g² ;  θ ← θ − (γ/(1−β₁ᵗ))·m/(√v/√(1−β₂ᵗ) + ε)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, decoupled_weight_decay=True, fused=fused,
        )
