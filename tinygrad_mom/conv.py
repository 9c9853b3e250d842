"""Convolution and pooling primitives (NCHW API), built on strided window views and one GEMM.

Conv2d works on channels-last (NHWC) memory: im2col is a zero-copy ``as_strided`` view of the
padded input with shape (N, Ho, Wo, kh, kw, C), reshaped into (N·Ho·Wo, kh·kw·C) rows, and one
plain 2-D GEMM against the weights gives the output in NHWC memory. The result is returned as an
(N, C, H, W) view of that memory (as PyTorch's channels_last), which ReLU, pooling and the next
conv keep, so no transposing copies are made between layers. Backward is one GEMM for the weight
gradient (reusing the forward's rows) and one batched GEMM plus one strided add per kernel offset
for the input gradient (col2im by accumulation, never ``add.at``). Pooling loops over the kernel
offsets with strided views. Everything stays in the input's dtype (float32 in, float32 out).

The kernels are plain functions on arrays; the Function classes only wire them together so that
every backward is itself differentiable (``create_graph=True``): conv2d's backward calls
:class:`Conv2dParamGrad` and :class:`ConvTranspose2d` through ``Function.call``, and each of
those differentiates into conv2d and the other; max pooling's gradient (:class:`MaxPoolScatter`)
and its gather by the same argmax (:class:`MaxPoolGather`) are each other's gradients, as are
average pooling and :class:`AvgPoolScatter`.
"""

from __future__ import annotations

import numpy as np

from . import _validation as V
from . import backend, workspace
from .backend import get_array_module
from .primitives import Permute
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


# ----------------------------------------------------------------------------------------------
# raw-array kernels (numpy/cupy in, numpy/cupy out; nothing recorded)


def _conv_forward(x, weight, bias, stride, pads, dilation):
    """conv2d on arrays: ``(out, cols, wmat)``; ``cols`` are the im2col rows (with a ones column
    when there is a bias), ``wmat`` the (O, kh·kw·C) weights in the rows' order."""
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
    else:
        # An NCHW input with few channels (a network's images): im2col transposed, as
        # (kh·kw·C, N·Ho·Wo) rows of Wo contiguous elements, instead of NHWC runs of only
        # kw·C elements (C = 3: 9 floats per run, 4x slower). ``cols`` is its (rows, K)
        # transposed view, which BLAS takes as it is.
        xpad = _padded_same_layout(x, pads)
        windows = _nchw_windows_t(xpad, (kh, kw), stride, dilation, out_hw)
        cols = workspace.empty(xp, (k + extra, rows), xpad.dtype).T
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
    return out.reshape(n, out_hw[0], out_hw[1], o).transpose(0, 3, 1, 2), cols, wmat


def _conv_cols(x, kernel, stride, pads, dilation, out_hw, with_ones):
    """The (N·Ho·Wo, kh·kw·C [+ a ones column]) im2col rows of ``x``, without a GEMM."""
    xp = get_array_module(x)
    xh = _nhwc_padded(x, pads)
    windows = _nhwc_windows(xh, kernel, stride, dilation, out_hw)
    k = kernel[0] * kernel[1] * x.shape[1]
    cols = xp.empty((windows.shape[0] * out_hw[0] * out_hw[1], k + with_ones), dtype=x.dtype)
    cols[:, :k].reshape(windows.shape)[...] = windows
    if with_ones:
        cols[:, k] = 1
    return cols


def _conv_param_grad(cols, gy):
    """(O, kh·kw·C [+ 1]) = (cols.T @ gy rows).T: the weight gradient in the rows' order, and
    the bias gradient as the last column when ``cols`` carries the ones column."""
    n, o = gy.shape[:2]
    per_sample = gy.shape[2] * gy.shape[3]
    # (N·Ho·Wo, O) rows: a free view when gy is channels-last, as a conv's output is.
    g2 = gy.transpose(0, 2, 3, 1).reshape(-1, o)
    chunks = _batch_chunks(n, per_sample * cols.shape[1] * cols.itemsize)
    rows = [slice(lo * per_sample, hi * per_sample) for lo, hi in chunks]
    # (cols.T @ gy).T: the rows as the left operand run faster in OpenBLAS (measured 1.41 ->
    # 1.24 ms on the seeds' first conv, 3.05 -> 2.98 ms on the second, 0.54 -> 0.49 ms on the
    # third).
    gw_all = (cols[rows[0]].T @ g2[rows[0]]).T
    for part in rows[1:]:
        gw_all += (cols[part].T @ g2[part]).T
    return gw_all


