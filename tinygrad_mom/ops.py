"""The functional API: the functions users call (``tm.exp``, ``tm.cat``, ...).

They turn Python scalars into constants, promote dtypes as PyTorch does, validate arguments
with clear errors, and either run one primitive (:mod:`tinygrad_mom.primitives`) or compose
the few non-primitive operations (mean, var, stack, ...) from others.
"""

from __future__ import annotations

import builtins
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from . import backend
from .backend import get_array_module
from .primitives import (
    Abs,
    Add,
    Cat,
    Clamp,
    Div,
    Exp,
    Expand,
    GetItem,
    LeakyReLU,
    Log,
    LogSoftmax,
    LogSumExp,
    MatMul,
    MaxAll,
    MaxDim,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pad,
    Permute,
    Pow,
    ReLU,
    Reshape,
    Sigmoid,
    Softmax,
    Sqrt,
    Sub,
    Sum,
    Tanh,
    Where,
)
from .tensor import (
    DEFAULT_FLOAT,
    Tensor,
    _check_same_device,
    _normalize_dim,
    is_floating,
)

# ==============================================================================================
# The functional API: operand handling


def _scalar_constant(value, like: Tensor) -> Tensor:
    """A Python number as a constant with PyTorch's dtype rule: it takes the tensor's dtype."""
    dtype = like.dtype
    if isinstance(value, (bool, np.bool_)):
        pass
    elif isinstance(value, (int, np.integer)):
        if dtype.kind == "b":
            dtype = np.dtype(np.int64)
    elif isinstance(value, (float, np.floating)):
        if dtype.kind != "f":
            dtype = DEFAULT_FLOAT
    else:
        raise TypeError(
            f"unsupported operand type {type(value).__name__}: expected a Tensor or a number"
        )
    # A numpy scalar, not an array: numpy and cupy both treat it as a scalar argument, so no
    # array is allocated and nothing is copied to a GPU.
    return Tensor._wrap(dtype.type(value))


