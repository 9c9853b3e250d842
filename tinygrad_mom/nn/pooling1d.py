"""1-d pooling and channel dropout: ``MaxPool1d``, ``AvgPool1d``, ``Dropout2d`` (and their
functional forms), on top of the 2-d primitives."""

from __future__ import annotations

from .. import _validation as V
from .. import backend, ops
from ..backend import get_array_module
from ..tensor import Tensor, is_floating
from . import functional as F
from .functional import _check_p, _check_tensor
from .module import Module

__all__ = ["AvgPool1d", "Dropout2d", "MaxPool1d", "avg_pool1d", "dropout2d", "max_pool1d"]


def _one(value, name: str, where: str):
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{where}: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return value


def _as_2d(input: Tensor, where: str) -> tuple[Tensor, bool]:
    _check_tensor(input, where)
    if input.ndim not in (2, 3):
        raise ValueError(
            f"{where}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
            f"{tuple(input.shape)}"
        )
    batched = input.ndim == 3
    x = input if batched else ops.unsqueeze(input, 0)
    return ops.unsqueeze(x, 2), batched  # (N, C, 1, L)


def _back(out: Tensor, batched: bool) -> Tensor:
    out = ops.squeeze(out, 2)
    return out if batched else ops.squeeze(out, 0)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """Max over windows of the last dim of (N, C, L) or (C, L)."""
    k = _one(kernel_size, "kernel_size", "max_pool1d")
    s = _one(stride, "stride", "max_pool1d") if stride is not None else k
    x, batched = _as_2d(input, "max_pool1d")
    out = F.max_pool2d(x, (1, k), (1, s), (0, _one(padding, "padding", "max_pool1d")),
                       (1, _one(dilation, "dilation", "max_pool1d")), ceil_mode, return_indices)
    return _back(out, batched)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over windows of the last dim of (N, C, L) or (C, L)."""
    k = _one(kernel_size, "kernel_size", "avg_pool1d")
    s = _one(stride, "stride", "avg_pool1d") if stride is not None else k
    x, batched = _as_2d(input, "avg_pool1d")
    out = F.avg_pool2d(x, (1, k), (1, s), (0, _one(padding, "padding", "avg_pool1d")),
                       ceil_mode, count_include_pad)
    return _back(out, batched)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) (or (C, H, W)) with probability ``p``, scale the
    rest by 1/(1−p); identity when not training."""
    _check_tensor(input, "dropout2d")
    p = _check_p(p, "dropout2d")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input, got shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    if not is_floating(input.dtype):
        raise TypeError(f"dropout2d needs a floating point input, got dtype {input.dtype}")
    xp = get_array_module(input.array)
    mask_shape = tuple(input.shape[:-2]) + (1, 1)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    with backend.device_context(input.device):
        keep = backend.rng(input.device).random(mask_shape) >= p
        mask = xp.asarray(keep, dtype=input.dtype) * input.dtype.type(scale)
    return input.mul_(Tensor._wrap(mask)) if inplace else input * Tensor._wrap(mask)


class MaxPool1d(Module):
    """``nn.MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, ...)``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices = V.flag("return_indices", return_indices, where="MaxPool1d")
        self.ceil_mode = V.flag("ceil_mode", ceil_mode, where="MaxPool1d")

    def forward(self, input: Tensor) -> Tensor:
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """``nn.AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, ...)``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = V.flag("ceil_mode", ceil_mode, where="AvgPool1d")
        self.count_include_pad = V.flag("count_include_pad", count_include_pad,
                                        where="AvgPool1d")

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Dropout2d(Module):
    """Channel-wise dropout (``nn.Dropout2d(p=0.5)``); identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = _check_p(p, "Dropout2d")
        self.inplace = V.flag("inplace", inplace, where="Dropout2d")

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