def _conv_input_grad(gy, wmat, padded_shape, kernel, stride, pads, dilation):
    """col2im of ``gy @ wmat``: the (N, C, H, W) input gradient of a conv (a transposed conv).

    One batched GEMM gives a contiguous (N·Ho·Wo, C) block per kernel offset, so that each
    col2im add runs over long contiguous rows; one strided add per offset, never ``add.at``.
    """
    xp = get_array_module(gy)
    n, o = gy.shape[:2]
    out_hw = gy.shape[2:]
    kh, kw = kernel
    c = padded_shape[3]
    g2 = gy.transpose(0, 2, 3, 1).reshape(-1, o)
    per_sample = out_hw[0] * out_hw[1]
    chunks = _batch_chunks(n, per_sample * (kh * kw * c + 1) * g2.itemsize)
    per_offset = xp.ascontiguousarray(wmat.reshape(o, kh * kw, c).transpose(1, 0, 2))
    gxh = workspace.zeros(xp, padded_shape, xp.result_type(g2.dtype, wmat.dtype))
    offsets = _offset_slices(kernel, stride, dilation, out_hw)
    for lo, hi in chunks:
        gcols = _batched_matmul(xp, g2[lo * per_sample : hi * per_sample], per_offset)
        gcols = gcols.reshape(kh * kw, hi - lo, out_hw[0], out_hw[1], c)  # (kh·kw, rows, C)
        for i, (hs, ws) in enumerate(offsets):
            gxh[lo:hi, hs, ws] += gcols[i]
        del gcols  # before the next chunk's: one chunk's buffer alive, not two
    (pt, pb), (pl, pr) = pads
    return gxh[:, pt : padded_shape[1] - pb, pl : padded_shape[2] - pr].transpose(0, 3, 1, 2)


def _max_pool_scatter(gy, idx, geometry):
    """Route ``gy`` to each window's selected offset ``idx`` (max pooling's input gradient)."""
    xp = get_array_module(gy)
    padded_shape, channels_last, kernel, stride, out_hw, pads, slices = geometry
    overlapping = stride[0] < kernel[0] or stride[1] < kernel[1]
    # When the windows tile the input (stride == kernel), every element they cover is
    # written exactly once below: zero only the strips past the last window (an odd size).
    tiled = tuple(stride) == tuple(kernel)
    gx = _new(xp, padded_shape, gy.dtype, channels_last, zero=not tiled)
    if tiled:
        h_end, w_end = kernel[0] * out_hw[0], kernel[1] * out_hw[1]
        gx[:, :, h_end:] = 0
        gx[:, :, :h_end, w_end:] = 0
    idx_type = idx.dtype.type
    for k, (hs, ws) in enumerate(slices):
        hit = idx == idx_type(k)
        if overlapping:
            gx[:, :, hs, ws] += gy * hit
        else:  # each element is in at most one window: write, don't accumulate
            xp.multiply(gy, hit, out=gx[:, :, hs, ws])
    return _unpad(gx, pads)


def _max_pool_gather(x, idx, geometry):
    """Each window's element at offset ``idx``: the adjoint of :func:`_max_pool_scatter`."""
    xp = get_array_module(x)
    _, _, _, _, _, pads, slices = geometry
    padded = _padded_same_layout(x, pads)
    out = xp.zeros_like(idx, dtype=x.dtype)
    idx_type = idx.dtype.type
    for k, (hs, ws) in enumerate(slices):
        out += padded[:, :, hs, ws] * (idx == idx_type(k))
    return out


def _avg_pool_scatter(gy, geometry):
    """Spread each ``gy`` evenly over its window (average pooling's input gradient)."""
    xp = get_array_module(gy)
    padded_shape, channels_last, kernel, stride, pads, slices = geometry
    share = gy / len(slices)
    gx = _new(xp, padded_shape, gy.dtype, channels_last)
    for hs, ws in slices:
        gx[:, :, hs, ws] += share
    return _unpad(gx, pads)