def _as_operand(value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return _scalar_constant(value, like)
    return Tensor(value, device=like.device)


def _broadcast_shape(sa: tuple, sb: tuple) -> tuple:
    out = []
    for i in range(1, builtins.max(len(sa), len(sb)) + 1):
        x = sa[-i] if i <= len(sa) else 1
        y = sb[-i] if i <= len(sb) else 1
        if x != y and x != 1 and y != 1:
            raise ValueError(f"shapes {sa} and {sb} cannot be broadcast together")
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def _promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Cast two tensors to their common dtype; an integer meeting a float takes the float's."""
    if a.dtype == b.dtype:
        return a, b
    ka, kb = a.dtype.kind, b.dtype.kind
    if ka == "f" and kb != "f":
        target = a.dtype
    elif kb == "f" and ka != "f":
        target = b.dtype
    else:
        target = np.result_type(a.dtype, b.dtype)
    return a.type(target), b.type(target)


def _binary_operands(a, b) -> tuple[Tensor, Tensor]:
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError("at least one operand must be a Tensor")
        a = _as_operand(a, b)
    elif not isinstance(b, Tensor):
        b = _as_operand(b, a)
    if a.dtype != b.dtype:
        a, b = _promote(a, b)
    if a.shape != b.shape and a.shape and b.shape:  # () broadcasts with anything
        _broadcast_shape(a.shape, b.shape)
    return a, b


def add(a, b) -> Tensor:
    """a + b, broadcasting."""
    return Add.apply(*_binary_operands(a, b))


def sub(a, b) -> Tensor:
    """a − b, broadcasting."""
    return Sub.apply(*_binary_operands(a, b))


def mul(a, b) -> Tensor:
    """a · b elementwise, broadcasting."""
    return Mul.apply(*_binary_operands(a, b))


def div(a, b) -> Tensor:
    """True division a / b; integer operands give a float32 result, as in PyTorch."""
    a, b = _binary_operands(a, b)
    if not is_floating(a.dtype):
        a, b = a.type(DEFAULT_FLOAT), b.type(DEFAULT_FLOAT)
    return Div.apply(a, b)


def pow(a, b) -> Tensor:
    """a ** b elementwise, broadcasting."""
    a, b = _binary_operands(a, b)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu" and bool((b.array < 0).any()):
        raise RuntimeError("Integers to negative integer powers are not allowed (use a float base)")
    return Pow.apply(a, b)


def maximum(a, b) -> Tensor:
    """Elementwise maximum; ties share the gradient evenly."""
    return Maximum.apply(*_binary_operands(a, b))


def minimum(a, b) -> Tensor:
    """Elementwise minimum; ties share the gradient evenly."""
    return Minimum.apply(*_binary_operands(a, b))


def where(condition, input, other) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (differentiable in both)."""
    if not isinstance(condition, Tensor):
        like = input if isinstance(input, Tensor) else other
        condition = Tensor(condition, device=like.device)
    if condition.dtype.kind != "b":
        raise TypeError(f"where expects a bool condition, got dtype {condition.dtype}")
    a, b = _binary_operands(input, other)
    _broadcast_shape(_broadcast_shape(a.shape, b.shape), condition.shape)
    _check_same_device((condition, a, b), (condition.array, a.array, b.array))
    return Where.apply(a, b, condition=condition.array)


_COMPARISONS = {
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "eq": np.equal,
    "ne": np.not_equal,
}


def compare(a, b, op: str) -> Tensor:
    """An elementwise comparison (``lt``, ``le``, ``gt``, ``ge``, ``eq``, ``ne``): a bool tensor."""
    if not isinstance(b, (Tensor, int, float, bool, np.number, np.bool_, list, tuple, np.ndarray)):
        return NotImplemented
    a, b = _binary_operands(a, b)
    _check_same_device((a, b), (a.array, b.array))
    xp = get_array_module(a.array)
    fn = getattr(xp, _COMPARISONS[op].__name__)
    return Tensor._wrap(xp.asarray(fn(a.array, b.array)))


# ----------------------------------------------------------------------------------------------
# unary


def _floating(x: Tensor) -> Tensor:
    """Integer or bool input to a transcendental function computes in float32, as PyTorch does
    (NumPy would silently give float64)."""
    return x if is_floating(x.dtype) else x.type(DEFAULT_FLOAT)


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def exp(x: Tensor) -> Tensor:
    return Exp.apply(_floating(x))


def log(x: Tensor) -> Tensor:
    return Log.apply(_floating(x))


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(_floating(x))


def abs(x: Tensor) -> Tensor:
    return Abs.apply(x)


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(_floating(x))


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(_floating(x))


def relu(x: Tensor) -> Tensor:
    return ReLU.apply(x)


def _check_number(value, name: str, arg: str) -> None:
    if isinstance(value, Tensor) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name}: {arg} must be a number, got {type(value).__name__}")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    _check_number(negative_slope, "leaky_relu", "negative_slope")
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """Clip values to [min, max]; either bound may be None (not both). Bounds are numbers:
    for tensor bounds use :func:`maximum` / :func:`minimum`."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    for arg, value in (("min", min), ("max", max)):
        if value is not None:
            _check_number(value, "clamp", arg)
    return Clamp.apply(x, min=min, max=max)


clip = clamp


# ----------------------------------------------------------------------------------------------
# reductions


def _reduce_axes(x: Tensor, dim) -> tuple:
    if dim is None:
        return tuple(range(x.ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(sorted({_normalize_dim(d, x.ndim) for d in dims}))
    if len(axes) != len(dims):
        raise ValueError(f"dim {dim!r} names a dimension more than once")
    if x.ndim == 0:
        return ()
    return axes


def sum(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Sum over all elements or over ``dim`` (an int or a tuple of ints)."""
    return Sum.apply(x, axes=_reduce_axes(x, dim), keepdim=keepdim)


def mean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Mean over all elements or over ``dim``."""
    if not is_floating(x.dtype):
        raise TypeError(f"mean needs a floating point tensor, got dtype {x.dtype}")
    axes = _reduce_axes(x, dim)
    count = int(np.prod([x.shape[a] for a in axes]))
    return sum(x, dim, keepdim) * (1.0 / count if count else float("nan"))


def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as in PyTorch."""
    if unbiased is not None and correction is not None:
        raise ValueError("var: give either 'unbiased' or 'correction', not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _reduce_axes(x, dim)
    count = int(np.prod([x.shape[a] for a in axes]))
    centered = x - mean(x, dim, keepdim=True)
    denominator = builtins.max(count - correction, 0)
    total = sum(centered * centered, dim, keepdim)
    return total * (1.0 / denominator) if denominator else total * float("nan")


def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation: sqrt of :func:`var`."""
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _max_or_min(x: Tensor, dim, keepdim: bool, use_min: bool):
    name = "min" if use_min else "max"
    if dim is None:
        if x.numel() == 0:
            raise ValueError(f"{name}() of an empty tensor: specify a dim or check the input")
        return MaxAll.apply(x, use_min=use_min)
    d = _normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return MaxResult(x.clone(), Tensor._wrap(get_array_module(x.array).zeros((), np.int64)))
    if x.shape[d] == 0:
        raise ValueError(f"{name}(): dimension {dim} of shape {x.shape} is empty")
    values = MaxDim.apply(x, dim=d, keepdim=keepdim, use_min=use_min)
    fn = values._ctx
    indices = (
        fn.indices
        if fn is not None
        else (get_array_module(x.array).argmin if use_min else get_array_module(x.array).argmax)(
            x.array, axis=d, keepdims=keepdim
        )
    )
    return MaxResult(values, Tensor._wrap(indices.astype(np.int64)))


def max(x: Tensor, dim=None, keepdim: bool = False):
    """Max of all elements (a tensor), or ``(values, indices)`` along ``dim`` as in PyTorch."""
    return _max_or_min(x, dim, keepdim, use_min=False)


def min(x: Tensor, dim=None, keepdim: bool = False):
    """Min of all elements (a tensor), or ``(values, indices)`` along ``dim`` as in PyTorch."""
    return _max_or_min(x, dim, keepdim, use_min=True)


def _arg_reduce(x: Tensor, dim, keepdim: bool, use_min: bool) -> Tensor:
    xp = get_array_module(x.array)
    fn = xp.argmin if use_min else xp.argmax
    if x.numel() == 0:
        raise ValueError(f"{'argmin' if use_min else 'argmax'}() of an empty tensor")
    if dim is None:
        out = fn(x.array.reshape(-1))
        if keepdim:
            out = out.reshape((1,) * x.ndim)
    else:
        d = _normalize_dim(dim, x.ndim)
        out = fn(x.array, axis=d, keepdims=keepdim) if x.ndim else xp.zeros((), np.int64)
    return Tensor._wrap(xp.asarray(out).astype(np.int64))


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (flattened when ``dim`` is None); not differentiable."""
    return _arg_reduce(x, dim, keepdim, use_min=False)


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (flattened when ``dim`` is None); not differentiable."""
    return _arg_reduce(x, dim, keepdim, use_min=True)


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x), dim)), computed stably."""
    return LogSumExp.apply(_floating(x), axes=_reduce_axes(x, dim), keepdim=keepdim)


def softmax(x: Tensor, dim: int) -> Tensor:
    """exp(x) / sum(exp(x), dim), computed stably."""
    return Softmax.apply(_floating(x), dim=_normalize_dim(dim, x.ndim))


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """log(softmax(x, dim)), computed stably."""
    return LogSoftmax.apply(_floating(x), dim=_normalize_dim(dim, x.ndim))


# ----------------------------------------------------------------------------------------------
# movement


def _shape_from_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"shape must be ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    shape = _shape_from_args(shape)
    known = [s for s in shape if s != -1]
    n_unknown = len(shape) - len(known)
    size = int(np.prod(known))
    if (
        n_unknown > 1
        or any(s < -1 for s in shape)
        or (n_unknown == 0 and size != x.numel())
        or (n_unknown == 1 and (size == 0 or x.numel() % size))
    ):
        raise ValueError(
            f"shape {shape} is invalid for input of size {x.numel()} (shape {x.shape})"
        )
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder the dimensions."""
    dims = _shape_from_args(dims)
    if len(dims) != x.ndim:
        raise ValueError(
            f"permute: got {len(dims)} dims {dims} for a tensor with {x.ndim} dimensions"
        )
    norm = tuple(_normalize_dim(d, x.ndim) for d in dims)
    if sorted(norm) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of {x.ndim} dimensions")
    if norm == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims=norm)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    d0, d1 = _normalize_dim(dim0, x.ndim), _normalize_dim(dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, *dims)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions start_dim..end_dim into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = _normalize_dim(start_dim, x.ndim), _normalize_dim(end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = int(np.prod(x.shape[s : e + 1]))
    return reshape(x, *x.shape[:s], merged, *x.shape[e + 1 :])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop size-1 dimensions (all, or those named by ``dim``)."""
    if dim is None:
        axes = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = {d for d in (_normalize_dim(d, x.ndim) for d in dims) if x.ndim and x.shape[d] == 1}
    return reshape(x, *[n for i, n in enumerate(x.shape) if i not in axes])


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (in [-ndim-1, ndim])."""
    d = _normalize_dim(dim, x.ndim + 1)
    return reshape(x, *x.shape[:d], 1, *x.shape[d:])


def expand(x: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying; -1 keeps a dimension."""
    sizes = _shape_from_args(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(
            f"expand: {len(sizes)} sizes {sizes} for a tensor with {x.ndim} dimensions"
        )
    lead = len(sizes) - x.ndim
    shape = []
    for i, s in enumerate(sizes):
        own = x.shape[i - lead] if i >= lead else None
        if s < -1:
            raise ValueError(f"expand: size {s} is negative in {sizes}; use -1 to keep a size")
        if s == -1:
            if own is None:
                raise ValueError(f"expand: -1 is not allowed for the new leading dimension {i}")
            s = own
        if own is not None and own != 1 and own != s:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {sizes}")
        shape.append(s)
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return Expand.apply(x, shape=shape)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat expects a non-empty sequence of tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"cat expects Tensors, got {type(t).__name__}")
    first = tensors[0]
    d = _normalize_dim(dim, first.ndim)
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(
            a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != d
        ):
            raise ValueError(
                f"cat: shapes {first.shape} and {t.shape} must match except in dimension {dim}"
            )
    dtype = np.result_type(*[t.dtype for t in tensors])
    tensors = [t.type(dtype) for t in tensors]
    return Cat.apply(*tensors, dim=d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack equally shaped tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack expects a non-empty sequence of tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"stack expects Tensors, got {type(t).__name__}")
    shape = tensors[0].shape
    for t in tensors[1:]:
        if t.shape != shape:
            raise ValueError(f"stack expects tensors of equal shape, got {shape} and {t.shape}")
    d = _normalize_dim(dim, len(shape) + 1)
    return cat([unsqueeze(t, d) for t in tensors], dim=d)


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Constant padding as PyTorch: ``pad`` lists (left, right) pairs from the last dim."""
    if mode != "constant":
        raise ValueError(f"pad: mode {mode!r} is not supported; only 'constant' is")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            "pad: expected an even number of values, at most 2 per dimension "
            f"({2 * x.ndim}), got {pad}"
        )
    if any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0 for p in pad):
        raise ValueError(f"pad: widths must be non-negative ints, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return Pad.apply(x, widths=tuple(widths), value=value)


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: 1-D operands, batching and broadcasting."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        like = a if isinstance(a, Tensor) else b
        a, b = _as_operand(a, like), _as_operand(b, like)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: both arguments need at least 1 dimension, got shapes {a.shape} and {b.shape}"
        )
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else -1]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
            f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else -1]})"
        )
    if a.ndim > 2 or b.ndim > 2:
        _broadcast_shape(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
    if a.dtype != b.dtype:
        a, b = _promote(a, b)
    # 1-D operands become matrices for the primitive and are squeezed back afterwards.
    if a.ndim == 1 and b.ndim == 1:
        return reshape(MatMul.apply(unsqueeze(a, 0), unsqueeze(b, 1)), ())
    if a.ndim == 1:
        return squeeze(MatMul.apply(unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(MatMul.apply(a, unsqueeze(b, 1)), -1)
    return MatMul.apply(a, b)


# ----------------------------------------------------------------------------------------------
# indexing


def _is_advanced(item) -> bool:
    return not (item is None or item is Ellipsis or isinstance(item, (slice, int, np.integer)))


def _index_arrays(x: Tensor, index) -> tuple[tuple, bool]:
    """Turn an index into one the array module accepts, and say whether it is advanced."""
    xp = get_array_module(x.array)
    items = index if isinstance(index, tuple) else (index,)
    out, advanced = [], False
    for item in items:
        if isinstance(item, bool):
            item = xp.asarray(item)
        if isinstance(item, Tensor):
            if item.device != x.device:
                raise RuntimeError(
                    f"indices are on device {item.device}, but the tensor is on {x.device}"
                )
            item = item.array
        elif isinstance(item, (list, tuple, np.ndarray)) and not isinstance(item, type(x.array)):
            try:
                # on x's GPU, also when another one is current (as in Function.apply)
                item = backend.call_on_device_of(x.array, xp.asarray, item)
            except ValueError:  # a ragged list: numpy's own message would not say it is an index
                raise IndexError(f"index lists must be rectangular, got {item!r}") from None
        elif isinstance(item, float):
            raise IndexError(
                f"tensor indices must be integers, slices or tensors, got a float {item}"
            )
        elif _is_advanced(item) and not hasattr(item, "dtype"):
            raise IndexError(
                "tensor indices must be integers, slices, None, ..., lists or tensors, got "
                f"{type(item).__name__} {item!r}"
            )
        if _is_advanced(item):
            if item.dtype.kind not in "biu":
                raise IndexError(
                    f"tensors used as indices must be integer or bool, got {item.dtype}"
                )
            advanced = True
        out.append(item)
    return tuple(out), advanced


def _check_bounds(x: Tensor, index: tuple) -> None:
    """Raise IndexError for an out-of-range int or integer-array index (CuPy would wrap it)."""
    n_consumed = builtins.sum(
        (i.ndim if getattr(i, "dtype", None) is not None and i.dtype.kind == "b" else 1)
        for i in index
        if i is not None and i is not Ellipsis
    )
    if n_consumed > x.ndim:
        raise IndexError(f"too many indices for a tensor of dimension {x.ndim}")
    dim = 0
    for item in index:
        if item is None:
            continue
        if item is Ellipsis:
            dim += x.ndim - n_consumed
            continue
        if isinstance(item, slice):
            dim += 1
            continue
        if getattr(item, "dtype", None) is not None and item.dtype.kind == "b":
            if item.shape != x.shape[dim : dim + item.ndim]:
                raise IndexError(
                    f"boolean mask of shape {item.shape} does not match the tensor's shape "
                    f"{x.shape[dim : dim + item.ndim]} at dimension {dim}"
                )
            dim += item.ndim
            continue
        size = x.shape[dim]
        if isinstance(item, (int, np.integer)):
            if not -size <= item < size:
                raise IndexError(
                    f"index {item} is out of range for dimension {dim} with size {size}"
                )
        elif item.size > 0:
            out_of_range = (item < -size) | (item >= size)

            def message(out_of_range=out_of_range, item=item, dim=dim, size=size):
                shown = item[out_of_range].reshape(-1)[0].item()
                return f"index {shown} is out of range for dimension {dim} with size {size}"

            # a device index array is checked at the next sync, not by a sync of its own
            backend.check(out_of_range.any(), IndexError, message)
        dim += 1


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with ints, slices, None, Ellipsis, integer arrays and bool masks."""
    index, advanced = _index_arrays(x, index)
    _check_bounds(x, index)
    return GetItem.apply(x, index=index, advanced=advanced)
