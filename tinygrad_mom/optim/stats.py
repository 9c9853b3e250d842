"""Per-step optimizer statistics, recorded through the step hooks (off unless a recorder exists)."""

from __future__ import annotations

import math
from typing import Any

from ..backend import get_array_module
from ..nn.utils import register_clip_grad_norm_hook
from .optimizer import Optimizer

__all__ = ["StepStatsRecorder"]


def _sq_norm(a) -> float:
    """‖a‖² as a Python float, without a temporary the size of ``a``."""
    if a.size == 0:
        return 0.0
    flat = a.reshape(-1)
    return float(get_array_module(a).vdot(flat, flat))


class StepStatsRecorder:
    """Record, for every ``optimizer.step()`` and every param group, what the update did.

    Each entry of ``records`` is ``{"step": n, "groups": [stats, ...]}`` where ``stats`` has:
    ``grad_norm`` (global 2-norm of the group's gradients), ``update_norm`` (‖θ_new − θ_old‖),
    ``param_norm`` (‖θ_old‖), ``update_ratio`` (update_norm / param_norm), ``lr`` (the group's
    lr), ``lr_min`` / ``lr_median`` / ``lr_max`` (the per-element step size, equal to lr for
    SGD; for the Adam family γ/(√v̂ + ε), the factor applied to the bias-corrected m̂,
    summarised over all the group's elements), and ``clip_coef`` /
    ``clip_total_norm`` when ``tm.nn.utils.clip_grad_norm_`` scaled this group's gradients
    since the previous step (else None). The cost is one copy of the parameters per step;
    the preallocated snapshot buffers are reused. ``remove()`` stops recording.
    """

    def __init__(self, optimizer: Optimizer, max_records: int | None = None) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"StepStatsRecorder needs an Optimizer, got {type(optimizer).__name__}")
        if max_records is not None and not max_records > 0:
            raise ValueError(f"Invalid max_records value: {max_records} (expected > 0 or None)")
        self.optimizer = optimizer
        self.max_records = max_records
        self.records: list[dict[str, Any]] = []
        self._snapshots: dict[int, Any] = {}
        self._pending_clip: tuple | None = None
        self._steps = 0
        self._handles = [
            optimizer.register_step_pre_hook(self._pre_step),
            optimizer.register_step_post_hook(self._post_step),
            register_clip_grad_norm_hook(self._on_clip),
        ]

    def remove(self) -> None:
        """Stop recording (unregister all hooks) and free the snapshot buffers."""
        for h in self._handles:
            h.remove()
        self._snapshots.clear()

    def __enter__(self) -> StepStatsRecorder:
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()

    @property
    def last(self) -> dict[str, Any] | None:
        """The most recent record, or None."""
        return self.records[-1] if self.records else None

    def _on_clip(self, params, total_norm: float, clip_coef: float) -> None:
        self._pending_clip = (set(params), total_norm, clip_coef)

    def _pre_step(self, optimizer, args, kwargs) -> None:
        index = 0
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    snap = self._snapshots.get(index)
                    if snap is None or snap.shape != p.shape or snap.dtype != p.dtype:
                        snap = get_array_module(p.array).empty_like(p.array)
                        self._snapshots[index] = snap
                    snap[...] = p.array
                index += 1

    def _post_step(self, optimizer, args, kwargs) -> None:
        self._steps += 1
        clip = self._pending_clip
        self._pending_clip = None
        groups = []
        index = 0
        for group in optimizer.param_groups:
            g2 = u2 = p2 = 0.0
            lr_parts: list = []
            clipped = False
            for p in group["params"]:
                if p.grad is not None:
                    snap = self._snapshots[index]
                    g2 += _sq_norm(p.grad.array)
                    p2 += _sq_norm(snap)
                    xp = get_array_module(p.array)
                    xp.subtract(p.array, snap, out=snap)  # snapshot becomes the update
                    u2 += _sq_norm(snap)
                    state = optimizer.state.get(index, {})
                    lr_parts.append(optimizer.effective_lr(p.array, state, group))
                    if clip is not None and p in clip[0]:
                        clipped = True
                index += 1
            stats = {
                "grad_norm": math.sqrt(g2),
                "update_norm": math.sqrt(u2),
                "param_norm": math.sqrt(p2),
                "update_ratio": math.sqrt(u2) / math.sqrt(p2) if p2 > 0 else math.inf,
                "lr": float(group["lr"]),
                "clip_coef": clip[2] if clipped else None,
                "clip_total_norm": clip[1] if clipped else None,
            }
            stats.update(self._summarise(lr_parts))
            groups.append(stats)
        self.records.append({"step": self._steps, "groups": groups})
        if self.max_records is not None and len(self.records) > self.max_records:
            del self.records[0]

    @staticmethod
    def _summarise(parts: list) -> dict[str, float | None]:
        """min / median / max of per-element step sizes given as floats or arrays."""
        arrays = [a for a in parts if not isinstance(a, float) and a.size > 0]
        scalars = [a for a in parts if isinstance(a, float)]
        if not arrays and not scalars:
            return {"lr_min": None, "lr_median": None, "lr_max": None}
        if not arrays:
            return {"lr_min": min(scalars), "lr_median": sorted(scalars)[len(scalars) // 2],
                    "lr_max": max(scalars)}
        xp = get_array_module(arrays[0])
        flat = xp.concatenate([a.reshape(-1) for a in arrays])
        if scalars:
            flat = xp.concatenate([flat, xp.asarray(scalars, dtype=flat.dtype)])
        return {"lr_min": float(flat.min()), "lr_median": float(xp.median(flat)),
                "lr_max": float(flat.max())}

    def table(self) -> str:
        """The records as a fixed-width text table, one line per (step, group)."""
        head = (f"{'step':>5} {'grp':>3} {'grad_norm':>10} {'upd_norm':>10} {'upd/param':>10} "
                f"{'lr_min':>10} {'lr_med':>10} {'lr_max':>10} {'clip':>6}")
        lines = [head]
        for rec in self.records:
            for i, s in enumerate(rec["groups"]):
                clip = "-" if s["clip_coef"] is None else f"{s['clip_coef']:.3g}"
                lr = ["-" if s[k] is None else f"{s[k]:10.3g}"
                      for k in ("lr_min", "lr_median", "lr_max")]
                lines.append(
                    f"{rec['step']:>5} {i:>3} {s['grad_norm']:10.3g} {s['update_norm']:10.3g} "
                    f"{s['update_ratio']:10.3g} {lr[0]:>10} {lr[1]:>10} {lr[2]:>10} {clip:>6}"
                )
        return "\n".join(lines)