# ----------------------------------------------------------------------------------------------
# primitives. Their backward passes call each other through ``Function.call`` (arrays in first
# order, Tensors under create_graph), which is what makes convolution and pooling twice
# differentiable: the derivatives of a conv are a transposed conv and a weight-gradient
# correlation, whose own derivatives are convs and transposed convs again.


def _crop(y, hw):
    """``y`` cut to spatial size ``hw``: a conv of a transposed conv's output can reach past
    the original output when ``output_padding`` ≥ stride (the extra rows are dropped)."""
    if tuple(y.shape[2:]) == tuple(hw):
        return y
    return y[:, :, : hw[0], : hw[1]]


def _split_param_grad(packed, weight_shape, with_bias):
    """(O, kh·kw·C [+ 1]) → the (O, C, kh, kw) weight gradient and the bias gradient."""
    xp = get_array_module(packed)
    o, c, kh, kw = weight_shape
    k = kh * kw * c
    gw = Permute.call(packed[:, :k].reshape(o, kh, kw, c), dims=(0, 3, 1, 2))
    gb = xp.ascontiguousarray(packed[:, k]) if with_bias else None
    return xp.ascontiguousarray(gw), gb


class Conv2d(Function):
    """Convolution as one GEMM per pass on channels-last (NHWC) im2col rows.

    Forward: ``cols (N·Ho·Wo, kh·kw·C) @ W (kh·kw·C, O)`` gives the output directly in NHWC
    memory, returned as an (N, O, Ho, Wo) view: no transposing copy, and the next ReLU, pool and
    conv keep that layout, so the next im2col reads contiguous channel runs. Backward is two
    primitives: :class:`Conv2dParamGrad` (one GEMM on the forward's ``cols``, whose extra column
    is the bias gradient when the rows carry the bias's ones column) and
    :class:`ConvTranspose2d` for the input gradient (one GEMM + kh·kw strided adds), skipped
    when the input needs no gradient (a network's first layer). ``cols`` and ``wmat`` are
    caches of the saved input and weight, handed to those primitives so first order computes
    nothing twice.
    """

    def forward(self, x, weight, bias=None, *, stride, pads, dilation):
        out, cols, wmat = _conv_forward(x, weight, bias, stride, pads, dilation)
        self.save_for_backward(x, weight)
        self.cols, self.wmat = cols, wmat
        self.geometry = (stride, pads, dilation)
        return out

    def backward(self, gy):
        x, weight = self.saved
        stride, pads, dilation = self.geometry
        has_bias = len(self.needs_input_grad) > 2
        gx = gw = gb = None
        if self.needs_input_grad[1] or (has_bias and self.needs_input_grad[2]):
            packed = Conv2dParamGrad.call(
                x, gy, kernel=tuple(weight.shape[2:]), stride=stride, pads=pads,
                dilation=dilation, with_bias=has_bias, cols=self.cols,
            )
            gw, gb = _split_param_grad(packed, weight.shape, has_bias)
            gw = gw if self.needs_input_grad[1] else None
        if self.needs_input_grad[0]:
            gx = ConvTranspose2d.call(
                gy, weight, in_hw=tuple(x.shape[2:]), stride=stride, pads=pads,
                dilation=dilation, wmat=self.wmat,
            )
        return (gx, gw, gb) if has_bias else (gx, gw)


