"""RMSprop, exactly as torch.optim.RMSprop (single-tensor order)."""

from __future__ import annotations

from collections.abc import Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from . import fused as _fused
from .optimizer import Optimizer, _fmt, addcdiv_, addcmul_, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton), exactly torch.optim.RMSprop.

    Update rule per step (γ = lr, α = alpha, λ = weight_decay, μ = momentum)::

        g ← −g                         if maximize
        g ← g + λθ                     if λ ≠ 0
        v ← αv + (1−α)g²               (v₀ = 0)
        centered: ḡ ← αḡ + (1−α)g ; ṽ = v − ḡ²     else ṽ = v
        μ > 0:  b ← μb + g/(√ṽ + ε) ; θ ← θ − γb
        else:   θ ← θ − γ·g/(√ṽ + ε)

    Keras and optax put ε inside the root, g/√(ṽ + ε): a different rule.

    ``fused=True`` (CUDA parameters) runs the rule as one CuPy kernel per parameter
    (:mod:`tinygrad_mom.optim.fused`). torch.optim.RMSprop has no ``fused`` argument: this one
    is an extension, keyword-only; the default None runs array operations.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize, fused=fused,
        )
        super().__init__(params, defaults)

    def _validate(self, h: dict) -> None:
        self._check_lr(h["lr"])
        self._check_nonneg("epsilon", h["eps"])
        self._check_nonneg("momentum", h["momentum"])
        self._check_nonneg("weight_decay", h["weight_decay"])
        self._check_range("alpha", h["alpha"], 0.0, 1.0)
        self._check_fused(h)

    def update(self, p, g, state: dict, group: dict) -> None:
        """One RMSprop step on array ``p`` with gradient ``g`` (see the class docstring)."""
        if group.get("fused"):
            self._fused_update(p, g, state, group)
            return
        xp = get_array_module(p)
        lr, alpha = float(group["lr"]), float(group["alpha"])
        eps, mu = float(group["eps"]), float(group["momentum"])
        self._start_step(p, state, group)
        d = self._direction(p, g, group)
        avg = self.scratch(p, 1)
        sq = state["square_avg"]
        sq *= alpha
        addcmul_(xp, sq, d, d, 1.0 - alpha, avg)
        if group["centered"]:
            ga = state["grad_avg"]
            lerp_(xp, ga, d, 1.0 - alpha, avg)
            xp.negative(ga, out=avg)  # v − ḡ², in PyTorch's addcmul(value=−1) order
            avg *= ga
            avg += sq
            xp.sqrt(avg, out=avg)
        else:
            xp.sqrt(sq, out=avg)
        avg += eps
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            addcdiv_(xp, buf, d, avg, 1.0, self.scratch(p, 0))
            xp.multiply(buf, -lr, out=avg)
            p += avg
        else:
            addcdiv_(xp, p, d, avg, -lr, self.scratch(p, 0))

    @staticmethod
    def _start_step(p, state: dict, group: dict) -> None:
        """The lazy state (zeros like ``p``; a buffer also when its option is switched on
        mid-run) and the step count: shared by the two update paths."""
        xp = get_array_module(p)
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
        if float(group["momentum"]) > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(p)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1

    def _fused_update(self, p, g, state: dict, group: dict) -> None:
        """The rule as one kernel (:func:`~tinygrad_mom.optim.fused.rmsprop_rule`)."""
        self._fused_ready(p)
        alpha, mu = float(group["alpha"]), float(group["momentum"])
        self._start_step(p, state, group)
        arrays = {"p": p, "g": g, "sq": state["square_avg"]}
        if group["centered"]:
            arrays["ga"] = state["grad_avg"]
        if mu > 0:
            arrays["buf"] = state["momentum_buffer"]
        rule = _fused.rmsprop_rule(
            centered=group["centered"], momentum=mu > 0,
            weight_decay=float(group["weight_decay"]) != 0.0, maximize=group["maximize"],
            alpha=alpha,
        )  # fmt: skip
        lerp_w = 1.0 - alpha
        scalars = {
            "wd": float(group["weight_decay"]), "alpha": alpha, "one_minus_alpha": 1.0 - alpha,
            "lerp_w": lerp_w, "lerp_omw": 1.0 - lerp_w, "eps": float(group["eps"]), "mu": mu,
            "neg_lr": -float(group["lr"]),
        }  # fmt: skip
        _fused.launch(rule, arrays, scalars)

    def effective_lr(self, p, state: dict, group: dict):
        """Per-element step size γ/(√ṽ + ε) of the last update."""
        xp = get_array_module(p)
        v = state["square_avg"]
        if group["centered"]:
            v = v - state["grad_avg"] ** 2
        return float(group["lr"]) / (xp.sqrt(v) + float(group["eps"]))

    def _describe_group(self, group: dict) -> list[str]:
        lr, a, eps = group["lr"], group["alpha"], group["eps"]
        mu = group["momentum"]
        lines = self._describe_direction(group)
        lines.append(f"v ← {_fmt(a)}·v + {_fmt(1 - a)}·g²")
        root = "√v"
        if group["centered"]:
            lines.append(f"ḡ ← {_fmt(a)}·ḡ + {_fmt(1 - a)}·g   (centered)")
            root = "√(v − ḡ²)"
        if mu > 0:
            lines.append(f"b ← {_fmt(mu)}·b + g/({root} + {_fmt(eps)})")
            lines.append(f"θ ← θ − {_fmt(lr)}·b")
        else:
            lines.append(f"θ ← θ − {_fmt(lr)}·g/({root} + {_fmt(eps)})")
        return lines
