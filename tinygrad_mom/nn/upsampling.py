"""``F.interpolate`` and ``nn.Upsample``: nearest and (bi)linear resizing, as PyTorch.

Resizing is separable: each spatial axis is resampled on its own by gathering source
positions (a differentiable index) and, for linear modes, blending two neighbours. PyTorch's
coordinate rules: with ``align_corners=False`` a destination pixel centre ``d`` maps to
``(d + 0.5)·scale − 0.5`` (clamped at 0), with ``align_corners=True`` to ``d·(in−1)/(out−1)``;
nearest takes ``floor(d·scale)``. ``scale`` is ``in/out``, or ``1/scale_factor`` when a scale
factor is given and ``recompute_scale_factor`` is not True.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as V
from ..backend import get_array_module
from ..tensor import Tensor, is_floating
from .functional import _check_tensor
from .module import Module

__all__ = ["Upsample", "interpolate"]

_MODES = {"nearest": 1, "linear": 1, "bilinear": 2}


def _per_axis(value, n: int, name: str, where: str) -> tuple | None:
    if value is None:
        return None
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(values) != n:
        raise ValueError(f"{where}: {name} needs {n} values for this input, got {value!r}")
    return values


def _resample_axis(x: Tensor, axis: int, out_size: int, scale: float, mode: str,
                   align_corners: bool) -> Tensor:
    in_size = x.shape[axis]
    dst = np.arange(out_size, dtype=np.float64)
    lead = (slice(None),) * axis
    xp = get_array_module(x.array)
    if mode == "nearest":
        src = np.minimum(np.floor(dst * scale).astype(np.int64), in_size - 1)
        return x[lead + (xp.asarray(src),)]
    if align_corners:
        step = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        src = dst * step
    else:
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    frac = (src - low).astype(x.dtype)
    shape = [1] * x.ndim
    shape[axis] = out_size
    w_high = Tensor._wrap(xp.asarray(frac.reshape(shape)))
    w_low = Tensor._wrap(xp.asarray((1 - frac).reshape(shape)))
    return x[lead + (xp.asarray(low),)] * w_low + x[lead + (xp.asarray(high),)] * w_high


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) input: ``mode`` is 'nearest', 'linear' (3-D) or
    'bilinear' (4-D); give ``size`` or ``scale_factor`` (one per spatial dim, or one for all)."""
    _check_tensor(input, "interpolate")
    mode = V.one_of("mode", mode, tuple(_MODES), where="interpolate")
    spatial = input.ndim - 2
    if spatial not in (1, 2):
        raise ValueError(
            f"interpolate: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape "
            f"{tuple(input.shape)}"
        )
    if mode != "nearest" and _MODES[mode] != spatial:
        raise ValueError(
            f"interpolate: mode {mode!r} needs a {_MODES[mode] + 2}-D input, got "
            f"{input.ndim}-D; use 'linear' for 3-D and 'bilinear' for 4-D"
        )
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with the linear modes")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported here")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if mode != "nearest" and not is_floating(input.dtype):
        raise TypeError(f"interpolate: mode {mode!r} needs a floating input, got {input.dtype}")
    align = bool(align_corners) if align_corners is not None else False
    in_sizes = input.shape[2:]
    sizes = _per_axis(size, spatial, "size", "interpolate")
    factors = _per_axis(scale_factor, spatial, "scale_factor", "interpolate")
    if sizes is not None:
        sizes = tuple(V.int_at_least("size", s, 1, where="interpolate") for s in sizes)
        scales = tuple(i / o for i, o in zip(in_sizes, sizes))
    else:
        factors = tuple(V.number_in("scale_factor", f, 0.0, low_open=True, where="interpolate")
                        for f in factors)
        sizes = tuple(int(math.floor(i * f)) for i, f in zip(in_sizes, factors))
        if any(s < 1 for s in sizes):
            raise ValueError(f"interpolate: scale_factor {scale_factor!r} gives an empty output")
        if recompute_scale_factor:
            scales = tuple(i / o for i, o in zip(in_sizes, sizes))
        else:
            scales = tuple(1.0 / f for f in factors)
    out = input
    for k, (out_size, scale) in enumerate(zip(sizes, scales)):
        out = _resample_axis(out, 2 + k, out_size, scale, mode, align)
    return out


class Upsample(Module):
    """``nn.Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None)``."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size, self.scale_factor = size, scale_factor
        self.mode = V.one_of("mode", mode, tuple(_MODES), where="Upsample")
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor}" if self.size is None else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"