class Conv2dParamGrad(Function):
    """The weight (and bias) gradient of ``conv2d(x, ·)`` for upstream ``gy``, packed as the
    GEMM gives it: (O, kh·kw·C [+ 1 bias column]). Bilinear in (x, gy), so its own gradients
    are a transposed conv (for x) and a conv with the packed direction as weights (for gy)."""

    def forward(self, x, gy, *, kernel, stride, pads, dilation, with_bias, cols=None):
        if cols is None:  # no forward rows to reuse (a second-order pass)
            cols = _conv_cols(x, kernel, stride, pads, dilation, gy.shape[2:], int(with_bias))
        self.save_for_backward(x, gy)
        self.geometry = (kernel, stride, pads, dilation, with_bias)
        return _conv_param_grad(cols, gy)

    def backward(self, gp):
        x, gy = self.saved
        kernel, stride, pads, dilation, with_bias = self.geometry
        weight_shape = (gy.shape[1], x.shape[1], *kernel)
        gw, gb = _split_param_grad(gp, weight_shape, with_bias)
        gx = ggy = None
        if self.needs_input_grad[0]:
            gx = ConvTranspose2d.call(gy, gw, in_hw=tuple(x.shape[2:]), stride=stride,
                                      pads=pads, dilation=dilation)
        if self.needs_input_grad[1]:
            params = (gw,) if gb is None else (gw, gb)
            ggy = _crop(Conv2d.call(x, *params, stride=stride, pads=pads, dilation=dilation),
                        gy.shape[2:])
        return gx, ggy


class ConvTranspose2d(Function):
    """Transposed convolution: col2im of ``x @ W`` for weights (C_in, C_out, kh, kw).

    It is conv2d's input gradient (``in_hw`` is the size of the conv input it reconstructs),
    and ``F.conv_transpose2d``. Its gradients are a conv2d (for the input) and a
    :class:`Conv2dParamGrad` (for the weight). ``wmat`` is the weight in the rows' order when
    a forward conv already made it.
    """

    def forward(self, gy, weight, *, in_hw, stride, pads, dilation, wmat=None):
        o, c, kh, kw = weight.shape
        if wmat is None:
            wmat = weight.transpose(0, 2, 3, 1).reshape(o, kh * kw * c)
        padded_shape = (gy.shape[0], in_hw[0] + sum(pads[0]), in_hw[1] + sum(pads[1]), c)
        self.save_for_backward(gy, weight)
        self.geometry = (stride, pads, dilation)
        return _conv_input_grad(gy, wmat, padded_shape, (kh, kw), stride, pads, dilation)

    def backward(self, ggx):
        gy, weight = self.saved
        stride, pads, dilation = self.geometry
        g_gy = gw = None
        if self.needs_input_grad[0]:
            g_gy = _crop(Conv2d.call(ggx, weight, stride=stride, pads=pads, dilation=dilation),
                         gy.shape[2:])
        if self.needs_input_grad[1]:
            packed = Conv2dParamGrad.call(
                ggx, gy, kernel=tuple(weight.shape[2:]), stride=stride, pads=pads,
                dilation=dilation, with_bias=False,
            )
            gw, _ = _split_param_grad(packed, weight.shape, False)
        return g_gy, gw


class MaxPool2d(Function):
    """Max pooling by a running maximum over the kernel offsets (strided views, no copies).

    Each output keeps the offset of its window's first maximum (PyTorch's tie rule) in a uint8
    array, and backward routes ``gy`` there with one masked write per offset
    (:class:`MaxPoolScatter`, whose gradient gathers by the same offsets). The output and the
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
        self.idx = idx  # a constant: the gradient's routing
        layout = (padded.shape, _is_channels_last(padded))
        self.geometry = (*layout, kernel, stride, out_hw, pads, slices)
        return best

    def backward(self, gy):
        return MaxPoolScatter.call(gy, idx=self.idx, geometry=self.geometry)


class MaxPoolScatter(Function):
    """Max pooling's input gradient: ``gy`` routed to the selected offsets. Linear in ``gy``;
    its gradient is the gather by the same offsets (:class:`MaxPoolGather`)."""

    def forward(self, gy, *, idx, geometry):
        self.idx, self.geometry = idx, geometry
        return _max_pool_scatter(gy, idx, geometry)

    def backward(self, ggx):
        return MaxPoolGather.call(ggx, idx=self.idx, geometry=self.geometry)


class MaxPoolGather(Function):
    """Each window's element at the selected offset; the adjoint of :class:`MaxPoolScatter`."""

    def forward(self, x, *, idx, geometry):
        self.idx, self.geometry = idx, geometry
        return _max_pool_gather(x, idx, geometry)

    def backward(self, gy):
        return MaxPoolScatter.call(gy, idx=self.idx, geometry=self.geometry)


