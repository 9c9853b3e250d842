"""Primitive differentiable operations: one :class:`~tinygrad_mom.tensor.Function` each.

``forward`` takes and returns raw arrays (``xp`` is numpy or cupy). ``backward(gy)`` is written
once, in NumPy's function vocabulary (``xp.where``, ``xp.sum(..., axis=, keepdims=)``,
operators, ``.reshape``, ``.shape``), so the same formula serves two cases:

* first-order backward: ``gy`` and ``self.saved`` are raw arrays and ``xp`` is numpy/cupy —
  no Tensor is built and nothing is recorded, so training pays nothing for the second case;
* ``create_graph=True``: the engine passes Tensors (``gy`` and the saved inputs/outputs, each
  connected to the graph) and ``xp`` is :mod:`tinygrad_mom.tensor_xp`, so every operation of
  the formula is itself recorded and can be differentiated again.

Rules that keep a formula differentiable: save only the inputs and the returned output
(``save_for_backward``); anything else a backward needs is a constant derived in ``forward``
(masks, indices, shapes); a step that no vocabulary function expresses calls another primitive
through ``Function.call`` (e.g. ``Cast.call(gy, dtype=...)``), which runs ``forward`` on arrays
or ``apply`` on Tensors. Broadcasting is undone by the engine, never here.
"""

from __future__ import annotations

import math

import numpy as np

from . import backend, workspace
from .backend import get_array_module
from .tensor import Function

# ==============================================================================================
# Binary arithmetic


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        ga = gy * b if self.needs_input_grad[0] else None
        gb = gy * a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        out = a**b
        self.save_for_backward(a, b, out)
        # d(a^b)/db = a^b log a, defined as 0 where a == 0 (the limit PyTorch uses)
        self.base_is_zero = a == 0
        return out

    def backward(self, gy):
        a, b, out = self.saved
        xp = get_array_module(gy)
        ga = gy * b * a ** (b - 1) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = gy * out * xp.log(xp.where(self.base_is_zero, 1, a))
        return ga, gb


class Maximum(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        # which operand won, as a constant; ties split the gradient evenly, as PyTorch does
        self.share_a = xp.where(a > b, 1.0, xp.where(a == b, 0.5, 0.0)).astype(a.dtype)
        return xp.maximum(a, b)

    def backward(self, gy):
        return gy * self.share_a, gy * (1 - self.share_a)


class Minimum(Function):
    def forward(self, a, b):
        xp = get_array_module(a)
        self.share_a = xp.where(a < b, 1.0, xp.where(a == b, 0.5, 0.0)).astype(a.dtype)
        return xp.minimum(a, b)

    def backward(self, gy):
        return gy * self.share_a, gy * (1 - self.share_a)


class Where(Function):
    def forward(self, a, b, condition):
        self.condition = condition
        return get_array_module(a).where(condition, a, b)

    def backward(self, gy):
        xp = get_array_module(gy)
        c = self.condition
        return xp.where(c, gy, 0), xp.where(c, 0, gy)


# ==============================================================================================
# Unary elementwise


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Exp(Function):
    def forward(self, x):
        out = get_array_module(x).exp(x)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        return gy * out


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).log(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / x


class Sqrt(Function):
    def forward(self, x):
        out = get_array_module(x).sqrt(x)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        return gy / (2 * out)


class Abs(Function):
    def forward(self, x):
        xp = get_array_module(x)
        self.sign = xp.sign(x)  # a constant: abs'' = 0 away from the kink, as in PyTorch
        return xp.abs(x)

    def backward(self, gy):
        return gy * self.sign


class Tanh(Function):
    def forward(self, x):
        out = get_array_module(x).tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        return gy * (1 - out * out)


class Sigmoid(Function):
    def forward(self, x):
        xp = get_array_module(x)
        # exp of a non-positive number only: no overflow for large |x|, full relative accuracy
        e = xp.exp(-xp.abs(x))
        out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        return gy * out * (1 - out)


class ReLU(Function):
    def forward(self, x):
        # A CNN's activations are large: into a workspace array (x's memory order) then.
        xp, buf = get_array_module(x), workspace.out_like(x)
        out = xp.maximum(x, 0) if buf is None else xp.maximum(x, 0, out=buf)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        # A multiply by the mask, not xp.where: NumPy's where branches per element and is ~10x
        # slower on a half-zero mask. It differs from PyTorch only for a non-finite gy where
        # out == 0 (NaN here, 0 there), i.e. once the loss is already non-finite. The mask is
        # a comparison, so relu'' = 0 under create_graph, as in PyTorch. A large NumPy gy
        # (first order) is written into a workspace array; a Tensor gy gets None here.
        buf = workspace.out_like(gy)
        if buf is None:
            return gy * (out > 0)
        return get_array_module(gy).multiply(gy, out > 0, out=buf)


class LeakyReLU(Function):
    def forward(self, x, negative_slope):
        xp = get_array_module(x)
        self.negative_slope = negative_slope
        self.positive = x > 0
        return xp.where(self.positive, x, x * negative_slope)

    def backward(self, gy):
        return get_array_module(gy).where(self.positive, gy, gy * self.negative_slope)


class Clamp(Function):
    def forward(self, x, min, max):
        xp = get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if min is not None:
            inside &= x >= min
        if max is not None:
            inside &= x <= max
        self.inside = inside  # PyTorch passes the gradient where min <= x <= max
        return xp.clip(x, min, max)

    def backward(self, gy):
        return get_array_module(gy).where(self.inside, gy, 0)


class Cast(Function):
    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, gy):
        return Cast.call(gy, dtype=self.in_dtype)


