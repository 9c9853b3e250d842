"""Convolution and pooling primitives (NCHW API), built on strided window views and one GEMM.

Conv2d works on channels-last (NHWC) memory: im2col is a zero-copy ``as_strided`` view of the
padded input with shape (N, Ho, Wo, kh, kw, C), reshaped into (N·Ho·Wo, kh·kw·C) rows, and one
plain 2-D GEMM against the weights gives the output in NHWC memory. The result is returned as an
(N, C, H, W) view of that memory (as PyTorch's channels_last), which ReLU, pooling and the next
conv keep, so no transposing copies are made between layers. Backward is one GEMM for the weight
gradient (reusing the forward's rows) and one batched GEMM plus one strided add per kernel offset
for the input gradient (col2im by accumulation, never ``add.at``). Pooling loops over the kernel
offsets with strided views. Everything stays in the input's dtype (float32 in, float32 out).
"""

from __future__ import annotations

import numpy as np

from . import _validation as V
from . import backend, workspace
from .backend import get_array_module
from .tensor import Function, Tensor, is_floating


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        pair = tuple(value)
    else:
        pair = (value, value)
    for v in pair:
        if not V.is_int(v):
            raise TypeError(f"{name} must be an int or a pair of ints, got {V.describe(value)}")
    return int(pair[0]), int(pair[1])


def _padding(padding, kernel, dilation, stride) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) from an int, a pair, 'valid' or 'same' (PyTorch's split)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return (ph, ph), (pw, pw)


_CHUNK_BYTES = 16 << 20  # im2col rows per GEMM: what a 32 MiB L3 keeps hot between passes


def _batch_chunks(n: int, bytes_per_sample: int) -> list[tuple[int, int]]:
    """Sample ranges whose im2col rows fit ``_CHUNK_BYTES``: one range for a small batch.

    Large batches are processed chunk by chunk so that rows written by the im2col copy are
    read by the GEMM (and GEMM results by col2im) while still in cache.
    """
    step = max(1, _CHUNK_BYTES // max(bytes_per_sample, 1))
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)] or [(0, 0)]


def _out_size(size, pad, kernel, stride, dilation) -> int:
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def _is_channels_last(x) -> bool:
    """Whether an (N, C, H, W) array is laid out in memory as a C-contiguous (N, H, W, C)."""
    return x.transpose(0, 2, 3, 1).flags.c_contiguous


def _nhwc_padded(x, pads, value=0.0):
    """``x`` (N, C, H, W) as a C-contiguous (N, Hp, Wp, C) array padded with ``value``.

    No copy at all when ``x`` is already channels-last and unpadded, which a conv output is.
    """
    xp = get_array_module(x)
    (pt, pb), (pl, pr) = pads
    xt = x.transpose(0, 2, 3, 1)
    if pt == pb == pl == pr == 0:
        if xt.flags.c_contiguous:
            return xt
        out = workspace.empty(xp, xt.shape, x.dtype)
        out[...] = xt
        return out
    n, h, w, c = xt.shape
    out = workspace.empty(xp, (n, h + pt + pb, w + pl + pr, c), x.dtype)
    # Write the border, then the interior: every element once.
    out[:, :pt] = value
    out[:, pt + h :] = value
    out[:, pt : pt + h, :pl] = value
    out[:, pt : pt + h, pl + w :] = value
    out[:, pt : pt + h, pl : pl + w] = xt
    return out


def _padded_same_layout(x, pads, value=0.0):
    """``x`` padded with ``value`` along H and W, keeping its memory layout (NCHW or NHWC)."""
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return x
    if _is_channels_last(x):
        return _nhwc_padded(x, pads, value).transpose(0, 3, 1, 2)
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = workspace.empty(xp, (n, c, h + pt + pb, w + pl + pr), x.dtype)
    out.fill(value)
    out[:, :, pt : pt + h, pl : pl + w] = x
    return out


def _pool_out_hw(shape, kernel, stride, pads) -> tuple[int, int]:
    return tuple(_out_size(shape[2 + i], pads[i], kernel[i], stride[i], 1) for i in range(2))