class AvgPool2d(Function):
    """Average pooling; padded zeros count in the divisor (PyTorch's count_include_pad=True).

    Linear: its gradient (:class:`AvgPoolScatter`) spreads ``gy`` over the windows, and that
    one's gradient is average pooling again."""

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
        return AvgPoolScatter.call(gy, geometry=self.geometry)


class AvgPoolScatter(Function):
    """Average pooling's input gradient; its own gradient is average pooling."""

    def forward(self, gy, *, geometry):
        self.geometry = geometry
        return _avg_pool_scatter(gy, geometry)

    def backward(self, ggx):
        _, _, kernel, stride, pads, _ = self.geometry
        return AvgPool2d.call(ggx, kernel=kernel, stride=stride, pads=pads)


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


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
) -> Tensor:
    """2-D transposed convolution of (N, C_in, H, W) with (C_in, C_out, kh, kw) weights.

    The adjoint of conv2d (its input gradient): output size
    ``(H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1``, as PyTorch.
    """
    _check_input(input, "conv_transpose2d")
    if weight.ndim != 4:
        raise ValueError(
            "conv_transpose2d weight must be 4-D (in_channels, out_channels, kh, kw), got shape "
            f"{tuple(weight.shape)}"
        )
    if input.shape[1] != weight.shape[0]:
        raise ValueError(
            f"conv_transpose2d: input has {input.shape[1]} channels but the weight expects "
            f"{weight.shape[0]} (in_channels, weight dimension 0); input shape "
            f"{tuple(input.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[1],):
        raise ValueError(
            f"conv_transpose2d bias must have shape ({weight.shape[1]},), got {tuple(bias.shape)}"
        )
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"stride and dilation must be >= 1, got {stride} and {dilation}")
    if isinstance(padding, str):
        raise ValueError(
            f"conv_transpose2d: padding must be an int or a pair of ints, got {padding!r}"
        )
    pad = _pair(padding, "padding")
    out_pad = _pair(output_padding, "output_padding")
    if min(pad) < 0 or min(out_pad) < 0:
        raise ValueError(
            f"conv_transpose2d: padding and output_padding must be non-negative, got {pad} and "
            f"{out_pad}"
        )
    kernel = tuple(weight.shape[2:])
    in_hw = []
    for i, axis in enumerate("HW"):
        if out_pad[i] >= max(stride[i], dilation[i]):
            raise ValueError(
                f"conv_transpose2d: output_padding {out_pad} must be smaller than either stride "
                f"{stride} or dilation {dilation} (along {axis})"
            )
        size = ((input.shape[2 + i] - 1) * stride[i] - 2 * pad[i]
                + dilation[i] * (kernel[i] - 1) + out_pad[i] + 1)
        if size < 1:
            raise ValueError(
                f"conv_transpose2d: the output size along {axis} would be {size} (input "
                f"{tuple(input.shape)}, kernel {kernel}, stride {stride}, padding {pad}); it must "
                "be at least 1"
            )
        in_hw.append(size)
    out = ConvTranspose2d.apply(
        input, weight, in_hw=tuple(in_hw), stride=stride, pads=((pad[0],) * 2, (pad[1],) * 2),
        dilation=dilation,
    )
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


def _single(value, name: str) -> int:
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple of ints, got {value!r}")
        value = value[0]
    if not V.is_int(value):
        raise TypeError(f"{name} must be an int or a 1-tuple of ints, got {V.describe(value)}")
    return int(value)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
) -> Tensor:
    """1-D cross-correlation over an (N, C, L) input with (O, C, k) weights.

    Runs as conv2d on a height-1 input, so it shares conv2d's kernels and derivatives.
    """
    V.tensor_arg("input", input, "conv1d")
    if input.ndim != 3:
        raise ValueError(
            f"conv1d expects a 3-D input of shape (N, C, L), got shape {tuple(input.shape)}"
        )
    if weight.ndim != 3:
        raise ValueError(f"conv1d weight must be 3-D (O, C, k), got shape {tuple(weight.shape)}")
    if input.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv1d: input has {input.shape[1]} channels but the weight expects "
            f"{weight.shape[1]} (in_channels); input shape {tuple(input.shape)}"
        )
    stride, dilation = _single(stride, "stride"), _single(dilation, "dilation")
    pad = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), pad, (1, dilation))
    return out.squeeze(2)


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
