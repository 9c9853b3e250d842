"""Convolution and pooling primitives (NCHW), built on strided window views and one GEMM.

``im2col`` here is a zero-copy ``as_strided`` view of the padded input with shape
(N, C, kh, kw, Ho, Wo); a single ``tensordot`` against the weights is the GEMM. The backward
pass scatters window gradients back with one strided add per kernel offset (col2im by
accumulation, never ``add.at``).
"""

from __future__ import annotations

import numpy as np

from . import backend
from .backend import get_array_module
from .tensor import Function, Tensor


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        pair = tuple(value)
    else:
        pair = (value, value)
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _padding(padding, kernel, dilation, stride) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) from an int, a pair, 'valid' or 'same' (PyTorch's split)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return (ph, ph), (pw, pw)


def _pad(x, pads, value=0.0):
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return x
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), mode="constant", constant_values=value)


def _out_size(size, pad, kernel, stride, dilation) -> int:
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def _windows(xp_padded, kernel, stride, dilation, out_hw):
    """A (N, C, kh, kw, Ho, Wo) read-only view of every receptive field."""
    n, c = xp_padded.shape[:2]
    sn, sc, sh, sw = xp_padded.strides
    shape = (n, c, kernel[0], kernel[1], out_hw[0], out_hw[1])
    strides = (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    return backend.as_strided(xp_padded, shape, strides)


def _col2im(cols, padded_shape, kernel, stride, dilation, out_hw):
    """Sum (N, C, kh, kw, Ho, Wo) window gradients back into a padded-input-shaped array."""
    xp = get_array_module(cols)
    gx = xp.zeros(padded_shape, dtype=cols.dtype)
    ho, wo = out_hw
    for a in range(kernel[0]):
        top = a * dilation[0]
        for b in range(kernel[1]):
            left = b * dilation[1]
            gx[:, :, top : top + stride[0] * ho : stride[0], left : left + stride[1] * wo : stride[1]] += cols[
                :, :, a, b
            ]
    return gx


def _unpad(g, pads):
    (pt, pb), (pl, pr) = pads
    h, w = g.shape[2:]
    return g[:, :, pt : h - pb, pl : w - pr]


class Conv2d(Function):
    def forward(self, x, weight, bias=None, *, stride, pads, dilation):
        xp = get_array_module(x)
        kernel = weight.shape[2:]
        padded = _pad(x, pads)
        out_hw = (
            _out_size(x.shape[2], pads[0], kernel[0], stride[0], dilation[0]),
            _out_size(x.shape[3], pads[1], kernel[1], stride[1], dilation[1]),
        )
        cols = _windows(padded, kernel, stride, dilation, out_hw)
        # (O, C·kh·kw) · (C·kh·kw, N·Ho·Wo): tensordot makes the im2col copy once
        out = xp.tensordot(weight, cols, axes=([1, 2, 3], [1, 2, 3])).transpose(1, 0, 2, 3)
        if bias is not None:
            out = out + bias.reshape(1, -1, 1, 1)
        self.save_for_backward(cols, weight)
        self.geometry = (padded.shape, kernel, stride, dilation, out_hw, pads)
        return xp.ascontiguousarray(out)

    def backward(self, gy):
        xp = get_array_module(gy)
        cols, weight = self.saved
        padded_shape, kernel, stride, dilation, out_hw, pads = self.geometry
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gcols = xp.tensordot(weight, gy, axes=([0], [1]))  # (C, kh, kw, N, Ho, Wo)
            gcols = gcols.transpose(3, 0, 1, 2, 4, 5)
            gx = _unpad(_col2im(gcols, padded_shape, kernel, stride, dilation, out_hw), pads)
        if self.needs_input_grad[1]:
            gw = xp.tensordot(gy, cols, axes=([0, 2, 3], [0, 4, 5]))
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.sum(axis=(0, 2, 3))
        return gx, gw, gb


class MaxPool2d(Function):
    def forward(self, x, kernel, stride, pads):
        xp = get_array_module(x)
        padded = _pad(x, pads, value=-np.inf)
        out_hw = tuple(_out_size(x.shape[2 + i], pads[i], kernel[i], stride[i], 1) for i in range(2))
        win = _windows(padded, kernel, stride, (1, 1), out_hw)  # (N, C, kh, kw, Ho, Wo)
        flat = win.reshape(win.shape[0], win.shape[1], kernel[0] * kernel[1], *out_hw)
        self.argmax = flat.argmax(axis=2)
        self.geometry = (padded.shape, kernel, stride, out_hw, pads)
        return xp.take_along_axis(flat, self.argmax[:, :, None], axis=2)[:, :, 0]

    def backward(self, gy):
        xp = get_array_module(gy)
        padded_shape, kernel, stride, out_hw, pads = self.geometry
        gx = xp.zeros(padded_shape, dtype=gy.dtype)
        ho, wo = out_hw
        for a in range(kernel[0]):
            for b in range(kernel[1]):
                hit = xp.where(self.argmax == a * kernel[1] + b, gy, 0)
                gx[:, :, a : a + stride[0] * ho : stride[0], b : b + stride[1] * wo : stride[1]] += hit
        return _unpad(gx, pads)


class AvgPool2d(Function):
    """Average pooling; padded zeros count in the divisor (PyTorch's count_include_pad=True)."""

    def forward(self, x, kernel, stride, pads):
        padded = _pad(x, pads)
        out_hw = tuple(_out_size(x.shape[2 + i], pads[i], kernel[i], stride[i], 1) for i in range(2))
        win = _windows(padded, kernel, stride, (1, 1), out_hw)
        self.geometry = (padded.shape, kernel, stride, out_hw, pads)
        return win.mean(axis=(2, 3))

    def backward(self, gy):
        xp = get_array_module(gy)
        padded_shape, kernel, stride, out_hw, pads = self.geometry
        share = gy / (kernel[0] * kernel[1])
        cols = xp.broadcast_to(share[:, :, None, None], (*gy.shape[:2], *kernel, *out_hw))
        return _unpad(_col2im(cols, padded_shape, kernel, stride, (1, 1), out_hw), pads)


def _check_input(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a Tensor input, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{name} expects a 4-D input of shape (N, C, H, W), got shape {tuple(x.shape)}"
        )


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
) -> Tensor:
    """2-D cross-correlation over an (N, C, H, W) input with (O, C, kh, kw) weights."""
    _check_input(input, "conv2d")
    if weight.ndim != 4:
        raise ValueError(f"conv2d weight must be 4-D (O, C, kh, kw), got shape {tuple(weight.shape)}")
    if input.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d: input has {input.shape[1]} channels but the weight expects "
            f"{weight.shape[1]} (in_channels); input shape {tuple(input.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"conv2d bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"stride and dilation must be >= 1, got {stride} and {dilation}")
    kernel = tuple(weight.shape[2:])
    pads = _padding(padding, kernel, dilation, stride)
    for i, axis in enumerate("HW"):
        span = dilation[i] * (kernel[i] - 1) + 1
        if input.shape[2 + i] + sum(pads[i]) < span:
            raise ValueError(
                f"conv2d: kernel size {kernel} (dilated extent {span} along {axis}) is larger than "
                f"the padded input {input.shape[2 + i] + sum(pads[i])} along {axis}"
            )
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, pads=pads, dilation=dilation)


def _pool_args(x, kernel_size, stride, padding, name):
    _check_input(x, name)
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    pad = _pair(padding, "padding")
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"{name}: kernel_size and stride must be >= 1, got {kernel} and {stride}")
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {pad} must be at most half the kernel size {kernel}")
    pads = ((pad[0], pad[0]), (pad[1], pad[1]))
    for i, axis in enumerate("HW"):
        if x.shape[2 + i] + 2 * pad[i] < kernel[i]:
            raise ValueError(
                f"{name}: kernel size {kernel} is larger than the padded input along {axis} "
                f"({x.shape[2 + i] + 2 * pad[i]})"
            )
    return kernel, stride, pads


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Max pooling over (N, C, H, W); ``stride`` defaults to ``kernel_size``."""
    kernel, stride, pads = _pool_args(input, kernel_size, stride, padding, "max_pool2d")
    return MaxPool2d.apply(input, kernel=kernel, stride=stride, pads=pads)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """Average pooling over (N, C, H, W); ``stride`` defaults to ``kernel_size``."""
    kernel, stride, pads = _pool_args(input, kernel_size, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, pads=pads)