def _offset_slices(kernel, stride, dilation, out_hw):
    """Per kernel offset (a, b): the H and W slices of the padded input that it reads."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    return [
        (
            slice(a * dh, a * dh + sh * (ho - 1) + 1, sh),
            slice(b * dw, b * dw + sw * (wo - 1) + 1, sw),
        )
        for a in range(kh)
        for b in range(kw)
    ]


def _nhwc_windows(xh, kernel, stride, dilation, out_hw):
    """A read-only (N, Ho, Wo, kh, kw, C) view of every receptive field of NHWC ``xh``.

    Its last two axes (kw, C) are adjacent in memory when the dilation is 1, so the im2col copy
    ``reshape(N·Ho·Wo, kh·kw·C)`` moves contiguous runs of kw·C elements.
    """
    sn, sh, sw, sc = xh.strides
    shape = (xh.shape[0], out_hw[0], out_hw[1], kernel[0], kernel[1], xh.shape[3])
    strides = (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc)
    return backend.as_strided(xh, shape, strides)


def _nchw_windows_t(x, kernel, stride, dilation, out_hw):
    """A read-only (kh, kw, C, N, Ho, Wo) view of every receptive field of NCHW ``x``.

    Its last axis runs along W, so the transposed im2col copy moves runs of Wo elements.
    """
    sn, sc, sh, sw = x.strides
    shape = (kernel[0], kernel[1], x.shape[1], x.shape[0], out_hw[0], out_hw[1])
    strides = (sh * dilation[0], sw * dilation[1], sc, sn, sh * stride[0], sw * stride[1])
    return backend.as_strided(x, shape, strides)


class Conv2d(Function):
    """Convolution as one GEMM per pass on channels-last (NHWC) im2col rows.

    Forward: ``cols (N·Ho·Wo, kh·kw·C) @ W (kh·kw·C, O)`` gives the output directly in NHWC
    memory, returned as an (N, O, Ho, Wo) view: no transposing copy, and the next ReLU, pool and
    conv keep that layout, so the next im2col reads contiguous channel runs. Backward reuses the
    forward's ``cols`` for the weight gradient (one GEMM, whose extra column is the bias
    gradient when the rows carry the bias's ones column) and scatters ``gy @ W`` back with one
    strided add per kernel offset (one GEMM + kh·kw adds). The input gradient is skipped when the
    input does not need one (a network's first layer).
    """

    def forward(self, x, weight, bias=None, *, stride, pads, dilation):
        n = x.shape[0]
        o, c, kh, kw = weight.shape
        out_hw = (
            _out_size(x.shape[2], pads[0], kh, stride[0], dilation[0]),
            _out_size(x.shape[3], pads[1], kw, stride[1], dilation[1]),
        )
        rows, k = n * out_hw[0] * out_hw[1], kh * kw * c
        # Weights in the rows' (kh, kw, C) order; a small copy next to the activations.
        wmat = weight.transpose(0, 2, 3, 1).reshape(o, k)
        xp = get_array_module(x)
        per_sample = out_hw[0] * out_hw[1]
        extra = 0 if bias is None else 1
        transposed = not _is_channels_last(x) and kw * c < out_hw[1]
        if not transposed:
            xh = _nhwc_padded(x, pads)
            windows = _nhwc_windows(xh, (kh, kw), stride, dilation, out_hw)
            cols = workspace.empty(xp, (rows, k + extra), xh.dtype)
            padded_shape = xh.shape
        else:
            # An NCHW input with few channels (a network's images): im2col transposed, as
            # (kh·kw·C, N·Ho·Wo) rows of Wo contiguous elements, instead of NHWC runs of only
            # kw·C elements (C = 3: 9 floats per run, 4x slower). ``cols`` is its (rows, K)
            # transposed view, which BLAS takes as it is.
            xpad = _padded_same_layout(x, pads)
            windows = _nchw_windows_t(xpad, (kh, kw), stride, dilation, out_hw)
            cols = workspace.empty(xp, (k + extra, rows), xpad.dtype).T
            padded_shape = (n, xpad.shape[2], xpad.shape[3], c)
        if bias is None:
            wfull = wmat
        else:
            # The bias rides in the GEMM as one more column: ones in the rows, the bias next to
            # the weights. That saves a pass over the output here, and backward's weight GEMM
            # yields the bias gradient as its last column.
            cols[:, k] = 1
            wfull = xp.concatenate([wmat, bias.reshape(o, 1)], axis=1)
        out = workspace.empty(xp, (rows, o), xp.result_type(cols.dtype, wfull.dtype))
        for lo, hi in _batch_chunks(n, per_sample * cols.shape[1] * cols.itemsize):
            part = slice(lo * per_sample, hi * per_sample)
            # the im2col copy, in place, then the GEMM on the rows while they are in cache
            if transposed:
                dst = cols[part, :k].T.reshape(windows[:, :, :, lo:hi].shape)
                dst[...] = windows[:, :, :, lo:hi]
            else:
                cols[part, :k].reshape(windows[lo:hi].shape)[...] = windows[lo:hi]
            xp.matmul(cols[part], wfull.T, out=out[part])
        self.save_for_backward(cols, wmat)
        self.geometry = (padded_shape, pads, stride, dilation, out_hw)
        return out.reshape(n, out_hw[0], out_hw[1], o).transpose(0, 3, 1, 2)

    def backward(self, gy):
        xp = get_array_module(gy)
        cols, wmat = self.saved
        padded_shape, pads, stride, dilation, out_hw = self.geometry
        n, o = gy.shape[:2]
        kh, kw = self.in_shapes[1][2:]
        c = padded_shape[3]
        # (N·Ho·Wo, O) rows: a free view when gy is channels-last, as a conv's output is.
        g2 = gy.transpose(0, 2, 3, 1).reshape(-1, o)
        gx = gw = gb = None
        k = kh * kw * c
        has_bias = len(self.needs_input_grad) > 2
        chunks = _batch_chunks(n, out_hw[0] * out_hw[1] * cols.shape[1] * cols.itemsize)
        rows = [slice(lo * out_hw[0] * out_hw[1], hi * out_hw[0] * out_hw[1]) for lo, hi in chunks]
        if self.needs_input_grad[1] or (has_bias and self.needs_input_grad[2]):
            # (O, kh·kw·C [+ 1 for the bias]), computed as (cols.T @ gy).T: the rows as the left
            # operand run faster in OpenBLAS (measured 1.41 -> 1.24 ms on the seeds' first conv,
            # 3.05 -> 2.98 ms on the second, 0.54 -> 0.49 ms on the third).
            gw_all = (cols[rows[0]].T @ g2[rows[0]]).T
            for part in rows[1:]:
                gw_all += (cols[part].T @ g2[part]).T
            if self.needs_input_grad[1]:
                gw = gw_all[:, :k].reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
                gw = xp.ascontiguousarray(gw)
            if has_bias and self.needs_input_grad[2]:
                gb = xp.ascontiguousarray(gw_all[:, k])
        if self.needs_input_grad[0]:
            # One batched GEMM giving a contiguous (N·Ho·Wo, C) block per kernel offset, so that
            # each col2im add below runs over long contiguous rows.
            per_offset = xp.ascontiguousarray(wmat.reshape(o, kh * kw, c).transpose(1, 0, 2))
            gxh = workspace.zeros(xp, padded_shape, xp.result_type(g2.dtype, wmat.dtype))
            offsets = _offset_slices((kh, kw), stride, dilation, out_hw)
            for (lo, hi), part in zip(chunks, rows, strict=True):
                gcols = _batched_matmul(xp, g2[part], per_offset)  # (kh·kw, rows, C)
                gcols = gcols.reshape(kh * kw, hi - lo, out_hw[0], out_hw[1], c)
                # col2im by accumulation: one strided add per kernel offset, never add.at.
                for i, (hs, ws) in enumerate(offsets):
                    gxh[lo:hi, hs, ws] += gcols[i]
                del gcols  # before the next chunk's: one chunk's buffer alive, not two
            (pt, pb), (pl, pr) = pads
            gx = gxh[:, pt : padded_shape[1] - pb, pl : padded_shape[2] - pr].transpose(0, 3, 1, 2)
        return gx, gw, gb


class MaxPool2d(Function):
    """Max pooling by a running maximum over the kernel offsets (strided views, no copies).

    Each output keeps the offset of its window's first maximum (PyTorch's tie rule) in a uint8
    array, and backward routes ``gy`` there with one masked write per offset. The output and the
    gradient keep the input's memory layout. A window holding a NaN outputs NaN, as in PyTorch;
    its gradient goes to the window's first maximum before the NaN, where PyTorch picks the NaN.
    """

    def forward(self, x, kernel, stride, pads):
        xp = get_array_module(x)
        padded = _padded_same_layout(x, pads, value=-np.inf)
        out_hw = _pool_out_hw(x.shape, kernel, stride, pads)
        slices = _offset_slices(kernel, stride, (1, 1), out_hw)
        hs, ws = slices[0]
        best = _copy_k(padded[:, :, hs, ws])
        # zeros_like keeps best's memory layout (channels-last after a conv): mixing layouts
        # in the loops below and in backward would make every pass a strided gather.
        idx = workspace.empty_like(best, np.uint8 if len(slices) <= 256 else np.int32)
        idx.fill(0)
        for k in range(1, len(slices)):
            hs, ws = slices[k]
            win = padded[:, :, hs, ws]
            # Strictly greater keeps the first of equal maxima. Offsets only grow along the
            # loop, so "idx = k where greater" is a branch-free maximum (np.where is slow here).
            xp.maximum(idx, xp.multiply(win > best, k, dtype=idx.dtype), out=idx)
            xp.maximum(best, win, out=best)  # NaN-propagating, as PyTorch's max pool
        self.idx = idx
        layout = (padded.shape, _is_channels_last(padded))
        self.geometry = (*layout, kernel, stride, out_hw, pads, slices)
        return best

    def backward(self, gy):
        xp = get_array_module(gy)
        padded_shape, channels_last, kernel, stride, out_hw, pads, slices = self.geometry
        overlapping = stride[0] < kernel[0] or stride[1] < kernel[1]
        # When the windows tile the input (stride == kernel), every element they cover is
        # written exactly once below: zero only the strips past the last window (an odd size).
        tiled = tuple(stride) == tuple(kernel)
        gx = _new(xp, padded_shape, gy.dtype, channels_last, zero=not tiled)
        if tiled:
            h_end, w_end = kernel[0] * out_hw[0], kernel[1] * out_hw[1]
            gx[:, :, h_end:] = 0
            gx[:, :, :h_end, w_end:] = 0
        idx_type = self.idx.dtype.type
        for k, (hs, ws) in enumerate(slices):
            hit = self.idx == idx_type(k)
            if overlapping:
                gx[:, :, hs, ws] += gy * hit
            else:  # each element is in at most one window: write, don't accumulate
                xp.multiply(gy, hit, out=gx[:, :, hs, ws])
        return _unpad(gx, pads)


class AvgPool2d(Function):
    """Average pooling; padded zeros count in the divisor (PyTorch's count_include_pad=True)."""

    def forward(self, x, kernel, stride, pads):
        padded = _padded_same_layout(x, pads)
        out_hw = _pool_out_hw(x.shape, kernel, stride, pads)
        slices = _offset_slices(kernel, stride, (1, 1), out_hw)
        hs, ws = slices[0]
        total = _copy_k(padded[:, :, hs, ws])
        for hs, ws in slices[1:]:
            total += padded[:, :, hs, ws]
        total /= len(slices)
        self.geometry = (padded.shape, _is_channels_last(padded), kernel, stride, pads, slices)
        return total

    def backward(self, gy):
        xp = get_array_module(gy)
        padded_shape, channels_last, kernel, stride, pads, slices = self.geometry
        share = gy / len(slices)
        gx = _new(xp, padded_shape, gy.dtype, channels_last)
        for hs, ws in slices:
            gx[:, :, hs, ws] += share
        return _unpad(gx, pads)


def _new(xp, shape, dtype, channels_last, zero=True):
    """A new (N, C, H, W) array, channels-last in memory when asked (to match an input)."""
    make = workspace.zeros if zero else workspace.empty
    if channels_last:
        n, c, h, w = shape
        return make(xp, (n, h, w, c), dtype).transpose(0, 3, 1, 2)
    return make(xp, shape, dtype)


def _copy_k(a):
    """A copy of ``a`` in its own memory order (``copy(order="K")``), from the workspace."""
    out = workspace.empty_like(a)
    out[...] = a
    return out


def _batched_matmul(xp, a, b):
    """``a @ b`` for a 2-D ``a`` and a 3-D ``b``: (B, M, N), written into a workspace array."""
    out = workspace.empty(xp, (b.shape[0], a.shape[0], b.shape[2]), xp.result_type(a, b))
    return xp.matmul(a, b, out=out)


def _unpad(g, pads):
    (pt, pb), (pl, pr) = pads
    h, w = g.shape[2:]
    return g[:, :, pt : h - pb, pl : w - pr]


def _check_input(x: Tensor, name: str) -> None:
    V.tensor_arg("input", x, name)
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
        raise ValueError(
            f"conv2d weight must be 4-D (O, C, kh, kw), got shape {tuple(weight.shape)}"
        )
    if input.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d: input has {input.shape[1]} channels but the weight expects "
            f"{weight.shape[1]} (in_channels); input shape {tuple(input.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"conv2d bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}"
        )
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


def _check_pool_geometry(name: str, kernel_size, stride, padding):
    """(kernel, stride, pad) pairs of a pooling, checked (layers call it at construction)."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    pad = _pair(padding, "padding")
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"{name}: kernel_size and stride must be >= 1, got {kernel} and {stride}")
    if min(pad) < 0:
        raise ValueError(f"{name}: padding must be non-negative, got {padding!r}")
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {pad} must be at most half the kernel size {kernel}")
    return kernel, stride, pad


def _pool_args(x, kernel_size, stride, padding, name):
    _check_input(x, name)
    kernel, stride, pad = _check_pool_geometry(name, kernel_size, stride, padding)
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
    if not is_floating(input.dtype):
        # PyTorch: "avg_pool2d" not implemented for 'Long'; a mean of ints is not an int
        raise TypeError(f"avg_pool2d needs a floating point input, got dtype {input.dtype}")
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, pads=pads)