class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


class ToDevice(Function):
    def forward(self, x, device):
        self.source = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, gy):
        return ToDevice.call(gy, device=self.source)


# ==============================================================================================
# Reductions


def keepdims_shape(shape, axes) -> tuple:
    """``shape`` with the reduced ``axes`` kept as size 1 (axes: an int or a tuple)."""
    axes = (axes,) if isinstance(axes, int) else axes
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    def forward(self, x, axes, keepdim):
        self.axes = axes
        self.keepdim = keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(self, gy):
        xp = get_array_module(gy)
        shape = self.in_shapes[0]
        if not self.keepdim:
            gy = gy.reshape(keepdims_shape(shape, self.axes))
        return xp.broadcast_to(gy, shape)


class MaxAll(Function):
    """max/min over all elements; ties share the gradient evenly (PyTorch's amax rule)."""

    def forward(self, x, use_min):
        xp = get_array_module(x)
        out = x.min() if use_min else x.max()
        # a NaN max is attained by the NaN elements (PyTorch sends the gradient there)
        mask = (x == out) | (xp.isnan(x) & xp.isnan(out))
        self.share = mask / mask.sum().astype(x.dtype)  # a constant: the gradient's routing
        return out

    def backward(self, gy):
        return gy * self.share


class MaxDim(Function):
    """max/min along one dimension; the gradient goes to the selected index."""

    def forward(self, x, dim, keepdim, use_min):
        xp = get_array_module(x)
        idx = (xp.argmin if use_min else xp.argmax)(x, axis=dim, keepdims=True)
        out = xp.take_along_axis(x, idx, axis=dim)
        self.dim, self.idx = dim, idx
        self.indices = idx if keepdim else idx.squeeze(dim)
        return out if keepdim else out.squeeze(dim)

    def backward(self, gy):
        shape = self.in_shapes[0]
        positions = get_array_module(self.idx).arange(shape[self.dim])
        selected = positions.reshape([-1 if i == self.dim else 1 for i in range(len(shape))])
        return get_array_module(gy).where(selected == self.idx, gy.reshape(self.idx.shape), 0)


def _stable_shift(x, axes):
    """max over ``axes`` (kept) to subtract before exp; zeros when the reduced axes are empty."""
    if x.size == 0:  # max of an empty axis raises in numpy/cupy; any finite shift is right here
        return get_array_module(x).zeros(keepdims_shape(x.shape, axes), dtype=x.dtype)
    return x.max(axis=axes, keepdims=True)


class LogSumExp(Function):
    def forward(self, x, axes, keepdim):
        xp = get_array_module(x)
        m = _stable_shift(x, axes)
        m = xp.where(xp.isfinite(m), m, 0)  # an all -inf row gives -inf, not nan
        out = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
        self.axes = axes
        if not keepdim:
            out = out.squeeze(axes)
        self.save_for_backward(x, out)
        return out

    def backward(self, gy):
        x, out = self.saved
        xp = get_array_module(gy)
        kept = keepdims_shape(self.in_shapes[0], self.axes)
        return gy.reshape(kept) * xp.exp(x - out.reshape(kept))


class Softmax(Function):
    def forward(self, x, dim):
        xp = get_array_module(x)
        e = xp.exp(x - _stable_shift(x, dim))
        out = e / e.sum(axis=dim, keepdims=True)
        self.save_for_backward(out)
        self.dim = dim
        return out

    def backward(self, gy):
        (out,) = self.saved
        xp = get_array_module(gy)
        return out * (gy - xp.sum(gy * out, axis=self.dim, keepdims=True))


class LogSoftmax(Function):
    """log_softmax as a primitive: x − logsumexp(x), finite even for logits of ±1e4."""

    def forward(self, x, dim):
        xp = get_array_module(x)
        shifted = x - _stable_shift(x, dim)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.save_for_backward(out)
        self.dim = dim
        return out

    def backward(self, gy):
        (out,) = self.saved
        xp = get_array_module(gy)
        return gy - xp.exp(out) * xp.sum(gy, axis=self.dim, keepdims=True)


# ==============================================================================================
# Movement and indexing


class Reshape(Function):
    def forward(self, x, shape):
        return x.reshape(shape)

    def backward(self, gy):
        return gy.reshape(self.in_shapes[0])


class Permute(Function):
    def forward(self, x, dims):
        self.inverse = tuple(int(i) for i in np.argsort(dims))
        return x.transpose(dims)

    def backward(self, gy):
        return Permute.call(gy, dims=self.inverse)


class Expand(Function):
    def forward(self, x, shape):
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, gy):
        return gy  # the engine sums the expanded dimensions back down


