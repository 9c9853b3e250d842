"""Stochastic gradient descent with PyTorch's momentum, plus the classic and EMA momentum forms."""

from __future__ import annotations

from collections.abc import Iterable

from .. import _validation as V
from ..backend import get_array_module
from ..tensor import Tensor
from . import fused as _fused
from .optimizer import Optimizer, _fmt

__all__ = ["SGD"]

_STYLES = ("torch", "classic", "ema")


class SGD(Optimizer):
    """SGD with momentum; ``momentum_style="torch"`` (default) is exactly torch.optim.SGD.

    Update rule per step (g the gradient, θ the parameter, γ = lr, μ = momentum,
    τ = dampening, λ = weight_decay)::

        g ← −g                      if maximize
        g ← g + λθ                  if λ ≠ 0            (coupled L2)
        "torch":   b ← g on the first step, else b ← μb + (1−τ)g
                   d ← g + μb if nesterov else b ;  θ ← θ − γd
        "classic": v ← μv − γ(1−τ)g  (v₀ = 0)              (Sutskever, Keras, Chainer)
                   θ ← θ + μv − γg if nesterov (Keras) else θ ← θ + v
        "ema":     v ← μv + (1−μ)g   (v₀ = 0)              (Andrew Ng's course)
                   θ ← θ − γ(μv + (1−μ)g) if nesterov else θ ← θ − γv

    With μ = 0 every style is plain SGD θ ← θ − γg. "classic" equals "torch" at a constant γ;
    "ema" at γ equals "torch" at γ(1−μ). nesterov needs μ > 0 and τ = 0; "ema" needs τ = 0.

    ``fused=True`` (CUDA parameters, momentum_style="torch") runs the rule as one CuPy kernel
    per parameter (:mod:`tinygrad_mom.optim.fused`); the default None runs array operations.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        momentum_style: str = "torch",
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize, momentum_style=momentum_style, fused=fused,
        )
        super().__init__(params, defaults)

    def _validate(self, h: dict) -> None:
        self._check_lr(h["lr"])
        self._check_nonneg("momentum", h["momentum"])
        self._check_nonneg("weight_decay", h["weight_decay"])
        self._check_range("dampening", h["dampening"], 0.0, 1.0)
        V.one_of("momentum_style", h["momentum_style"], _STYLES, where="SGD")
        if h["nesterov"] and (h["momentum"] <= 0 or h["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={h['momentum']}, dampening={h['dampening']}"
            )
        self._check_fused(h)
        if h.get("fused") and h["momentum_style"] != "torch":
            raise ValueError(
                f"fused=True implements momentum_style='torch' only, got {h['momentum_style']!r}"
            )
        if h["momentum_style"] == "ema" and h["dampening"] != 0:
            raise ValueError(
                f"Invalid dampening value: {h['dampening']} with momentum_style='ema', which "
                "already weights the gradient by (1 - momentum); use dampening=0"
            )

    def update(self, p, g, state: dict, group: dict) -> None:
        """One SGD step on array ``p`` with gradient ``g`` (see the class docstring)."""
        if group.get("fused"):
            self._fused_update(p, g, state, group)
            return
        xp = get_array_module(p)
        lr = float(group["lr"])
        mu = float(group["momentum"])
        d = self._direction(p, g, group)  # scratch slot 0, or g itself
        tmp = self.scratch(p, 1)
        if mu == 0.0:
            xp.multiply(d, -lr, out=tmp)
            xp.add(p, tmp, out=p)
            return
        style = group["momentum_style"]
        damp = float(group["dampening"])
        nesterov = group["nesterov"]
        if style == "torch":
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.array(d, copy=True)  # first step: b = g
            else:
                buf *= mu
                if damp == 0.0:
                    buf += d
                else:
                    xp.multiply(d, 1.0 - damp, out=tmp)
                    buf += tmp
            if nesterov:
                xp.multiply(buf, mu, out=tmp)
                tmp += d  # g + μb
                tmp *= -lr
            else:
                xp.multiply(buf, -lr, out=tmp)
            p += tmp
        elif style == "classic":
            v = state.get("velocity")
            if v is None:
                v = state["velocity"] = xp.zeros_like(p)
            v *= mu
            xp.multiply(d, -lr * (1.0 - damp), out=tmp)
            v += tmp
            if nesterov:  # Keras: θ ← θ + μv − γg with the updated v
                xp.multiply(v, mu, out=tmp)
                p += tmp
                xp.multiply(d, -lr, out=tmp)
                p += tmp
            else:
                p += v
        else:  # "ema"
            v = state.get("exp_avg")
            if v is None:
                v = state["exp_avg"] = xp.zeros_like(p)
            v *= mu
            xp.multiply(d, 1.0 - mu, out=tmp)
            v += tmp
            if nesterov:  # θ ← θ − γ(μv + (1−μ)g); tmp still holds (1−μ)g
                step = self.scratch(p, 2)
                xp.multiply(v, mu, out=step)
                step += tmp
                step *= -lr
                p += step
            else:
                xp.multiply(v, -lr, out=tmp)
                p += tmp

    def _fused_update(self, p, g, state: dict, group: dict) -> None:
        """The "torch" rule as one kernel (:func:`~tinygrad_mom.optim.fused.sgd_rule`)."""
        self._fused_ready(p)
        mu = float(group["momentum"])
        damp = float(group["dampening"])
        arrays = {"p": p, "g": g}
        first = False
        if mu != 0.0:
            buf = state.get("momentum_buffer")
            first = buf is None
            if first:
                buf = state["momentum_buffer"] = get_array_module(p).empty_like(p)
            arrays["buf"] = buf
        rule = _fused.sgd_rule(
            momentum=mu != 0.0, first=first, nesterov=group["nesterov"], dampening=damp != 0.0,
            weight_decay=float(group["weight_decay"]) != 0.0, maximize=group["maximize"],
        )  # fmt: skip
        scalars = {
            "neg_lr": -float(group["lr"]), "mu": mu, "one_minus_damp": 1.0 - damp,
            "wd": float(group["weight_decay"]),
        }  # fmt: skip
        _fused.launch(rule, arrays, scalars)

    def _describe_group(self, group: dict) -> list[str]:
        lr, mu, damp = group["lr"], group["momentum"], group["dampening"]
        style = group["momentum_style"]
        lines = self._describe_direction(group)
        if mu == 0:
            lines.append(f"θ ← θ − {_fmt(lr)}·g")
            return lines
        if style == "torch":
            if damp == 0:
                lines.append(f"b ← {_fmt(mu)}·b + g   (b ← g on the first step)")
            else:
                lines.append(f"b ← {_fmt(mu)}·b + {_fmt(1 - damp)}·g   (b ← g on the first step)")
            if group["nesterov"]:
                lines.append(f"g ← g + {_fmt(mu)}·b   (nesterov)")
                lines.append(f"θ ← θ − {_fmt(lr)}·g")
            else:
                lines.append(f"θ ← θ − {_fmt(lr)}·b")
        elif style == "classic":
            lines.append(f"v ← {_fmt(mu)}·v − {_fmt(lr * (1 - damp))}·g   (v₀ = 0)")
            if group["nesterov"]:
                lines.append(f"θ ← θ + {_fmt(mu)}·v − {_fmt(lr)}·g   (Keras nesterov)")
            else:
                lines.append("θ ← θ + v")
        else:
            lines.append(f"v ← {_fmt(mu)}·v + {_fmt(1 - mu)}·g   (v₀ = 0)")
            if group["nesterov"]:
                lines.append(f"θ ← θ − {_fmt(lr)}·({_fmt(mu)}·v + {_fmt(1 - mu)}·g)   (nesterov)")
            else:
                lines.append(f"θ ← θ − {_fmt(lr)}·v")
        return lines