class GetItem(Function):
    def forward(self, x, index, advanced):
        self.index, self.advanced = index, advanced
        return x[index]

    def backward(self, gy):
        return IndexScatter.call(gy, shape=self.in_shapes[0], index=self.index,
                                 advanced=self.advanced)


class IndexScatter(Function):
    """The gradient of ``x[index]``: ``gy`` written (summed, for repeated indices) into zeros of
    ``x``'s shape. Its own gradient is ``x[index]`` again, so indexing is twice differentiable."""

    def forward(self, gy, shape, index, advanced):
        self.index, self.advanced = index, advanced
        gx = get_array_module(gy).zeros(shape, dtype=gy.dtype)
        if advanced:
            backend.scatter_add(gx, index, gy)  # repeated indices accumulate
        else:
            gx[index] = gy
        return gx

    def backward(self, ggx):
        return GetItem.call(ggx, index=self.index, advanced=self.advanced)


class Cat(Function):
    def forward(self, *arrays, dim):
        self.dim = dim
        bounds = np.cumsum([0] + [a.shape[dim] for a in arrays]).tolist()
        lead = (slice(None),) * dim
        self.pieces = [lead + (slice(lo, hi),) for lo, hi in zip(bounds, bounds[1:])]
        return get_array_module(arrays[0]).concatenate(arrays, axis=dim)

    def backward(self, gy):
        return tuple(gy[piece] for piece in self.pieces)


class Pad(Function):
    def forward(self, x, widths, value):
        xp = get_array_module(x)
        self.widths = widths
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return xp.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, gy):
        return gy[self.slices]


class MatMul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, gy):
        a, b = self.saved
        ga = gy @ b.swapaxes(-1, -2) if self.needs_input_grad[0] else None
        gb = a.swapaxes(-1, -2) @ gy if self.needs_input_grad[1] else None
        return ga, gb


# ==============================================================================================
# Elementwise math (trigonometric, hyperbolic, log1p/expm1, erf, rounding)


class Sin(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).sin(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * get_array_module(gy).cos(x)


class Cos(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).cos(x)

    def backward(self, gy):
        (x,) = self.saved
        return -gy * get_array_module(gy).sin(x)


class Tan(Function):
    def forward(self, x):
        out = get_array_module(x).tan(x)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        return gy * (1 + out * out)


class Asin(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).arcsin(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / get_array_module(gy).sqrt(1 - x * x)


class Acos(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).arccos(x)

    def backward(self, gy):
        (x,) = self.saved
        return -gy / get_array_module(gy).sqrt(1 - x * x)


class Atan(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).arctan(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / (1 + x * x)


class Atan2(Function):
    """atan2(a, b), the angle of the point (b, a); a primitive because atan(a / b) loses the
    quadrant and divides by zero on the axis."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return get_array_module(a).arctan2(a, b)

    def backward(self, gy):
        a, b = self.saved
        r = a * a + b * b
        ga = gy * b / r if self.needs_input_grad[0] else None
        gb = -gy * a / r if self.needs_input_grad[1] else None
        return ga, gb


class Sinh(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).sinh(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * get_array_module(gy).cosh(x)


class Cosh(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).cosh(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * get_array_module(gy).sinh(x)


class Log1p(Function):
    """log(1 + x), accurate for tiny x (where 1 + x rounds to 1)."""

    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).log1p(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / (1 + x)


class Expm1(Function):
    """exp(x) − 1, accurate for tiny x."""

    def forward(self, x):
        out = get_array_module(x).expm1(x)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        return gy * (out + 1)


class Log2(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).log2(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / (x * math.log(2.0))


class Log10(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).log10(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy / (x * math.log(10.0))


class Erf(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.erf(x)

    def backward(self, gy):
        (x,) = self.saved
        return gy * (2 / math.sqrt(math.pi)) * get_array_module(gy).exp(-(x * x))


class _Piecewise(Function):
    """A function that is constant between jumps: its gradient is zero, as in PyTorch."""

    def backward(self, gy):
        return get_array_module(gy).zeros_like(gy)


class Floor(_Piecewise):
    def forward(self, x):
        return get_array_module(x).floor(x)


class Ceil(_Piecewise):
    def forward(self, x):
        return get_array_module(x).ceil(x)


class Trunc(_Piecewise):
    def forward(self, x):
        return get_array_module(x).trunc(x)


class Round(_Piecewise):
    def forward(self, x, decimals):
        # NumPy's round is half-to-even, as PyTorch's
        return get_array_module(x).round(x, decimals)


class Sign(_Piecewise):
    def forward(self, x):
        return get_array_module(x).sign(x)


# ==============================================================================================
# Reductions, scans and products (issue 9)


class AMax(Function):
    """max/min over several dimensions at once; ties share the gradient evenly (PyTorch's
    ``amax``/``amin`` rule)."""

    def forward(self, x, axes, keepdim, use_min):
        xp = get_array_module(x)
        out = x.min(axis=axes, keepdims=True) if use_min else x.max(axis=axes, keepdims=True)
        mask = (x == out) | (xp.isnan(x) & xp.isnan(out))
        self.share = mask / mask.sum(axis=axes, keepdims=True).astype(x.dtype)
        self.axes, self.keepdim = axes, keepdim
        return out if keepdim else out.squeeze(axes)

    def backward(self, gy):
        if not self.keepdim:
            gy = gy.reshape(keepdims_shape(self.in_shapes[0], self.axes))
        return gy * self.share


class VectorNorm(Function):
    """(Σ|x|^p)^(1/p) over ``axes`` for a finite p > 0; the gradient is 0 where the norm is 0
    (PyTorch's subgradient), with no 0/0 on the way."""

    def forward(self, x, ord, axes, keepdim):
        xp = get_array_module(x)
        a = xp.abs(x)
        if ord == 1:
            out = a.sum(axis=axes, keepdims=True)
        elif ord == 2:
            out = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            out = (a**ord).sum(axis=axes, keepdims=True) ** (1.0 / ord)
        self.sign = xp.sign(x)  # a constant, as in Abs
        self.zero = out == 0
        self.ord, self.axes, self.keepdim = ord, axes, keepdim
        if not keepdim:
            out = out.squeeze(axes)
        self.save_for_backward(x, out)
        return out

    def backward(self, gy):
        x, out = self.saved
        xp = get_array_module(gy)
        kept = keepdims_shape(self.in_shapes[0], self.axes)
        gy, out = gy.reshape(kept), out.reshape(kept)
        if self.ord == 1:
            return gy * self.sign
        safe = xp.where(self.zero, 1, out)  # the norm, with 1 where it is 0 (x is 0 there)
        if self.ord == 2:
            return gy * x / safe
        p = self.ord
        return gy * self.sign * xp.abs(x) ** (p - 1) / safe ** (p - 1)


def _reverse(ndim: int, dim: int) -> tuple:
    """The index that reverses dimension ``dim``."""
    return (slice(None),) * dim + (slice(None, None, -1),) + (slice(None),) * (ndim - dim - 1)


class CumSum(Function):
    def forward(self, x, dim):
        self.dim = dim
        return x.cumsum(axis=dim)

    def backward(self, gy):
        rev = _reverse(len(self.in_shapes[0]), self.dim)
        return CumSum.call(gy[rev], dim=self.dim)[rev]


class CumProd(Function):
    """Cumulative product. Without zeros the gradient is ``Σ_{j≥k} gy_j·out_j / x_k``; with a
    zero in the input it is ``out_{k−1} · Σ_{j≥k} gy_j·Π_{k<i≤j} x_i``, the inner products a
    cumprod over an n×n triangle: no division by zero, and itself differentiable (PyTorch's
    gradient at zeros)."""

    def forward(self, x, dim):
        out = x.cumprod(axis=dim)
        self.has_zero = bool((x == 0).any())
        self.dim = dim
        self.save_for_backward(x, out)
        return out

    def backward(self, gy):
        x, out = self.saved
        xp = get_array_module(gy)
        d = self.dim
        if not self.has_zero:
            rev = _reverse(len(self.in_shapes[0]), d)
            return CumSum.call((gy * out)[rev], dim=d)[rev] / x
        xl, gl, ol = (xp.swapaxes(a, d, -1) for a in (x, gy, out))
        n = self.in_shapes[0][d]
        positions = get_array_module(getattr(gy, "array", gy)).arange(n)
        later = positions.reshape(1, n) > positions.reshape(n, 1)  # [k, i]: i > k
        # factors[..., k, i] = x_i for i > k, else 1; its cumprod over i is Π_{k<i≤j} x_i
        factors = xp.where(later, xl[..., None, :], 1)
        inner = CumProd.call(factors, dim=len(self.in_shapes[0]))
        upper = later | (positions.reshape(1, n) == positions.reshape(n, 1))  # j >= k
        summed = xp.sum(xp.where(upper, inner * gl[..., None, :], 0), axis=-1)
        widths = ((0, 0),) * (len(self.in_shapes[0]) - 1) + ((1, 0),)
        previous = Pad.call(ol[..., : n - 1], widths=widths, value=1)  # out_{k-1}, out_{-1} = 1
        return xp.swapaxes(previous * summed, d, -1)


class Einsum(Function):
    """``einsum`` over explicit subscripts (no ellipsis: the functional layer expands it).

    The gradient for operand i is again an einsum: of ``gy`` and the other operands into
    operand i's subscripts. A letter repeated within operand i (a diagonal) gets a fresh name
    joined to the original by an identity matrix; a letter summed within operand i alone is
    broadcast back afterwards.
    """

    def forward(self, *arrays, subs, out):
        self.subs, self.out = subs, out
        self.save_for_backward(*arrays)
        return get_array_module(arrays[0]).einsum(f"{','.join(subs)}->{out}", *arrays)

    def backward(self, gy):
        operands = self.saved
        xp = get_array_module(gy)
        used = set("".join(self.subs) + self.out)
        fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
        grads = []
        for i, target in enumerate(self.subs):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            shape = self.in_shapes[i]
            args = [gy] + [operands[j] for j in range(len(operands)) if j != i]
            subs = [self.out] + [self.subs[j] for j in range(len(operands)) if j != i]
            renamed, seen = [], {}
            for c, n in zip(target, shape):
                if c in seen:
                    new = next(fresh)
                    args.append(_identity_like(gy, n))
                    subs.append(c + new)
                    renamed.append(new)
                else:
                    seen[c] = n
                    renamed.append(c)
            available = set("".join(subs))
            kept = "".join(c for c in renamed if c in available)
            g = Einsum.call(*args, subs=tuple(subs), out=kept)
            if len(kept) != len(renamed):  # letters summed within this operand only
                g = g.reshape([n if c in available else 1 for c, n in zip(renamed, shape)])
                g = xp.broadcast_to(g, shape)
            grads.append(g)
        return tuple(grads)


def _identity_like(g, n: int):
    """An n×n identity array (a constant) on ``g``'s device, in ``g``'s dtype."""
    arr = getattr(g, "array", g)  # the Tensor's array under create_graph
    return get_array_module(arr).eye(n, dtype=arr.dtype)


class SetItem(Function):
    """``x[index] = value`` recorded in place: ``x``'s array is written and returned, and the
    tensor's graph node becomes this one. The gradient for the old ``x`` is zero at ``index``,
    the gradient for ``value`` is ``gy[index]``."""

    def forward(self, x, value, index, advanced):
        xp = get_array_module(x)
        self.index, self.advanced = index, advanced
        written = xp.zeros(x.shape, dtype=bool)
        written[index] = True
        self.written = written
        x[index] = value
        return x

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.where(self.written, 0, gy) if self.needs_input_grad[0] else None
        gv = None
        if self.needs_input_grad[1]:
            gv = GetItem.call(gy, index=self.index, advanced=self.advanced)
        return gx, gv


class ScatterReduce(Function):
    """scatter_reduce's "prod", "amax" and "amin": ``src`` reduced into a copy of ``x`` at an
    advanced ``index`` (``include_self=False``: the old values of the written positions are
    left out). The gradient follows PyTorch: for amax/amin it is shared evenly by every
    contributor equal to the result; for prod each contributor gets the product of the others
    (exact at zeros; a zero's coefficient is a constant, so second derivatives through a zero
    contributor are not tracked)."""

    def forward(self, x, src, index, reduce, include_self):
        xp = get_array_module(x)
        self.index, self.reduce = index, reduce
        written = xp.zeros(x.shape, dtype=bool)
        written[index] = True
        out = x.copy()
        if not include_self:
            out[written] = _reduce_identity(reduce, x.dtype)
        backend.scatter_reduce(out, index, src, reduce)
        # which of x's positions take part in the result (a constant mask)
        self.self_kept = xp.ones(x.shape, dtype=bool) if include_self else ~written
        if reduce == "prod":
            self._prod_constants(xp, x, src, include_self, written)
            self.save_for_backward(x, src, out)
        else:
            self_hit = self.self_kept & ((x == out) | (xp.isnan(x) & xp.isnan(out)))
            picked = out[index]
            src_hit = (src == picked) | (xp.isnan(src) & xp.isnan(picked))
            count = self_hit.astype(x.dtype)
            backend.scatter_add(count, index, src_hit.astype(x.dtype))
            count = xp.where(count == 0, 1, count)
            self.self_share = self_hit / count
            self.src_share = src_hit / count[index]
        return out

    def _prod_constants(self, xp, x, src, include_self, written):
        """For a zero contributor: the product of the group's other (nonzero) elements when
        it is the group's only zero, else 0."""
        zeros = xp.where(self.self_kept & (x == 0), 1, 0).astype(x.dtype)
        backend.scatter_add(zeros, self.index, (src == 0).astype(x.dtype))
        nonzero = xp.where(self.self_kept & (x != 0), x, 1).astype(x.dtype)
        backend.scatter_reduce(nonzero, self.index, xp.where(src == 0, 1, src), "prod")
        at_zero = xp.where(zeros == 1, nonzero, 0)
        self.x_zero = x == 0
        self.src_zero = src == 0
        self.x_zero_coef = at_zero
        self.src_zero_coef = at_zero[self.index]

    def backward(self, gy):
        xp = get_array_module(gy)
        g_at = GetItem.call(gy, index=self.index, advanced=True)
        if self.reduce != "prod":
            gx = gy * self.self_share if self.needs_input_grad[0] else None
            gs = g_at * self.src_share if self.needs_input_grad[1] else None
            return gx, gs
        x, src, out = self.saved
        gx = gs = None
        if self.needs_input_grad[0]:
            others = xp.where(self.x_zero, self.x_zero_coef, out / xp.where(self.x_zero, 1, x))
            gx = xp.where(self.self_kept, gy * others, 0)
        if self.needs_input_grad[1]:
            out_at = GetItem.call(out, index=self.index, advanced=True)
            others = xp.where(self.src_zero, self.src_zero_coef,
                              out_at / xp.where(self.src_zero, 1, src))
            gs = g_at * others
        return gx, gs


def _reduce_identity(reduce: str, dtype):
    """The value that leaves a reduction unchanged (1 for prod, the lowest value for amax)."""
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


# ==============================================================================================
# Linear algebra (torch.linalg): forward through xp.linalg, backward in matrix products so that
# it is itself differentiable. A decomposition with several outputs returns them packed in one
# array (see the classes); the functional layer in linalg.py slices them apart.


class LinAlgError(RuntimeError, np.linalg.LinAlgError):
    """A matrix the operation cannot handle (singular, not positive-definite, no convergence).

    A ``RuntimeError`` as ``torch.linalg.LinAlgError`` is, and also NumPy's ``LinAlgError``
    (a ``ValueError``), so ``except`` clauses written for either keep working."""


def _lapack(fn: str, func, *args, **kwargs):
    """``func(*args)`` with NumPy/CuPy's LinAlgError re-raised as :class:`LinAlgError`."""
    try:
        return func(*args, **kwargs)
    except LinAlgError:
        raise
    except np.linalg.LinAlgError as err:
        reason = {
            "linalg.inv": "the input matrix is singular (not invertible)",
            "linalg.solve": "the matrix A is singular (not invertible), so A X = B has no "
                            "unique solution",
            "linalg.cholesky": "the input is not positive-definite",
        }.get(fn, str(err))
        raise LinAlgError(f"{fn}: {reason} ({err})") from None


def _mT(x):
    return x.swapaxes(-1, -2)


def _eye(like, n: int):
    """An n×n identity array, a constant on ``like``'s device in ``like``'s dtype."""
    return _identity_like(like, n)


def _diag_embed(v, eye):
    """(..., n) → (..., n, n) with v on the diagonal."""
    return v.reshape(v.shape + (1,)) * eye


def _tril_mask(xp, n: int, dtype, k: int = 0):
    """Ones on and below diagonal ``k``, zeros above: a constant multiplier."""
    return xp.tril(xp.ones((n, n), dtype=dtype), k)


class Inv(Function):
    def forward(self, a):
        out = _lapack("linalg.inv", get_array_module(a).linalg.inv, a)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        t = _mT(out)
        return -(t @ gy @ t)  # d(A⁻¹) = −A⁻¹ dA A⁻¹


class Solve(Function):
    """X = A⁻¹B for a batch of matrices A (..., n, n) and B (..., n, k) of equal batch shape."""

    def forward(self, a, b):
        out = _lapack("linalg.solve", get_array_module(a).linalg.solve, a, b)
        self.save_for_backward(a, out)
        return out

    def backward(self, gy):
        a, out = self.saved
        gb = Solve.call(_mT(a), gy)  # A⁻ᵀ gy
        ga = -(gb @ _mT(out)) if self.needs_input_grad[0] else None
        return ga, gb


class Det(Function):
    """det(A); the gradient det·A⁻ᵀ needs A invertible (a singular A raises LinAlgError)."""

    def forward(self, a):
        out = get_array_module(a).linalg.det(a)
        self.save_for_backward(a, out)
        return out

    def backward(self, gy):
        a, out = self.saved
        scale = (gy * out).reshape(tuple(gy.shape) + (1, 1))
        return scale * _mT(Inv.call(a))


class SLogDet(Function):
    """(sign, log|det A|) packed along a new last axis of size 2; only log|det| carries a
    gradient (the sign is piecewise constant): gy·A⁻ᵀ."""

    def forward(self, a):
        xp = get_array_module(a)
        sign, logabsdet = xp.linalg.slogdet(a)
        self.save_for_backward(a)
        return xp.stack([xp.asarray(sign, dtype=a.dtype), xp.asarray(logabsdet)], axis=-1)

    def backward(self, gy):
        (a,) = self.saved
        g = gy[..., 1]
        return g.reshape(tuple(g.shape) + (1, 1)) * _mT(Inv.call(a))


class Cholesky(Function):
    """The lower factor L of A = L Lᵀ (read from A's lower triangle)."""

    def forward(self, a):
        xp = get_array_module(a)
        out = _lapack("linalg.cholesky", xp.linalg.cholesky, a)
        n = a.shape[-1]
        # Φ: the lower triangle with the diagonal halved, as a constant multiplier
        self.phi = _tril_mask(xp, n, a.dtype) - 0.5 * xp.eye(n, dtype=a.dtype)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (low,) = self.saved
        inv = Inv.call(low)
        s = _mT(inv) @ ((_mT(low) @ gy) * self.phi) @ inv  # L⁻ᵀ Φ(Lᵀ gy) L⁻¹
        return 0.5 * (s + _mT(s))


class QR(Function):
    """A = QR (Householder, LAPACK's signs), Q and R flattened and packed along the last axis:
    (..., m·kq + kr·n) with Q (m, kq), R (kr, n); ``mode`` as numpy ('reduced' or 'complete')."""

    def forward(self, a, mode):
        xp = get_array_module(a)
        q, r = xp.linalg.qr(a, mode=mode)
        m, n = a.shape[-2:]
        self.q_shape, self.r_shape = tuple(q.shape[-2:]), tuple(r.shape[-2:])
        if mode == "complete" and m > n:
            self.not_differentiable = True
        self.low = _tril_mask(xp, min(m, n), a.dtype)
        self.strict_low = _tril_mask(xp, min(m, n), a.dtype, -1)
        lead = tuple(a.shape[:-2])
        out = xp.concatenate([q.reshape(lead + (q.shape[-2] * q.shape[-1],)),
                              r.reshape(lead + (r.shape[-2] * r.shape[-1],))], axis=-1)
        self.save_for_backward(out)
        return out

    def unpack(self, packed):
        lead = tuple(packed.shape[:-1])
        nq = self.q_shape[0] * self.q_shape[1]
        return (packed[..., :nq].reshape(lead + self.q_shape),
                packed[..., nq:].reshape(lead + self.r_shape))

    def _square(self, q, r, gq, gr):
        """The gradient for A = QR with R square (m >= n): (gQ + Q copyltu(M)) R⁻ᵀ,
        M = R gRᵀ − gQᵀ Q, copyltu the symmetric matrix built from M's lower triangle."""
        m_ = r @ _mT(gr) - _mT(gq) @ q
        sym = m_ * self.low + _mT(m_ * self.strict_low)
        return (gq + q @ sym) @ _mT(Inv.call(r))

    def backward(self, gy):
        if getattr(self, "not_differentiable", False):
            raise RuntimeError(
                "linalg.qr: the derivative of mode='complete' is not defined when the input "
                "has more rows than columns (Q's extra columns are not unique); use "
                "mode='reduced'"
            )
        q, r = self.unpack(self.saved[0])
        gq, gr = self.unpack(gy)
        m, n = self.in_shapes[0][-2:]
        if m >= n:
            return self._square(q, r, gq, gr)
        # wide: A = [X | Y], R = [U | V], X = QU, Y = QV
        xp = get_array_module(gy)
        a_right = q @ r[..., :, m:]
        gv = gr[..., :, m:]
        gx = self._square(q, r[..., :, :m], gq + a_right @ _mT(gv), gr[..., :, :m])
        return xp.concatenate([gx, q @ gv], axis=-1)


def _inverse_gaps(values, off):
    """F[i, j] = 1 / (values[j] − values[i]) off the diagonal, 0 on it (``off``: the
    off-diagonal mask, a constant)."""
    xp = get_array_module(values)
    n = values.shape[-1]
    lead = tuple(values.shape[:-1])
    gaps = values.reshape(lead + (1, n)) - values.reshape(lead + (n, 1))
    return xp.where(off, 1 / xp.where(off, gaps, 1), 0)


class Eigh(Function):
    """Eigen-decomposition of a symmetric matrix: eigenvectors V (..., n, n) with the ascending
    eigenvalues appended as one more row, (..., n + 1, n).

    The gradient is V (diag(gL) + F ∘ skew(VᵀgV)/2) Vᵀ with F = 1/(λⱼ − λᵢ), PyTorch's formula:
    it needs distinct eigenvalues when the loss depends on V, and a loss that does not depend on
    the sign of each eigenvector."""

    def forward(self, a, uplo):
        xp = get_array_module(a)
        w, v = xp.linalg.eigh(a, UPLO=uplo)
        n = a.shape[-1]
        self.off = ~xp.eye(n, dtype=bool)
        out = xp.concatenate([v, w[..., None, :]], axis=-2)
        self.save_for_backward(out)
        return out

    def backward(self, gy):
        (out,) = self.saved
        n = self.in_shapes[0][-1]
        v, w = out[..., :n, :], out[..., n, :]
        gv, gw = gy[..., :n, :], gy[..., n, :]
        vtgv = _mT(v) @ gv
        inner = 0.5 * (vtgv - _mT(vtgv)) * _inverse_gaps(w, self.off)
        inner = inner + _diag_embed(gw, _eye(gy, n))
        return v @ inner @ _mT(v)


class EigvalsH(Function):
    """Eigenvalues of a symmetric matrix; the gradient V diag(g) Vᵀ recomputes V through
    :class:`Eigh`, so that it is differentiable again."""

    def forward(self, a, uplo):
        self.uplo = uplo
        self.save_for_backward(a)
        return get_array_module(a).linalg.eigvalsh(a, UPLO=uplo)

    def backward(self, gy):
        (a,) = self.saved
        n = self.in_shapes[0][-1]
        v = Eigh.call(a, uplo=self.uplo)[..., :n, :]
        return (v * gy.reshape(tuple(gy.shape[:-1]) + (1, n))) @ _mT(v)


def _svd_unpack(packed, u_shape: tuple, vh_shape: tuple) -> tuple:
    """U, S, Vh from :class:`SVD`'s packed output."""
    lead = tuple(packed.shape[:-1])
    nu = u_shape[0] * u_shape[1]
    k = min(u_shape[0], vh_shape[1])
    return (packed[..., :nu].reshape(lead + u_shape), packed[..., nu:nu + k],
            packed[..., nu + k:].reshape(lead + vh_shape))


class SVD(Function):
    """A = U diag(S) Vh, U, S and Vh flattened and packed along the last axis.

    The gradient is PyTorch's formula (distinct singular values where the loss depends on U or
    Vh, a loss invariant to each singular pair's sign). With ``full_matrices`` the gradient of
    U's and Vh's columns/rows beyond min(m, n) is ignored, as in PyTorch."""

    def forward(self, a, full_matrices):
        xp = get_array_module(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        self.u_shape, self.vh_shape = tuple(u.shape[-2:]), tuple(vh.shape[-2:])
        k = s.shape[-1]
        self.off = ~xp.eye(k, dtype=bool)
        lead = tuple(a.shape[:-2])
        out = xp.concatenate([u.reshape(lead + (u.shape[-2] * u.shape[-1],)), s,
                              vh.reshape(lead + (vh.shape[-2] * vh.shape[-1],))], axis=-1)
        self.save_for_backward(out)
        return out

    def unpack(self, packed):
        return _svd_unpack(packed, self.u_shape, self.vh_shape)

    def backward(self, gy):
        m, n = self.in_shapes[0][-2:]
        k = min(m, n)
        u, s, vh = self.unpack(self.saved[0])
        gu, gs, gvh = self.unpack(gy)
        u, gu, vh, gvh = u[..., :, :k], gu[..., :, :k], vh[..., :k, :], gvh[..., :k, :]
        lead = tuple(s.shape[:-1])
        s_row, s_col = s.reshape(lead + (1, k)), s.reshape(lead + (k, 1))
        utgu = _mT(u) @ gu
        vtgv = vh @ _mT(gvh)
        f = _inverse_gaps(s * s, self.off)  # 1 / (s_j² − s_i²)
        inner = ((utgu - _mT(utgu)) * s_row + s_col * (vtgv - _mT(vtgv))) * f
        inner = inner + _diag_embed(gs, _eye(gy, k))
        if m > n:  # U's columns span only part of Rᵐ: the (I − UUᵀ) gU S⁻¹ term
            gus = gu / s_row
            return (u @ inner + gus - u @ (_mT(u) @ gus)) @ vh
        if m < n:
            sgvh = gvh / s_col
            return u @ (inner @ vh + sgvh - (sgvh @ _mT(vh)) @ vh)
        return u @ inner @ vh


class SVDVals(Function):
    """Singular values; the gradient U diag(g) Vh recomputes U, Vh through :class:`SVD`."""

    def forward(self, a):
        self.save_for_backward(a)
        return get_array_module(a).linalg.svd(a, compute_uv=False)

    def backward(self, gy):
        (a,) = self.saved
        m, n = self.in_shapes[0][-2:]
        k = min(m, n)
        u, _, vh = _svd_unpack(SVD.call(a, full_matrices=False), (m, k), (k, n))
        return (u * gy.reshape(tuple(gy.shape[:-1]) + (1, k))) @ vh


def _largest(values):
    """The largest of each row (..., 1), an empty row's being 0 (CuPy's max has no initial)."""
    if values.shape[-1] == 0:
        return get_array_module(values).zeros(values.shape[:-1] + (1,), dtype=values.dtype)
    return values.max(axis=-1, keepdims=True)


class Pinv(Function):
    """Moore–Penrose pseudo-inverse P, singular values at or below ``cutoff`` (per matrix,
    shape (..., 1)) treated as zero. The gradient, for a rank that is locally constant (the
    Golub–Pereyra derivative): −Pᵀ g Pᵀ + (I − A P) gᵀ P Pᵀ + Pᵀ P gᵀ (I − P A)."""

    def forward(self, a, rtol, atol, hermitian):
        xp = get_array_module(a)
        if hermitian:
            w, v = xp.linalg.eigh(a)
            mag = xp.abs(w)
            cutoff = xp.maximum(atol, rtol * _largest(mag))
            inv = xp.where(mag > cutoff, 1 / xp.where(mag > cutoff, w, 1), 0)
            out = (v * inv[..., None, :]) @ _mT(v)
        else:
            u, s, vh = xp.linalg.svd(a, full_matrices=False)
            cutoff = xp.maximum(atol, rtol * s[..., :1])  # σ₁: the singular values descend
            inv = xp.where(s > cutoff, 1 / xp.where(s > cutoff, s, 1), 0)
            out = (_mT(vh) * inv[..., None, :]) @ _mT(u)
        out = out.astype(a.dtype, copy=False)
        self.save_for_backward(a, out)
        return out

    def backward(self, gy):
        a, p = self.saved
        m, n = self.in_shapes[0][-2:]
        pt, gt = _mT(p), _mT(gy)
        ga = -(pt @ gy @ pt)
        ga = ga + (_eye(gy, m) - a @ p) @ gt @ (p @ pt)
        ga = ga + (pt @ p) @ gt @ (_eye(gy, n) - p @ a)
        return ga


class ScaleGrad(Function):
    """The identity whose gradient is ``gy * scale`` (a constant broadcastable to x): the
    values stay exact, only the gradient is reweighted (Embedding's scale_grad_by_freq)."""

    def forward(self, x, scale):
        self.scale = scale
        return x.view()  # the same values, a distinct array object for the graph

    def backward(self, gy):
        return gy * self.scale
