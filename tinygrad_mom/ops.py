"""The functional API: the functions users call (``tm.exp``, ``tm.cat``, ...).

They turn Python scalars into constants, promote dtypes as PyTorch does, validate arguments
with clear errors, and either run one primitive (:mod:`tinygrad_mom.primitives`) or compose
the few non-primitive operations (mean, var, stack, ...) from others.
"""

from __future__ import annotations

import builtins
import math
import sys
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from . import _validation as V
from . import backend
from .backend import get_array_module
from .primitives import (
    Abs,
    Acos,
    Add,
    AMax,
    Asin,
    Atan,
    Atan2,
    Cat,
    Ceil,
    Clamp,
    Cos,
    Cosh,
    CumProd,
    CumSum,
    Div,
    Einsum,
    Erf,
    Exp,
    Expand,
    Expm1,
    Floor,
    GetItem,
    IndexScatter,
    LeakyReLU,
    Log,
    Log1p,
    Log2,
    Log10,
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
    Round,
    ScatterReduce,
    SetItem,
    Sigmoid,
    Sign,
    Sin,
    Sinh,
    Softmax,
    Sqrt,
    Sub,
    Sum,
    SVDVals,
    Tan,
    Tanh,
    Trunc,
    VectorNorm,
    Where,
)
from .tensor import (
    Tensor,
    _bump_version,
    _check_same_device,
    _normalize_dim,
    get_default_dtype,
    is_floating,
    is_grad_enabled,
)

# ==============================================================================================
# The functional API: operand handling


def _scalar_constant(value, like: Tensor) -> Tensor:
    """A Python number as a constant with PyTorch's dtype rule: it takes the tensor's dtype."""
    # raw attributes and the commonest case (a float) first: this runs once per op that has a
    # number operand, as in ``y * 0.5``
    dtype = like.array.dtype
    if type(value) is float or isinstance(value, np.floating):
        if dtype.kind != "f":
            dtype = get_default_dtype()
    elif isinstance(value, (bool, np.bool_)):
        pass
    elif isinstance(value, (int, np.integer)):
        if dtype.kind == "b":
            dtype = np.dtype(np.int64)
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
    return Tensor._from_data(value, device=like.device)


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
    aa, ba = a.array, b.array  # raw attributes: Tensor.shape builds a Size each time
    if aa.dtype != ba.dtype:
        a, b = _promote(a, b)
    sa, sb = aa.shape, ba.shape
    if sa != sb and sa and sb:  # () broadcasts with anything
        _broadcast_shape(sa, sb)
    return a, b


def add(a, b) -> Tensor:
    """a + b, broadcasting."""
    return Add.apply(*_binary_operands(a, b))


def sub(a, b) -> Tensor:
    """a − b, broadcasting."""
    a, b = _binary_operands(a, b)
    if a.dtype.kind == "b" and b.dtype.kind == "b":
        raise TypeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. For the "
            "elements that differ use `a != b` (or cast first: `a.long() - b.long()`)."
        )
    return Sub.apply(a, b)


def mul(a, b) -> Tensor:
    """a · b elementwise, broadcasting."""
    return Mul.apply(*_binary_operands(a, b))


def div(a, b) -> Tensor:
    """True division a / b; integer operands give a float32 result, as in PyTorch."""
    a, b = _binary_operands(a, b)
    if not is_floating(a.dtype):
        a, b = a.type(get_default_dtype()), b.type(get_default_dtype())
    return Div.apply(a, b)


def pow(a, b) -> Tensor:
    """a ** b elementwise, broadcasting."""
    a, b = _binary_operands(a, b)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu" and bool((b.array < 0).any()):
        raise RuntimeError("Integers to negative integer powers are not allowed (use a float base)")
    return Pow.apply(a, b)


def maximum(a, b, *, out=None) -> Tensor:
    """Elementwise maximum; ties share the gradient evenly."""
    result = Maximum.apply(*_binary_operands(a, b))
    return result if out is None else _write_out(result, out, "maximum")


def minimum(a, b, *, out=None) -> Tensor:
    """Elementwise minimum; ties share the gradient evenly."""
    result = Minimum.apply(*_binary_operands(a, b))
    return result if out is None else _write_out(result, out, "minimum")


def where(condition, input=None, other=None, *, out=None):
    """``input`` where ``condition`` is true, else ``other`` (differentiable in both; either
    may be a number). ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(_tensor_arg(condition, "where", "condition"), as_tuple=True)
    if not isinstance(condition, Tensor):
        like = input if isinstance(input, Tensor) else other
        condition = Tensor._from_data(
            condition, device=like.device if isinstance(like, Tensor) else None
        )
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        # two numbers: PyTorch's dtypes (int64, the default float, or bool) on the device
        for arg, value in (("input", input), ("other", other)):
            if not isinstance(value, (bool, int, float, np.number, np.bool_)):
                raise TypeError(f"where(): argument '{arg}' must be a Tensor or a number, "
                                f"got {type(value).__name__}")
        input = Tensor._from_data(input, device=condition.device)  # data, not a size
    if condition.dtype.kind != "b":
        raise TypeError(f"where expects a bool condition, got dtype {condition.dtype}")
    a, b = _binary_operands(input, other)
    _broadcast_shape(_broadcast_shape(a.shape, b.shape), condition.shape)
    _check_same_device((condition, a, b), (condition.array, a.array, b.array))
    result = Where.apply(a, b, condition=condition.array)
    return result if out is None else _write_out(result, out, "where")


_COMPARISONS = {
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "eq": np.equal,
    "ne": np.not_equal,
}


def _raw_binary(function: str, a: Tensor, b: Tensor, **kwargs) -> Tensor:
    """``xp.<function>(a, b)`` on two operands of one device, not recorded by autograd (a
    comparison, logical, bitwise or integer result has no gradient)."""
    _check_same_device((a, b), (a.array, b.array))
    xp = get_array_module(a.array)
    return Tensor._wrap(xp.asarray(getattr(xp, function)(a.array, b.array, **kwargs)))


def compare(a, b, op: str) -> Tensor:
    """An elementwise comparison (``lt``, ``le``, ``gt``, ``ge``, ``eq``, ``ne``): a bool tensor."""
    if not isinstance(b, (Tensor, int, float, bool, np.number, np.bool_, list, tuple, np.ndarray)):
        return NotImplemented
    return _raw_binary(_COMPARISONS[op].__name__, *_binary_operands(a, b))


# ----------------------------------------------------------------------------------------------
# unary


def _floating(x: Tensor) -> Tensor:
    """Integer or bool input to a transcendental function computes in float32, as PyTorch does
    (NumPy would silently give float64)."""
    return x if is_floating(x.dtype) else x.type(get_default_dtype())


def neg(x: Tensor) -> Tensor:
    V.tensor_arg("input", x, "neg")
    if x.dtype.kind == "b":
        raise TypeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use `mask == False` (or cast it: `-mask.long()`)."
        )
    return Neg.apply(x)


def exp(x: Tensor, *, out=None) -> Tensor:
    V.tensor_arg("input", x, "exp")
    result = Exp.apply(_floating(x))
    return result if out is None else _write_out(result, out, "exp")


def log(x: Tensor, *, out=None) -> Tensor:
    V.tensor_arg("input", x, "log")
    result = Log.apply(_floating(x))
    return result if out is None else _write_out(result, out, "log")


def sqrt(x: Tensor, *, out=None) -> Tensor:
    V.tensor_arg("input", x, "sqrt")
    result = Sqrt.apply(_floating(x))
    return result if out is None else _write_out(result, out, "sqrt")


def abs(x: Tensor, *, out=None) -> Tensor:
    V.tensor_arg("input", x, "abs")
    result = Abs.apply(x)
    return result if out is None else _write_out(result, out, "abs")


def tanh(x: Tensor, *, out=None) -> Tensor:
    V.tensor_arg("input", x, "tanh")
    result = Tanh.apply(_floating(x))
    return result if out is None else _write_out(result, out, "tanh")


def sigmoid(x: Tensor, *, out=None) -> Tensor:
    V.tensor_arg("input", x, "sigmoid")
    result = Sigmoid.apply(_floating(x))
    return result if out is None else _write_out(result, out, "sigmoid")


def relu(x: Tensor) -> Tensor:
    V.tensor_arg("input", x, "relu")
    return ReLU.apply(x)


def _check_number(value, name: str, arg: str) -> None:
    if isinstance(value, Tensor) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name}: {arg} must be a number, got {type(value).__name__}")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    V.tensor_arg("input", x, "leaky_relu")
    _check_number(negative_slope, "leaky_relu", "negative_slope")
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def clamp(x: Tensor, min=None, max=None, *, out=None) -> Tensor:
    """Clip values to [min, max]; either bound may be None (not both). Bounds are numbers:
    for tensor bounds use :func:`maximum` / :func:`minimum`."""
    V.tensor_arg("input", x, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    for arg, value in (("min", min), ("max", max)):
        if value is not None:
            _check_number(value, "clamp", arg)
    result = Clamp.apply(x, min=min, max=max)
    return result if out is None else _write_out(result, out, "clamp")


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


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Sum over all elements or over ``dim`` (an int or a tuple of ints), in ``dtype`` if
    given (the input is cast first, as PyTorch)."""
    V.tensor_arg("input", x, "sum")
    if dtype is not None:
        x = x.type(dtype)
    result = Sum.apply(x, axes=_reduce_axes(x, dim), keepdim=keepdim)
    return result if out is None else _write_out(result, out, "sum")


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Mean over all elements or over ``dim``, in ``dtype`` if given."""
    V.tensor_arg("input", x, "mean")
    if dtype is not None:
        x = x.type(dtype)
    if out is not None:
        return _write_out(mean(x, dim, keepdim), out, "mean")
    if not is_floating(x.dtype):
        raise TypeError(f"mean needs a floating point tensor, got dtype {x.dtype}")
    axes = _reduce_axes(x, dim)
    count = int(np.prod([x.shape[a] for a in axes]))
    return sum(x, dim, keepdim) * (1.0 / count if count else float("nan"))


def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as in PyTorch."""
    V.tensor_arg("input", x, "var")
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
    V.tensor_arg("input", x, "std")
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _max_or_min(x: Tensor, dim, keepdim: bool, use_min: bool):
    if isinstance(dim, Tensor):  # max(input, other): elementwise, as PyTorch
        return minimum(x, dim) if use_min else maximum(x, dim)
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
    V.tensor_arg("input", x, "max")
    return _max_or_min(x, dim, keepdim, use_min=False)


def min(x: Tensor, dim=None, keepdim: bool = False):
    """Min of all elements (a tensor), or ``(values, indices)`` along ``dim`` as in PyTorch."""
    V.tensor_arg("input", x, "min")
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
    V.tensor_arg("input", x, "argmax")
    return _arg_reduce(x, dim, keepdim, use_min=False)


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (flattened when ``dim`` is None); not differentiable."""
    V.tensor_arg("input", x, "argmin")
    return _arg_reduce(x, dim, keepdim, use_min=True)


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x), dim)), computed stably."""
    V.tensor_arg("input", x, "logsumexp")
    return LogSumExp.apply(_floating(x), axes=_reduce_axes(x, dim), keepdim=keepdim)


def softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x), dim), computed stably (in ``dtype`` if given)."""
    V.tensor_arg("input", x, "softmax")
    if dtype is not None:
        x = x.type(dtype)
    return Softmax.apply(_floating(x), dim=_normalize_dim(dim, x.ndim))


def log_softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    """log(softmax(x, dim)), computed stably (in ``dtype`` if given)."""
    V.tensor_arg("input", x, "log_softmax")
    if dtype is not None:
        x = x.type(dtype)
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
    V.tensor_arg("input", x, "reshape")
    shape = _shape_from_args(shape)
    known = [s for s in shape if s != -1]
    n_unknown = len(shape) - len(known)
    size = int(np.prod(known))
    if (
        n_unknown > 1
        or builtins.any(s < -1 for s in shape)
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
    V.tensor_arg("input", x, "permute")
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
    V.tensor_arg("input", x, "transpose")
    d0, d1 = _normalize_dim(dim0, x.ndim), _normalize_dim(dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, *dims)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions start_dim..end_dim into one."""
    V.tensor_arg("input", x, "flatten")
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = _normalize_dim(start_dim, x.ndim), _normalize_dim(end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = int(np.prod(x.shape[s : e + 1]))
    return reshape(x, *x.shape[:s], merged, *x.shape[e + 1 :])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop size-1 dimensions (all, or those named by ``dim``)."""
    V.tensor_arg("input", x, "squeeze")
    if dim is None:
        axes = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = {d for d in (_normalize_dim(d, x.ndim) for d in dims) if x.ndim and x.shape[d] == 1}
    return reshape(x, *[n for i, n in enumerate(x.shape) if i not in axes])


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (in [-ndim-1, ndim])."""
    V.tensor_arg("input", x, "unsqueeze")
    d = _normalize_dim(dim, x.ndim + 1)
    return reshape(x, *x.shape[:d], 1, *x.shape[d:])


def expand(x: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying; -1 keeps a dimension."""
    V.tensor_arg("input", x, "expand")
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


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out=None) -> Tensor:
    """Concatenate tensors along an existing dimension."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        # a bare Tensor is iterable (its rows): PyTorch refuses it rather than split it
        raise TypeError(
            f"cat(): argument 'tensors' must be a tuple or list of Tensors, not "
            f"{type(tensors).__name__}"
        )
    if out is not None:
        return _write_out(cat(tensors, dim), out, "cat")
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat expects a non-empty sequence of tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"cat expects Tensors, got {type(t).__name__}")
    first = tensors[0]
    d = _normalize_dim(dim, first.ndim)
    for t in tensors[1:]:
        if t.ndim != first.ndim or builtins.any(
            a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != d
        ):
            raise ValueError(
                f"cat: shapes {first.shape} and {t.shape} must match except in dimension {dim}"
            )
    dtype = np.result_type(*[t.dtype for t in tensors])
    tensors = [t.type(dtype) for t in tensors]
    return Cat.apply(*tensors, dim=d)


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out=None) -> Tensor:
    """Stack equally shaped tensors along a new dimension."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        # a bare Tensor is iterable (its rows): PyTorch refuses it rather than split it
        raise TypeError(
            f"stack(): argument 'tensors' must be a tuple or list of Tensors, not "
            f"{type(tensors).__name__}"
        )
    if out is not None:
        return _write_out(stack(tensors, dim), out, "stack")
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
    V.tensor_arg("input", x, "pad")
    if mode != "constant":
        raise ValueError(f"pad: mode {mode!r} is not supported; only 'constant' is")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            "pad: expected an even number of values, at most 2 per dimension "
            f"({2 * x.ndim}), got {pad}"
        )
    if builtins.any(
        isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0 for p in pad
    ):
        raise ValueError(f"pad: widths must be non-negative ints, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return Pad.apply(x, widths=tuple(widths), value=value)


def matmul(input, other, *, out=None) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: 1-D operands, batching and broadcasting
    (PyTorch's argument names: ``tm.matmul(input=a, other=b)``)."""
    a, b = input, other
    if out is not None:
        return _write_out(matmul(a, b), out, "matmul")
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
        elif isinstance(item, (list, tuple, range, np.ndarray)) and not isinstance(
            item, type(x.array)
        ):
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
    V.tensor_arg("input", x, "getitem")
    index, advanced = _index_arrays(x, index)
    _check_bounds(x, index)
    return GetItem.apply(x, index=index, advanced=advanced)


def setitem(x: Tensor, index, value) -> None:
    """``x[index] = value`` in place, with PyTorch's autograd rules.

    A leaf that requires grad raises (outside ``no_grad``). When ``x`` or ``value`` takes part
    in a graph, the write is recorded: ``x``'s node becomes a :class:`SetItem` whose gradient is
    zero at ``index`` for the old ``x`` and ``gy[index]`` for ``value``. Every write stamps the
    memory, so a backward that saved the old values raises instead of using the new ones.
    """
    record = is_grad_enabled() and (
        x.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
    )
    if record and x.requires_grad and x.is_leaf:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation "
            "(item assignment); wrap it in tm.no_grad() or assign into a clone()"
        )
    idx, advanced = _index_arrays(x, index)
    _check_bounds(x, idx)
    xp = get_array_module(x.array)
    if isinstance(value, Tensor):
        _check_same_device((x, value), (x.array, value.array))
        if not is_floating(x.dtype):
            value = value.detach()  # an integer tensor cannot carry a gradient
            record = x.requires_grad and is_grad_enabled()
        v = value if value.dtype == x.dtype else value.type(x.dtype)
    elif isinstance(value, (bool, int, float, np.number, np.bool_)):
        v = Tensor._wrap(x.dtype.type(value))
    else:
        try:
            v = Tensor._wrap(xp.asarray(value, dtype=x.dtype))
        except (TypeError, ValueError):
            raise TypeError(
                f"setitem: value must be a Tensor, a number or a nested list of numbers, got "
                f"{type(value).__name__}"
            ) from None
    region = x.array[idx].shape if v.ndim else ()
    if v.ndim:
        try:
            target = np.broadcast_shapes(v.shape, region)
        except ValueError:
            target = None
        if target != tuple(region):
            raise ValueError(
                f"setitem: cannot assign a value of shape {v.shape} to the indexed region of "
                f"shape {tuple(region)}"
            )
        if v.ndim > len(region):  # leading 1s: drop them, so the gradient has v's shape back
            v = reshape(v, *v.shape[v.ndim - len(region):])
    if not record:
        x.array[idx] = v.array
        _bump_version(x.array)
        return
    base = x.array.base
    # A view's base may be another tensor's memory that this write changes behind that tensor's
    # graph (PyTorch rebases such graphs; this library does not). Refcount 3 = the view's .base,
    # the local name and getrefcount's argument: nothing else can see the memory, so it is safe.
    if base is not None and sys.getrefcount(base) > 3:
        raise RuntimeError(
            "setitem: this tensor is a view of memory that another tensor or a saved value "
            "also uses, and autograd records the assignment; assign into the base tensor, or "
            "into a clone() of the view"
        )
    del base
    result = SetItem.apply(x, v, index=idx, advanced=advanced)
    _bump_version(x.array)
    x._ctx = result._ctx
    x._requires_grad = True


# ==============================================================================================
# PyTorch parity (issue 9): elementwise math, comparisons and logic, linear algebra, scans,
# sorting and splitting, ``dtype=`` and ``out=``. Composed from other functions unless a
# primitive is needed for stability (log1p, atan2, norms at zero, cumprod at zero) or speed.


def _tensor_arg(value, fn: str, arg: str = "input") -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be a Tensor, not {type(value).__name__}")
    return value


def _write_out(result: Tensor, out, fn: str) -> Tensor:
    """Store ``result`` in ``out`` (PyTorch's ``out=``): same shape in place, else resized."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}(): argument 'out' must be a Tensor, not {type(out).__name__}")
    if result.requires_grad or (out.requires_grad and is_grad_enabled()):
        raise RuntimeError(
            f"{fn}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad"
        )
    if out.device != result.device:
        raise RuntimeError(
            f"{fn}(): out is on device {out.device}, but the result is on {result.device}"
        )
    if not np.can_cast(result.dtype, out.dtype, "same_kind"):
        raise RuntimeError(
            f"{fn}(): result type {result.dtype} can't be cast to the desired output type "
            f"{out.dtype} of 'out'"
        )
    if out.shape == result.shape:
        out.array[...] = result.array
    else:  # PyTorch resizes out to the result's shape
        out.array = result.array.astype(out.dtype, copy=True)
    _bump_version(out.array)
    return out


def _finish(result: Tensor, out, fn: str) -> Tensor:
    return result if out is None else _write_out(result, out, fn)


# ----------------------------------------------------------------------------------------------
# arithmetic with PyTorch's keywords (the operators keep the short paths _add, _sub, ...)

_add, _sub, _mul, _div = add, sub, mul, div


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """input + alpha·other, broadcasting."""
    return _finish(_add(input, other if alpha == 1 else _mul(other, alpha)), out, "add")


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """input − alpha·other, broadcasting."""
    return _finish(_sub(input, other if alpha == 1 else _mul(other, alpha)), out, "sub")


def mul(input, other, *, out=None) -> Tensor:
    """input · other elementwise, broadcasting."""
    return _finish(_mul(input, other), out, "mul")


def _integer_pair(input, other) -> bool:
    return builtins.all(
        (isinstance(v, Tensor) and v.dtype.kind in "biu")
        or (isinstance(v, (int, np.integer)) and not isinstance(v, bool))
        for v in (input, other)
    )


def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """input / other; ``rounding_mode`` "trunc" or "floor" rounds the quotient, as PyTorch
    (exactly, in the integer dtype, for integer operands)."""
    if rounding_mode is None:
        return _finish(_div(input, other), out, "div")
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(
            f"div(): rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"
        )
    if _integer_pair(input, other):
        a, b = _binary_operands(input, other)
        _check_same_device((a, b), (a.array, b.array))
        xp = get_array_module(a.array)
        q = xp.floor_divide(a.array, b.array)
        if rounding_mode == "trunc":  # floor rounds down; trunc rounds negative quotients up
            q = q + ((xp.remainder(a.array, b.array) != 0) & ((a.array < 0) != (b.array < 0)))
        return _finish(Tensor._wrap(xp.asarray(q, dtype=a.dtype)), out, "div")
    result = _div(input, other)
    result = trunc(result) if rounding_mode == "trunc" else floor(result)
    return _finish(result, out, "div")


multiply, subtract, divide, true_divide = mul, sub, div, div


# ----------------------------------------------------------------------------------------------
# elementwise math


def _unary_float(prim, fn: str):
    def f(input: Tensor, *, out=None) -> Tensor:
        return _finish(prim.apply(_floating(_tensor_arg(input, fn))), out, fn)

    f.__name__ = f.__qualname__ = fn
    return f


sin = _unary_float(Sin, "sin")
cos = _unary_float(Cos, "cos")
tan = _unary_float(Tan, "tan")
asin = _unary_float(Asin, "asin")
acos = _unary_float(Acos, "acos")
atan = _unary_float(Atan, "atan")
sinh = _unary_float(Sinh, "sinh")
cosh = _unary_float(Cosh, "cosh")
log1p = _unary_float(Log1p, "log1p")
expm1 = _unary_float(Expm1, "expm1")
log2 = _unary_float(Log2, "log2")
log10 = _unary_float(Log10, "log10")
erf = _unary_float(Erf, "erf")
sin.__doc__ = "Sine, elementwise."
cos.__doc__ = "Cosine, elementwise."
tan.__doc__ = "Tangent, elementwise."
asin.__doc__ = "Inverse sine (NaN outside [-1, 1]), elementwise."
acos.__doc__ = "Inverse cosine (NaN outside [-1, 1]), elementwise."
atan.__doc__ = "Inverse tangent, elementwise."
sinh.__doc__ = "Hyperbolic sine, elementwise."
cosh.__doc__ = "Hyperbolic cosine, elementwise."
log1p.__doc__ = "log(1 + x), accurate for small x."
expm1.__doc__ = "exp(x) − 1, accurate for small x."
log2.__doc__ = "Base-2 logarithm, elementwise."
log10.__doc__ = "Base-10 logarithm, elementwise."
erf.__doc__ = "The error function, elementwise."
arcsin, arccos, arctan = asin, acos, atan


def _piecewise(prim, fn: str):
    def f(input: Tensor, *, out=None) -> Tensor:
        x = _tensor_arg(input, fn)
        # integers are already whole (and sign of an integer is an integer): a copy, as PyTorch
        if x.dtype.kind in "biu" and (prim is not Sign or x.dtype.kind == "b"):
            return _finish(Tensor._wrap(x.array.copy()), out, fn)
        return _finish(prim.apply(x), out, fn)

    f.__name__ = f.__qualname__ = fn
    return f


floor = _piecewise(Floor, "floor")
ceil = _piecewise(Ceil, "ceil")
trunc = _piecewise(Trunc, "trunc")
sign = _piecewise(Sign, "sign")
floor.__doc__ = "Largest integer <= x (zero gradient, as PyTorch)."
ceil.__doc__ = "Smallest integer >= x (zero gradient)."
trunc.__doc__ = "x rounded toward zero (zero gradient)."
sign.__doc__ = "−1, 0 or 1 by the sign of x (zero gradient)."
fix = trunc


def round(input: Tensor, *, decimals: int = 0, out=None) -> Tensor:  # noqa: A001
    """Round half to even (to ``decimals`` places), as PyTorch; zero gradient."""
    x = _tensor_arg(input, "round")
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round(): argument 'decimals' must be an int, got {decimals!r}")
    if x.dtype.kind in "biu" and decimals >= 0:
        return _finish(Tensor._wrap(x.array.copy()), out, "round")
    return _finish(Round.apply(x, decimals=int(decimals)), out, "round")


def reciprocal(input: Tensor, *, out=None) -> Tensor:
    """1 / x (integers give float32, as PyTorch)."""
    return _finish(_div(1.0, _floating(_tensor_arg(input, "reciprocal"))), out, "reciprocal")


def rsqrt(input: Tensor, *, out=None) -> Tensor:
    """1 / sqrt(x)."""
    return _finish(_div(1.0, sqrt(_floating(_tensor_arg(input, "rsqrt")))), out, "rsqrt")


def square(input: Tensor, *, out=None) -> Tensor:
    """x · x."""
    x = _tensor_arg(input, "square")
    return _finish(_mul(x, x), out, "square")


_pow = pow


def pow(input, exponent, *, out=None) -> Tensor:  # noqa: A001
    """input ** exponent elementwise, broadcasting (either may be a number)."""
    return _finish(_pow(input, exponent), out, "pow")


def atan2(input: Tensor, other, *, out=None) -> Tensor:
    """The angle of (other, input) in (−π, π], elementwise, broadcasting."""
    a, b = _binary_operands(_tensor_arg(input, "atan2"), other)
    a, b = _floating(a), _floating(b)
    return _finish(Atan2.apply(a, b), out, "atan2")


arctan2 = atan2


# ----------------------------------------------------------------------------------------------
# comparisons and logic (not differentiable: the results are bool tensors without grad_fn)


def _comparison(op: str, fn: str):
    def f(input, other, *, out=None) -> Tensor:
        result = compare(_tensor_arg(input, fn), other, op)
        if result is NotImplemented:
            raise TypeError(
                f"{fn}(): argument 'other' must be a Tensor or a number, not "
                f"{type(other).__name__}"
            )
        return _finish(result, out, fn)

    f.__name__ = f.__qualname__ = fn
    f.__doc__ = f"Elementwise ``input {op} other`` as a bool tensor, broadcasting."
    return f


eq = _comparison("eq", "eq")
ne = _comparison("ne", "ne")
lt = _comparison("lt", "lt")
le = _comparison("le", "le")
gt = _comparison("gt", "gt")
ge = _comparison("ge", "ge")
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and the same values."""
    a, b = _tensor_arg(input, "equal"), _tensor_arg(other, "equal", "other")
    if a.shape != b.shape:
        return False
    return bool(compare(a, b, "eq").array.all())


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input − other| <= atol + rtol·|other| elementwise (NaNs equal only with equal_nan)."""
    for arg, value in (("rtol", rtol), ("atol", atol)):
        _check_number(value, "isclose", arg)
        if not value >= 0:
            raise ValueError(f"isclose(): '{arg}' must be non-negative, got {value}")
    a, b = _binary_operands(_tensor_arg(input, "isclose"), other)
    return _raw_binary("isclose", a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when :func:`isclose` holds everywhere."""
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())


def _predicate(name: str, doc: str):
    def f(input: Tensor) -> Tensor:
        x = _tensor_arg(input, name)
        xp = get_array_module(x.array)
        return Tensor._wrap(xp.asarray(getattr(xp, name)(x.array)))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


isnan = _predicate("isnan", "True where the value is NaN.")
isinf = _predicate("isinf", "True where the value is +inf or −inf.")
isfinite = _predicate("isfinite", "True where the value is neither NaN nor infinite.")


def logical_not(input: Tensor, *, out=None) -> Tensor:
    """True where input is zero (False)."""
    x = _tensor_arg(input, "logical_not")
    xp = get_array_module(x.array)
    return _finish(Tensor._wrap(xp.asarray(xp.logical_not(x.array))), out, "logical_not")


def _logical(name: str):
    def f(input: Tensor, other, *, out=None) -> Tensor:
        a, b = _binary_operands(_tensor_arg(input, name), other)
        return _finish(_raw_binary(name, a, b), out, name)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise {name.split('_')[1]} of the truth values, broadcasting."
    return f


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


def _bitwise(name: str):
    def f(input, other, *, out=None) -> Tensor:
        if not isinstance(input, Tensor):  # a reflected operator: 1 & mask
            input, other = other, input
        a, b = _binary_operands(_tensor_arg(input, name), other)
        if a.dtype.kind not in "biu" or b.dtype.kind not in "biu":
            raise TypeError(f"{name}(): needs integer or bool tensors, got {a.dtype} and {b.dtype}")
        return _finish(_raw_binary(name, a, b), out, name)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise {name.split('_')[1]} of the bits (logical for bool), broadcasting."
    return f


bitwise_and = _bitwise("bitwise_and")
bitwise_or = _bitwise("bitwise_or")
bitwise_xor = _bitwise("bitwise_xor")


def bitwise_not(input: Tensor, *, out=None) -> Tensor:
    """Elementwise NOT of the bits (logical NOT for bool)."""
    x = _tensor_arg(input, "bitwise_not")
    if x.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not(): needs an integer or bool tensor, got {x.dtype}")
    xp = get_array_module(x.array)
    return _finish(Tensor._wrap(xp.asarray(xp.invert(x.array))), out, "bitwise_not")


def remainder(input, other, *, out=None) -> Tensor:
    """input − floor(input / other)·other: the sign of the divisor, as Python's % and PyTorch."""
    if _integer_pair(input, other):
        return _finish(_raw_binary("remainder", *_binary_operands(input, other)), out,
                       "remainder")
    return _finish(_sub(input, _mul(floor(_div(input, other)), other)), out, "remainder")


def floor_divide(input, other, *, out=None) -> Tensor:
    """floor(input / other) (integers stay integers), as Python's // and PyTorch."""
    return _finish(div(input, other, rounding_mode="floor"), out, "floor_divide")


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where any element (over all, or over ``dim``) is non-zero."""
    x = _tensor_arg(input, "any")
    axes = _reduce_axes(x, dim)
    return Tensor._wrap(get_array_module(x.array).asarray(x.array.any(axis=axes,
                                                                     keepdims=keepdim)))


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element (over all, or over ``dim``) is non-zero."""
    x = _tensor_arg(input, "all")
    axes = _reduce_axes(x, dim)
    return Tensor._wrap(get_array_module(x.array).asarray(x.array.all(axis=axes,
                                                                     keepdims=keepdim)))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one tensor per dim."""
    x = _tensor_arg(input, "nonzero")
    xp = get_array_module(x.array)
    found = xp.nonzero(x.array) if x.ndim else xp.nonzero(x.array.reshape(1))
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in found)
    if not x.ndim:
        return Tensor._wrap(xp.zeros((len(found[0]), 0), dtype=np.int64))
    return Tensor._wrap(xp.stack(found, axis=1).astype(np.int64))


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Max over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amax_or_amin(_tensor_arg(input, "amax"), dim, keepdim, use_min=False)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Min over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amax_or_amin(_tensor_arg(input, "amin"), dim, keepdim, use_min=True)


def _amax_or_amin(x: Tensor, dim, keepdim: bool, use_min: bool) -> Tensor:
    axes = _reduce_axes(x, None if dim == () else dim)
    name = "amin" if use_min else "amax"
    if builtins.any(x.shape[a] == 0 for a in axes) or (x.ndim == 0 and x.numel() == 0):
        raise ValueError(f"{name}(): cannot reduce over an empty dimension of shape {x.shape}")
    if x.ndim == 0:
        return x.clone()
    return AMax.apply(x, axes=axes, keepdim=keepdim, use_min=use_min)


# ----------------------------------------------------------------------------------------------
# linear algebra


def _check_ndim(x: Tensor, ndim: int, fn: str, arg: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{fn}(): argument '{arg}' must be {ndim}-D, got shape {x.shape}")


def mm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Matrix product of two 2-D tensors."""
    a, b = _tensor_arg(input, "mm"), _tensor_arg(mat2, "mm", "mat2")
    _check_ndim(a, 2, "mm", "input")
    _check_ndim(b, 2, "mm", "mat2")
    return _finish(matmul(a, b), out, "mm")


def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    """Matrix (2-D) times vector (1-D)."""
    a, v = _tensor_arg(input, "mv"), _tensor_arg(vec, "mv", "vec")
    _check_ndim(a, 2, "mv", "input")
    _check_ndim(v, 1, "mv", "vec")
    return _finish(matmul(a, v), out, "mv")


def bmm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p) tensors."""
    a, b = _tensor_arg(input, "bmm"), _tensor_arg(mat2, "bmm", "mat2")
    _check_ndim(a, 3, "bmm", "input")
    _check_ndim(b, 3, "bmm", "mat2")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm(): batch sizes differ: input {a.shape}, mat2 {b.shape}")
    return _finish(matmul(a, b), out, "bmm")


def dot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Inner product of two 1-D tensors of equal length."""
    a, b = _tensor_arg(input, "dot"), _tensor_arg(other, "dot", "other")
    _check_ndim(a, 1, "dot", "input")
    _check_ndim(b, 1, "dot", "other")
    if a.shape != b.shape:
        raise ValueError(f"dot(): input and other differ in length: {a.shape} and {b.shape}")
    return _finish(matmul(a, b), out, "dot")


inner_product = dot


def outer(input: Tensor, vec2: Tensor, *, out=None) -> Tensor:
    """Outer product of two 1-D tensors: (n,) × (m,) → (n, m)."""
    a, b = _tensor_arg(input, "outer"), _tensor_arg(vec2, "outer", "vec2")
    _check_ndim(a, 1, "outer", "input")
    _check_ndim(b, 1, "outer", "vec2")
    return _finish(_mul(reshape(a, -1, 1), reshape(b, 1, -1)), out, "outer")


ger = outer

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation as ``torch.einsum`` ("ij,jk->ik", implicit output, "...")."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' must be a str, got {equation!r}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): at least one operand is required")
    for i, t in enumerate(operands):
        _tensor_arg(t, "einsum", f"operands[{i}]")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(operands):
        raise ValueError(
            f"einsum(): the equation {equation!r} names {len(subs)} operands, but "
            f"{len(operands)} were given"
        )
    for s in subs + [rhs]:
        letters = s.replace("...", "")
        if builtins.any(c not in _LETTERS for c in letters):
            raise ValueError(f"einsum(): invalid subscripts {s!r} in equation {equation!r}")
    used = set(eq)
    pool = [c for c in _LETTERS if c not in used]
    # '...' becomes explicit letters, aligned to the right as broadcasting aligns dimensions
    n_ellipsis = 0
    for s, t in zip(subs, operands):
        if "..." in s:
            n_ellipsis = builtins.max(n_ellipsis, t.ndim - len(s.replace("...", "")))
    ell = "".join(pool[:n_ellipsis])
    explicit = []
    for s, t in zip(subs, operands):
        named = len(s.replace("...", ""))
        if "..." in s:
            k = t.ndim - named
            if k < 0:
                raise ValueError(f"einsum(): operand of shape {t.shape} has too few dimensions "
                                 f"for subscripts {s!r}")
            s = s.replace("...", ell[n_ellipsis - k:])
        if len(s) != t.ndim:
            raise ValueError(
                f"einsum(): subscripts {s!r} name {len(s)} dimensions, but the operand has "
                f"shape {t.shape}"
            )
        explicit.append(s)
    if arrow:
        if "..." not in rhs and ell and "..." in lhs:
            out = rhs  # the ellipsis dimensions are summed
        else:
            out = rhs.replace("...", ell)
    else:
        counts = {c: "".join(explicit).count(c) for c in set("".join(explicit))}
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    sizes = {}
    for s, t in zip(explicit, operands):
        for c, n in zip(s, t.shape):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise ValueError(
                    f"einsum(): subscript {c!r} has size {n} in one operand and {sizes[c]} in "
                    f"another"
                )
            sizes[c] = builtins.max(sizes.get(c, 1), n)
    for c in out:
        if c not in sizes:
            raise ValueError(f"einsum(): output subscript {c!r} does not appear in the inputs")
    if len(set(out)) != len(out):
        raise ValueError(f"einsum(): output subscript repeated in {equation!r}")
    dtype = np.result_type(*[t.dtype for t in operands])
    operands = [t.type(dtype) for t in operands]
    _check_same_device(operands, [t.array for t in operands])
    return Einsum.apply(*operands, subs=tuple(explicit), out=out)


def _vector_norm(x: Tensor, ord, dim, keepdim: bool, fn: str) -> Tensor:
    if isinstance(ord, bool) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"{fn}(): argument 'ord' must be a number or inf, got {ord!r}")
    if not is_floating(x.dtype):
        raise TypeError(f"{fn}(): expected a floating point tensor as input, got {x.dtype}")
    if ord == float("inf"):
        return amax(abs(x), () if dim is None else dim, keepdim)
    if ord == float("-inf"):
        return amin(abs(x), () if dim is None else dim, keepdim)
    axes = _reduce_axes(x, dim)
    if ord == 0:
        return sum(compare(x, 0, "ne").type(x.dtype), dim, keepdim)
    if ord != ord:
        raise ValueError(f"{fn}(): argument 'ord' must not be NaN")
    return VectorNorm.apply(x, ord=ord, axes=axes, keepdim=keepdim)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """(Σ|x|^ord)^(1/ord) over ``dim`` (all elements by default); ord may be ±inf or 0."""
    x = _tensor_arg(x, "vector_norm", "x")
    if dtype is not None:
        x = x.type(dtype)
    return _vector_norm(x, ord, dim, keepdim, "vector_norm")


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """Frobenius (``'fro'``), nuclear (``'nuc'``), spectral (``±2``, the largest/smallest
    singular value) or induced 1/∞ norms (``±1``, ``±inf``) of matrices over ``dim``."""
    A = _tensor_arg(A, "matrix_norm", "A")
    if dtype is not None:
        A = A.type(dtype)
    if A.ndim < 2:
        raise ValueError(f"matrix_norm(): A must have at least 2 dimensions, got {A.shape}")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ValueError(f"matrix_norm(): dim must be a 2-tuple of ints, got {dim!r}")
    d0, d1 = (_normalize_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise ValueError(f"matrix_norm(): dim must name two different dimensions, got {dim!r}")
    if ord == "fro":
        return _vector_norm(A, 2, (d0, d1), keepdim, "matrix_norm")
    if ord in (1, -1, float("inf"), float("-inf")) and not isinstance(ord, bool):
        # ±1: the largest/smallest column sum of |A|; ±inf: the same over rows
        summed, over = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = sum(abs(A), summed, keepdim=True)
        reduce = amax if ord > 0 else amin
        result = reduce(sums, over, keepdim=True)
        return result if keepdim else squeeze(result, (d0, d1))
    if ord == "nuc" or (ord in (2, -2) and not isinstance(ord, bool)):
        # from the singular values: their sum ('nuc'), the largest (2) or smallest (-2)
        rest = [i for i in range(A.ndim) if i not in (d0, d1)]
        s = SVDVals.apply(permute(A, *rest, d0, d1))
        result = sum(s, -1) if ord == "nuc" else (amax if ord == 2 else amin)(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                result = unsqueeze(result, d)
        return result
    raise ValueError(
        f"matrix_norm(): ord {ord!r} is not supported; use 'fro', 'nuc', 1, -1, 2, -2, inf or "
        "-inf"
    )


def linalg_norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm over one dim (or all elements when ord and dim are
    None), a matrix norm over two dims or of a 2-D input."""
    A = _tensor_arg(A, "norm", "A")
    if dtype is not None:
        A = A.type(dtype)
    if dim is None:
        if ord is None:
            return _vector_norm(A, 2, None, keepdim, "norm")
        if A.ndim == 1:
            return _vector_norm(A, ord, None, keepdim, "norm")
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim)
        raise ValueError(f"norm(): with ord={ord!r} and dim=None the input must be 1-D or 2-D, "
                         f"got shape {A.shape}")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) == 1:
        return _vector_norm(A, 2 if ord is None else ord, dims, keepdim, "norm")
    if len(dims) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
    raise ValueError(f"norm(): dim must name 1 or 2 dimensions, got {dim!r}")


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None,
         dtype=None) -> Tensor:
    """``torch.norm``: 'fro' (the 2-norm over ``dim`` or all elements) or a p-norm."""
    x = _tensor_arg(input, "norm")
    if dtype is not None:
        x = x.type(dtype)
    if p == "fro" or p is None:
        result = _vector_norm(x, 2, dim, keepdim, "norm")
    elif p == "nuc":
        result = matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
    elif isinstance(p, str):
        raise ValueError(f"norm(): argument 'p' must be a number, 'fro' or 'nuc', got {p!r}")
    else:
        result = _vector_norm(x, p, dim, keepdim, "norm")
    return _finish(result, out, "norm")


# ----------------------------------------------------------------------------------------------
# scans, products, sorting


def _scan(prim, input, dim, dtype, out, fn: str) -> Tensor:
    x = _tensor_arg(input, fn)
    d = _normalize_dim(dim, x.ndim)
    if dtype is not None:
        x = x.type(dtype)
    if x.ndim == 0:
        return _finish(reshape(prim.apply(reshape(x, 1), dim=0), ()), out, fn)
    return _finish(prim.apply(x, dim=d), out, fn)


def cumsum(input: Tensor, dim: int, *, dtype=None, out=None) -> Tensor:
    """Running sums along ``dim``."""
    return _scan(CumSum, input, dim, dtype, out, "cumsum")


def cumprod(input: Tensor, dim: int, *, dtype=None, out=None) -> Tensor:
    """Running products along ``dim``; the gradient is exact at zeros (no division by 0)."""
    return _scan(CumProd, input, dim, dtype, out, "cumprod")


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements or along ``dim``: the last running product."""
    x = _tensor_arg(input, "prod")
    if dtype is not None:
        x = x.type(dtype)
    if dim is None:
        if x.numel() == 0:
            return Tensor._wrap(get_array_module(x.array).ones((), dtype=x.array.prod().dtype))
        return getitem(cumprod(reshape(x, -1), 0), -1)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod(): argument 'dim' must be an int, got {dim!r}")
    d = _normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return x.clone()
    n = x.shape[d]
    if n == 0:
        xp = get_array_module(x.array)
        return Tensor._wrap(x.array.prod(axis=d, keepdims=keepdim) if x.array.size == 0
                            else xp.ones(()))
    last = getitem(cumprod(x, d), (slice(None),) * d + (n - 1,))
    return unsqueeze(last, d) if keepdim else last


def _gather_index(index_array, dim: int, xp) -> tuple:
    """An advanced index that picks ``index_array``'s positions along ``dim`` (take_along)."""
    ndim = index_array.ndim
    index = []
    for a in range(ndim):
        if a == dim:
            index.append(index_array)
        else:
            shape = [1] * ndim
            shape[a] = index_array.shape[a]
            index.append(xp.arange(index_array.shape[a]).reshape(shape))
    return tuple(index)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on), differentiable in input."""
    x = _tensor_arg(input, "gather")
    idx = _tensor_arg(index, "gather", "index")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather(): argument 'index' must be an integer tensor, got {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ValueError(f"gather(): index has {idx.ndim} dimensions but input has {x.ndim}")
    d = _normalize_dim(dim, x.ndim)
    for a in range(x.ndim):
        if a != d and idx.shape[a] > x.shape[a]:
            raise ValueError(f"gather(): index shape {idx.shape} exceeds input shape {x.shape} "
                             f"at dimension {a}")
    if x.ndim == 0:
        return getitem(reshape(x, 1), idx.array.reshape(1)).reshape(())
    return getitem(x, _gather_index(idx.array, d, get_array_module(x.array)))


def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:
    """Pick values along ``dim`` at ``indices`` (both flattened when dim is None)."""
    x = _tensor_arg(input, "take_along_dim")
    idx = _tensor_arg(indices, "take_along_dim", "indices")
    if dim is None:
        return gather(reshape(x, -1), 0, reshape(idx, -1))
    return gather(x, dim, idx)


# ----------------------------------------------------------------------------------------------
# masks, scatter and index_* (PyTorch's indexing functions). Each is composed from the indexing
# primitives (GetItem, IndexScatter, SetItem, Where), so each is twice differentiable; the
# in-place spellings (masked_fill_, scatter_, ...) are Tensor methods over these.


def _bool_mask(mask, x: Tensor, fn: str) -> Tensor:
    m = _tensor_arg(mask, fn, "mask")
    if m.dtype.kind != "b":
        raise TypeError(f"{fn}(): argument 'mask' must be a bool tensor, got dtype {m.dtype}")
    _check_same_device((x, m), (x.array, m.array))
    return m


def _fill_value(value, x: Tensor, fn: str) -> Tensor:
    """A number, or a 0-d tensor (differentiable), as a constant of ``x``'s dtype."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"{fn}(): argument 'value' must be a number or a 0-dimensional "
                             f"tensor, got a tensor of shape {tuple(value.shape)}")
        _check_same_device((x, value), (x.array, value.array))
        return value if value.dtype == x.dtype else value.type(x.dtype)
    if not isinstance(value, (bool, int, float, np.number, np.bool_)):
        raise TypeError(f"{fn}(): argument 'value' must be a number or a 0-dimensional tensor, "
                        f"got {type(value).__name__}")
    if x.dtype.kind in "iu" and not isinstance(value, (bool, np.bool_)):
        # PyTorch's cast: a float truncates toward zero; what does not fit raises
        info = np.iinfo(x.dtype)
        if not (math.isfinite(value) and info.min <= math.trunc(value) <= info.max):
            raise ValueError(f"{fn}(): value {value!r} cannot be converted to dtype {x.dtype} "
                             "without overflow")
        value = math.trunc(value)
    return Tensor._wrap(x.dtype.type(value))


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``value`` where ``mask`` (bool, broadcast with input) is true, else ``input``."""
    x = _tensor_arg(input, "masked_fill")
    m = _bool_mask(mask, x, "masked_fill")
    v = _fill_value(value, x, "masked_fill")
    _broadcast_shape(x.shape, m.shape)
    # x first: Where takes its array module from its first operand (v may be a host scalar)
    return Where.apply(x, v, condition=~m.array)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is true, as a 1-D tensor (both broadcast)."""
    x = _tensor_arg(input, "masked_select")
    m = _bool_mask(mask, x, "masked_select")
    shape = _broadcast_shape(x.shape, m.shape)
    if tuple(x.shape) != shape:
        x = expand(x, *shape)
    m_array = get_array_module(m.array).broadcast_to(m.array, shape)
    return GetItem.apply(x, index=(m_array,), advanced=True)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the positions where ``mask`` is true filled, in row-major order, by
    consecutive elements of ``source`` (which needs at least ``mask.sum()`` elements)."""
    x = _tensor_arg(input, "masked_scatter")
    m = _bool_mask(mask, x, "masked_scatter")
    src = _tensor_arg(source, "masked_scatter", "source")
    _check_same_device((x, src), (x.array, src.array))
    if src.dtype != x.dtype:
        raise TypeError(f"masked_scatter(): argument 'source' must have the input's dtype "
                        f"{x.dtype}, got {src.dtype}")
    shape = _broadcast_shape(x.shape, m.shape)
    xp = get_array_module(m.array)
    m_array = xp.broadcast_to(m.array, shape)
    count = m_array.sum()
    backend.check(count > src.numel(), ValueError, lambda: (
        f"masked_scatter(): the mask selects {int(count)} elements but 'source' has only "
        f"{src.numel()}"))
    if src.numel() == 0:  # nothing selected (checked above): the input, broadcast
        return Where.apply(x, x, condition=m_array)
    # the k-th selected position takes source's k-th element; unselected ones pick element 0,
    # which the where discards (so no gradient reaches it from there)
    positions = xp.maximum(xp.cumsum(m_array.reshape(-1)) - 1, 0).reshape(shape)
    taken = GetItem.apply(reshape(src, -1), index=(positions,), advanced=True)
    return Where.apply(taken, x, condition=m_array)


def _index_tensor(index, fn: str, arg: str = "index") -> Tensor:
    idx = _tensor_arg(index, fn, arg)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{fn}(): argument '{arg}' must be an integer tensor, got {idx.dtype}")
    return idx


def _check_index_range(idx_array, size: int, dim: int, fn: str, negative_ok: bool) -> None:
    """IndexError for an index outside [0, size) (or [-size, size) where negatives count
    from the end); on a GPU the check runs at the next sync."""
    if idx_array.size == 0:
        return
    low = -size if negative_ok else 0
    bad = (idx_array < low) | (idx_array >= size)

    def message():
        shown = idx_array[bad].reshape(-1)[0].item()
        return f"{fn}(): index {shown} is out of bounds for dimension {dim} with size {size}"

    backend.check(bad.any(), IndexError, message)


def _scatter_operands(input, dim, index, src, fn: str, src_arg: str = "src"):
    """Checked (x, d, index array, src tensor or None) of the scatter family, with 0-d
    operands viewed as 1-D (PyTorch treats them as one element)."""
    x = _tensor_arg(input, fn)
    idx = _index_tensor(index, fn)
    _check_same_device((x, idx), (x.array, idx.array))
    d = _normalize_dim(dim, x.ndim)
    if idx.ndim != builtins.max(x.ndim, 1) and not (idx.ndim == 0 and x.ndim <= 1):
        raise ValueError(f"{fn}(): argument 'index' has {idx.ndim} dimensions but input has "
                         f"{x.ndim}; they must have the same number")
    if isinstance(src, Tensor):
        _check_same_device((x, src), (x.array, src.array))
        if src.dtype != x.dtype:
            raise TypeError(f"{fn}(): argument '{src_arg}' must have the input's dtype "
                            f"{x.dtype}, got {src.dtype}")
        if src.ndim != idx.ndim and not (src.ndim <= 1 and idx.ndim <= 1):
            raise ValueError(f"{fn}(): argument '{src_arg}' has {src.ndim} dimensions but "
                             f"index has {idx.ndim}; they must have the same number")
    idx_array = idx.array.reshape(-1) if idx.ndim == 0 else idx.array
    x_shape = tuple(x.shape) or (1,)
    for a, n in enumerate(idx_array.shape):
        if a != d and n > x_shape[a]:
            raise ValueError(f"{fn}(): index of shape {tuple(idx.shape)} is larger than input "
                             f"of shape {tuple(x.shape)} at dimension {a}")
        if isinstance(src, Tensor) and n > (tuple(src.shape) or (1,))[a]:
            raise ValueError(f"{fn}(): index of shape {tuple(idx.shape)} is larger than "
                             f"'{src_arg}' of shape {tuple(src.shape)} at dimension {a}")
    _check_index_range(idx_array, x_shape[d], d, fn, negative_ok=False)
    return x, d, idx_array, src


def _scatter_source(src, idx_array) -> Tensor:
    """The part of ``src`` that the index covers (PyTorch reads src[i][j] at index[i][j])."""
    s = reshape(src, 1) if src.ndim == 0 else src
    if tuple(s.shape) != tuple(idx_array.shape):
        s = getitem(s, tuple(slice(0, n) for n in idx_array.shape))
    return s


def _as_1d(x: Tensor) -> Tensor:
    return reshape(x, 1) if x.ndim == 0 else x


def _set_at(x: Tensor, index: tuple, value: Tensor) -> Tensor:
    """A copy of ``x`` with ``value`` written at ``index`` (the gradient for ``x`` is zero
    there, the gradient for ``value`` is the upstream gradient read at ``index``)."""
    return SetItem.apply(x.clone(), value, index=index, advanced=True)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce=None) -> Tensor:
    """Write ``src`` (a tensor, or a number as ``value``) into a copy of ``input`` along
    ``dim``: ``out[index[i][j]][j] = src[i][j]`` for dim 0, and so on. With repeated indices
    one of the written values wins (PyTorch leaves which unspecified). ``reduce`` "add" or
    "multiply" accumulates instead (PyTorch's older spelling of :func:`scatter_reduce`)."""
    if src is not None and value is not None:
        raise TypeError("scatter(): pass either 'src' or 'value', not both")
    if src is None and value is None:
        raise TypeError("scatter(): missing argument 'src' (a tensor) or 'value' (a number)")
    if src is not None and not isinstance(src, Tensor):
        value, src = src, None  # scatter(dim, index, 1.0): PyTorch's value overload
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ValueError(f"scatter(): argument 'reduce' must be 'add' or 'multiply', got "
                             f"{reduce!r}")
        x = _tensor_arg(input, "scatter")
        if src is None:
            shape = tuple(_index_tensor(index, "scatter").shape)
            src = Tensor._wrap(get_array_module(x.array).full(
                shape, _fill_value(value, x, "scatter").array, dtype=x.dtype))
        return scatter_reduce(x, dim, index, src, "sum" if reduce == "add" else "prod")
    x, d, idx_array, src = _scatter_operands(input, dim, index, src, "scatter")
    v = _fill_value(value, x, "scatter") if src is None else _scatter_source(src, idx_array)
    xp = get_array_module(x.array)
    out = _set_at(_as_1d(x), _gather_index(idx_array, d, xp), v)
    return reshape(out, ()) if x.ndim == 0 else out


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` plus ``src`` summed into it along ``dim`` at ``index`` (repeated indices add up):
    ``out[index[i][j]][j] += src[i][j]`` for dim 0."""
    x, d, idx_array, src = _scatter_operands(input, dim, index, _tensor_arg(src, "scatter_add",
                                                                            "src"), "scatter_add")
    xp = get_array_module(x.array)
    s = _scatter_source(src, idx_array)
    added = IndexScatter.apply(s, shape=tuple(x.shape) or (1,),
                               index=_gather_index(idx_array, d, xp), advanced=True)
    return x + (reshape(added, ()) if x.ndim == 0 else added)


def _reduce_name(reduce) -> str:
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise ValueError(f"scatter_reduce(): argument 'reduce' must be one of 'sum', 'prod', "
                         f"'mean', 'amax', 'amin', got {reduce!r}")
    return reduce


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into ``input`` along ``dim`` at ``index`` with "sum", "prod", "mean",
    "amax" or "amin"; ``include_self=False`` leaves the old values of the written positions
    out of the reduction. Ties of amax/amin share the gradient evenly, as PyTorch."""
    reduce = _reduce_name(reduce)
    include_self = V.flag("include_self", include_self, where="scatter_reduce")
    x, d, idx_array, src = _scatter_operands(
        input, dim, index, _tensor_arg(src, "scatter_reduce", "src"), "scatter_reduce")
    xp = get_array_module(x.array)
    x1, s = _as_1d(x), _scatter_source(src, idx_array)
    where_idx = _gather_index(idx_array, d, xp)
    if reduce in ("sum", "mean"):
        written = xp.zeros(x1.shape, dtype=bool)
        written[where_idx] = True
        base = x1 if include_self else Where.apply(
            x1, Tensor._wrap(x.dtype.type(0)), condition=~written)
        out = base + IndexScatter.apply(s, shape=tuple(x1.shape), index=where_idx,
                                        advanced=True)
        if reduce == "mean":
            count = xp.zeros(x1.shape, dtype=x.dtype)
            backend.scatter_add(count, where_idx, xp.ones(idx_array.shape, dtype=x.dtype))
            count = count + (1 if include_self else 0)
            count = xp.where(count == 0, 1, count).astype(x.dtype)  # positions never written
            out = out / Tensor._wrap(count) if x.dtype.kind == "f" else Tensor._wrap(
                xp.floor_divide(out.array, count).astype(x.dtype))
    else:
        out = ScatterReduce.apply(x1, s, index=where_idx, reduce=reduce,
                                  include_self=include_self)
    return reshape(out, ()) if x.ndim == 0 else out


def _index_operands(input, dim, index, fn: str):
    """(x viewed as ≥1-D, d, 1-D index array, the advanced index along d) for index_*."""
    x = _tensor_arg(input, fn)
    idx = _index_tensor(index, fn)
    _check_same_device((x, idx), (x.array, idx.array))
    if idx.ndim > 1:
        raise ValueError(f"{fn}(): argument 'index' must be 0- or 1-dimensional, got shape "
                         f"{tuple(idx.shape)}")
    d = _normalize_dim(dim, x.ndim)
    x1 = _as_1d(x)
    idx_array = idx.array.reshape(-1)
    _check_index_range(idx_array, x1.shape[d], d, fn, negative_ok=False)
    return x1, d, idx_array, (slice(None),) * d + (idx_array,)


def _index_source(source, x1: Tensor, d: int, n: int, fn: str) -> Tensor:
    src = _tensor_arg(source, fn, "source")
    _check_same_device((x1, src), (x1.array, src.array))
    if src.dtype != x1.dtype:
        raise TypeError(f"{fn}(): argument 'source' must have the input's dtype {x1.dtype}, "
                        f"got {src.dtype}")
    expected = tuple(x1.shape[:d]) + (n,) + tuple(x1.shape[d + 1:])
    src1 = _as_1d(src)
    if tuple(src1.shape) != expected:
        raise ValueError(f"{fn}(): argument 'source' must have shape {expected} (the input's "
                         f"with dimension {d} of the index's length), got {tuple(src.shape)}")
    return src1


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` along ``dim`` at the (0- or 1-D) ``index``."""
    x1, d, idx_array, where_idx = _index_operands(input, dim, index, "index_select")
    out = GetItem.apply(x1, index=where_idx, advanced=True)
    return reshape(out, ()) if input.ndim == 0 else out


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """``input`` with ``alpha · source`` added to its slices along ``dim`` at ``index``
    (repeated indices add up)."""
    x1, d, idx_array, where_idx = _index_operands(input, dim, index, "index_add")
    src = _index_source(source, x1, d, idx_array.shape[0], "index_add")
    if not V.is_real(alpha):
        raise TypeError(f"index_add(): argument 'alpha' must be a number, got {V.describe(alpha)}")
    if alpha != 1:
        src = src * alpha
    out = x1 + IndexScatter.apply(src, shape=tuple(x1.shape), index=where_idx, advanced=True)
    return reshape(out, ()) if input.ndim == 0 else out


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` whose slices along ``dim`` at ``index`` are ``source``'s."""
    x1, d, idx_array, where_idx = _index_operands(input, dim, index, "index_copy")
    src = _index_source(source, x1, d, idx_array.shape[0], "index_copy")
    out = _set_at(x1, where_idx, src)
    return reshape(out, ()) if input.ndim == 0 else out


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` whose slices along ``dim`` at ``index`` hold ``value`` (a number
    or a 0-d tensor)."""
    x1, d, idx_array, where_idx = _index_operands(input, dim, index, "index_fill")
    v = _fill_value(value, x1, "index_fill")
    written = get_array_module(x1.array).zeros(x1.shape, dtype=bool)
    written[where_idx] = True
    out = Where.apply(x1, v, condition=~written)
    return reshape(out, ()) if input.ndim == 0 else out


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as 1-D at ``index`` (negative indices count from the end); the result
    has the index's shape."""
    x = _tensor_arg(input, "take")
    idx = _index_tensor(index, "take")
    _check_same_device((x, idx), (x.array, idx.array))
    _check_index_range(idx.array, x.numel(), 0, "take", negative_ok=True)
    return GetItem.apply(reshape(x, -1), index=(idx.array,), advanced=True)


# ----------------------------------------------------------------------------------------------
# small composites with in-place spellings (clamp_min_, addcmul_, lerp_, ...)


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002  (PyTorch's argument name)
    """max(input, min) for a number ``min``."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    """min(input, max) for a number ``max``."""
    return clamp(input, max=max)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value · tensor1 · tensor2, broadcasting."""
    _tensor_arg(input, "addcmul")
    product = _mul(_tensor_arg(tensor1, "addcmul", "tensor1"),
                   _tensor_arg(tensor2, "addcmul", "tensor2"))
    return _add(input, product if value == 1 else _mul(product, value))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value · tensor1 / tensor2, broadcasting."""
    _tensor_arg(input, "addcdiv")
    t1, t2 = _tensor_arg(tensor1, "addcdiv", "tensor1"), _tensor_arg(tensor2, "addcdiv", "tensor2")
    if t1.dtype.kind in "biu" and t2.dtype.kind in "biu":
        raise TypeError("addcdiv(): integer division of 'tensor1' by 'tensor2' is not "
                        "supported; use floating point tensors")
    quotient = _div(t1, t2)
    return _add(input, quotient if value == 1 else _mul(quotient, value))


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight · (end − input); ``weight`` a number or a tensor, broadcasting."""
    x = _tensor_arg(input, "lerp")
    e = _tensor_arg(end, "lerp", "end")
    return _add(x, _mul(_sub(e, x), weight))


SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _argsort_array(x: Tensor, d: int, descending: bool):
    xp = get_array_module(x.array)
    key = x.array
    if descending:
        if key.dtype.kind == "b":
            key = ~key
        elif key.dtype.kind == "u":
            key = key.max() - key
        elif key.dtype.kind == "f":
            key = xp.where(xp.isnan(key), -xp.inf, -key)  # NaN first, as PyTorch
        else:
            key = -key
    return xp.argsort(key, axis=d, kind="stable").astype(np.int64)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` sorted along ``dim``; values are differentiable. The sort is
    always stable (ties keep their order)."""
    x = _tensor_arg(input, "sort")
    d = _normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return SortResult(x.clone(), Tensor._wrap(get_array_module(x.array).zeros((), np.int64)))
    idx = _argsort_array(x, d, descending)
    return SortResult(getitem(x, _gather_index(idx, d, get_array_module(x.array))),
                      Tensor._wrap(idx))


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (stable)."""
    x = _tensor_arg(input, "argsort")
    d = _normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return Tensor._wrap(get_array_module(x.array).zeros((), np.int64))
    return Tensor._wrap(_argsort_array(x, d, descending))


def msort(input: Tensor) -> Tensor:
    """Values sorted along dimension 0."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the k largest (or smallest) along ``dim``, in sorted order."""
    x = _tensor_arg(input, "topk")
    d = _normalize_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"topk(): argument 'k' must be an int in [0, {n}], got {k!r}")
    if x.ndim == 0:
        return TopkResult(x.clone(), Tensor._wrap(get_array_module(x.array).zeros((), np.int64)))
    idx = _argsort_array(x, d, largest)[(slice(None),) * d + (slice(0, int(k)),)]
    return TopkResult(getitem(x, _gather_index(idx, d, get_array_module(x.array))),
                      Tensor._wrap(idx))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim=None):
    """The distinct values (sorted), optionally with inverse indices and counts; not
    differentiable (as PyTorch)."""
    x = _tensor_arg(input, "unique")
    xp = get_array_module(x.array)
    if dim is None:
        found = xp.unique(x.array.reshape(-1), return_inverse=True, return_counts=True)
        inverse = found[1].reshape(x.shape)
    else:
        d = _normalize_dim(dim, x.ndim)
        found = xp.unique(x.array, return_inverse=True, return_counts=True, axis=d)
        inverse = found[1].reshape(-1)
    values = Tensor._wrap(found[0])
    if not return_inverse and not return_counts:
        return values
    result = [values]
    if return_inverse:
        result.append(Tensor._wrap(inverse.astype(np.int64)))
    if return_counts:
        result.append(Tensor._wrap(found[2].astype(np.int64)))
    return tuple(result)


# ----------------------------------------------------------------------------------------------
# splitting and triangles


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the
    given section sizes."""
    x = _tensor_arg(tensor, "split", "tensor")
    d = _normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        raise ValueError("split(): cannot split a 0-d tensor")
    n = x.shape[d]
    sizes = split_size_or_sections
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        if sizes <= 0 and not (sizes == 0 and n == 0):
            raise ValueError(f"split(): split_size must be a positive int, got {sizes}")
        sizes = [sizes] * (n // sizes) + ([n % sizes] if n % sizes else []) if sizes else [0]
    else:
        try:
            sizes = [int(s) for s in sizes]
        except (TypeError, ValueError):
            raise TypeError(
                "split(): split_size_or_sections must be an int or a sequence of ints, got "
                f"{split_size_or_sections!r}"
            ) from None
        if builtins.any(s < 0 for s in sizes) or builtins.sum(sizes) != n:
            raise ValueError(
                f"split(): sections {sizes} must be non-negative and sum to the size {n} of "
                f"dimension {dim}"
            )
    lead = (slice(None),) * d
    pieces, start = [], 0
    for s in sizes:
        pieces.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of equal size (the last may be smaller), as PyTorch."""
    x = _tensor_arg(input, "chunk")
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk(): argument 'chunks' must be a positive int, got {chunks!r}")
    d = _normalize_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 0
    size = -(-n // chunks)
    if size == 0:
        return split(x, [0] * chunks if n == 0 else [n], d)
    return split(x, int(size), d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, with that dimension removed."""
    x = _tensor_arg(input, "unbind")
    d = _normalize_dim(dim, x.ndim)
    return tuple(getitem(x, (slice(None),) * d + (i,)) for i in range(x.shape[d]))


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """``input`` restricted to ``start : start + length`` along ``dim``, as ``torch.narrow``:
    ``start`` may be negative (counted from the end) or a 0-d integer tensor."""
    x = _tensor_arg(input, "narrow")
    if x.ndim == 0:
        raise ValueError("narrow(): cannot be applied to a 0-dim tensor")
    d = _normalize_dim(dim, x.ndim)
    if isinstance(start, Tensor) and start.ndim == 0 and start.dtype.kind in "iu":
        start = start.item()
    for name, value in (("start", start), ("length", length)):
        if not V.is_int(value):
            raise TypeError(
                f"narrow(): argument '{name}' must be an int, got {type(value).__name__}"
            )
    n = x.shape[d]
    if not -n <= start <= n:
        raise IndexError(
            f"narrow(): start out of range (expected to be in range of [{-n}, {n}], "
            f"but got {start})"
        )
    start = int(start) % n if n and start < 0 else int(start)
    if length < 0 or start + length > n:
        raise ValueError(
            f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({n}), or "
            "length is negative"
        )
    return getitem(x, (slice(None),) * d + (slice(start, start + int(length)),))


def _int_list(value, fn: str, arg: str) -> list:
    """An int or a sequence of ints (``shifts``, ``dims``, ``sizes``) as a list of ints."""
    items = list(value) if isinstance(value, (Sequence, np.ndarray)) else [value]
    for v in items:
        if not V.is_int(v):
            raise TypeError(f"{fn}(): argument '{arg}' must be an int or a tuple of ints, "
                            f"got {value!r}")
    return [int(v) for v in items]


def flip(input: Tensor, dims) -> Tensor:
    """``input`` with the order of its elements reversed along each of ``dims``."""
    x = _tensor_arg(input, "flip")
    axes = [_normalize_dim(d, x.ndim) for d in _int_list(dims, "flip", "dims")]
    if len(set(axes)) != len(axes):
        raise ValueError(f"flip(): dims has a dimension more than once: {dims!r}")
    if x.ndim == 0 or not axes:
        return x.clone()
    index = tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(x.ndim))
    return getitem(x, index).clone()  # a copy, as torch.flip (a reversed view would alias)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Elements shifted by ``shifts`` along ``dims``, wrapping around (the flattened tensor when
    ``dims`` is None), as ``torch.roll``."""
    x = _tensor_arg(input, "roll")
    shifts = _int_list(shifts, "roll", "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll(): shifts {shifts} needs dims with as many entries")
        return roll(reshape(x, -1), shifts[0], 0).reshape(x.shape)
    axes = [_normalize_dim(d, x.ndim) for d in _int_list(dims, "roll", "dims")]
    if len(axes) != len(shifts):
        raise ValueError(
            f"roll(): shifts and dimensions must align. shifts: {len(shifts)}, dims: {len(axes)}"
        )
    out = x
    for shift, d in zip(shifts, axes):
        n = out.shape[d]
        k = shift % n if n else 0
        if k:
            out = cat([narrow(out, d, n - k, k), narrow(out, d, 0, n - k)], d)
    return out


def tile(input: Tensor, dims) -> Tensor:
    """``input`` repeated ``dims[i]`` times along each dimension, ``dims`` padded with leading
    ones to the input's rank (and the input with leading size-1 dimensions to ``dims``')."""
    x = _tensor_arg(input, "tile")
    reps = _int_list(dims, "tile", "dims")
    reps = [1] * (x.ndim - len(reps)) + reps
    return _repeat(x, reps, "tile")


def _repeat(x: Tensor, reps: list, fn: str) -> Tensor:
    if not reps and x.ndim == 0:
        return x.clone()
    if len(reps) < x.ndim:
        raise ValueError(
            f"{fn}(): number of dimensions of repeat dims ({len(reps)}) can not be smaller than "
            f"number of dimensions of tensor ({x.ndim})"
        )
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"{fn}(): repeats must be non-negative, got {reps}")
    shape = (1,) * (len(reps) - x.ndim) + tuple(x.shape)
    # (a, b) by (r, s): view as (1, a, 1, b), broadcast to (r, a, s, b), then merge the pairs
    spread = reshape(x, *[v for n in shape for v in (1, n)])
    spread = expand(spread, *[v for r, n in zip(reps, shape) for v in (r, n)])
    return reshape(spread, *[r * n for r, n in zip(reps, shape)])


def repeat_interleave(input: Tensor, repeats, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times (an int, or one count per element along
    ``dim``); the flattened input when ``dim`` is None."""
    x = _tensor_arg(input, "repeat_interleave")
    if dim is None:
        x, dim = reshape(x, -1), 0
    d = _normalize_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if isinstance(repeats, Tensor):
        if repeats.dtype.kind not in "iu" or repeats.ndim > 1:
            raise TypeError("repeat_interleave(): repeats must be an int or a 0-d/1-d int tensor")
        counts = [int(c) for c in repeats.reshape(-1).tolist()]
    elif V.is_int(repeats):
        counts = [int(repeats)]
    else:
        raise TypeError(
            f"repeat_interleave(): repeats must be an int or a Tensor, got {type(repeats).__name__}"
        )
    if len(counts) == 1:
        counts = counts * n
    if len(counts) != n:
        raise ValueError(
            f"repeat_interleave(): repeats must have the same size as input along dim, "
            f"got {len(counts)} repeats for size {n}"
        )
    if builtins.any(c < 0 for c in counts):
        raise ValueError("repeat_interleave(): repeats can not be negative")
    xp = get_array_module(x.array)
    with backend.device_context(x.device):
        index = xp.repeat(xp.arange(n, dtype=np.int64), counts)
    if output_size is not None and output_size != index.shape[0]:
        raise ValueError(
            f"repeat_interleave(): output_size {output_size} does not match the "
            f"{index.shape[0]} elements the repeats give"
        )
    return index_select(x, d, Tensor._wrap(index))


def _triangle(input: Tensor, diagonal: int, lower: bool, fn: str) -> Tensor:
    x = _tensor_arg(input, fn)
    if x.ndim < 2:
        raise ValueError(f"{fn}(): input must have at least 2 dimensions, got shape {x.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, (int, np.integer)):
        raise TypeError(f"{fn}(): argument 'diagonal' must be an int, got {diagonal!r}")
    xp = get_array_module(x.array)
    rows, cols = x.shape[-2:]
    mask = xp.tri(rows, cols, int(diagonal), dtype=bool)
    if not lower:
        mask = ~xp.tri(rows, cols, int(diagonal) - 1, dtype=bool)
    zero = False if x.dtype.kind == "b" else 0
    return where(Tensor._wrap(mask), x, zero)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below ``diagonal``) of the last two dims; zeros elsewhere."""
    return _triangle(input, diagonal, True, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (on and above ``diagonal``) of the last two dims; zeros elsewhere."""
    return _triangle(input, diagonal, False, "triu")


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input becomes a square matrix with it on ``diagonal``; a 2-D input gives that
    diagonal as 1-D."""
    x = _tensor_arg(input, "diag")
    if isinstance(diagonal, bool) or not isinstance(diagonal, (int, np.integer)):
        raise TypeError(f"diag(): argument 'diagonal' must be an int, got {diagonal!r}")
    k = int(diagonal)
    xp = get_array_module(x.array)
    if x.ndim == 1:
        n = x.shape[0]
        m = n + builtins.abs(k)
        steps = xp.arange(n)
        index = (steps + builtins.max(-k, 0), steps + builtins.max(k, 0))
        return IndexScatter.apply(x, shape=(m, m), index=index, advanced=True)
    if x.ndim == 2:
        r, c = x.shape
        length = builtins.max(0, builtins.min(r, c - k) if k >= 0 else builtins.min(r + k, c))
        steps = xp.arange(length)
        return getitem(x, (steps + builtins.max(-k, 0), steps + builtins.max(k, 0)))
    raise ValueError(f"diag(): input must be 1-D or 2-D, got shape {x.shape}")


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-D tensor."""
    x = _tensor_arg(input, "trace")
    _check_ndim(x, 2, "trace", "input")
    return sum(diag(x))


def is_tensor(obj) -> bool:
    """True if ``obj`` is a Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """True if ``input`` has a floating dtype."""
    return _tensor_arg(input, "is_floating_point").dtype.kind == "f"


# ----------------------------------------------------------------------------------------------
# sampling (not differentiable): multinomial, bernoulli


def _uniform(shape: tuple, like, generator, fn: str):
    """Uniform [0, 1) draws on ``like``'s device: from ``generator`` (drawn on the host, then
    moved) or the device's global generator."""
    xp = get_array_module(like)
    with backend.device_context(_device_of_array(like)):
        if generator is not None:
            from .generator import numpy_rng

            return xp.asarray(numpy_rng(generator, fn).random(shape))
        return backend.rng(_device_of_array(like)).random(shape)


def _device_of_array(arr) -> str:
    return backend.device_of(arr)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn from the categorical distributions given by the rows of ``input``
    (non-negative weights, not necessarily normalised), as ``torch.multinomial``: int64 of shape
    (num_samples,) or (rows, num_samples); without replacement no index repeats in a row."""
    x = _tensor_arg(input, "multinomial")
    if x.ndim not in (1, 2):
        raise ValueError(f"multinomial(): prob_dist must be 1 or 2 dim, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"multinomial(): expected a floating point input, got dtype {x.dtype}")
    V.int_at_least("num_samples", num_samples, 1, where="multinomial")
    V.flag("replacement", replacement, where="multinomial")
    w = x.array.reshape(1, -1) if x.ndim == 1 else x.array
    xp = get_array_module(w)
    w = w.astype(np.float64)
    k = w.shape[1]
    if k == 0 or not bool(xp.isfinite(w).all()) or bool((w < 0).any()):
        raise ValueError(
            "multinomial(): probability tensor contains either inf, nan or element < 0"
        )
    if bool((w.sum(axis=1) <= 0).any()):
        raise ValueError(
            "multinomial(): invalid multinomial distribution (sum of probabilities <= 0)"
        )
    if not replacement:
        if num_samples > k:
            raise ValueError(
                f"multinomial(): cannot sample n_sample ({num_samples}) > prob_dist.size(-1) "
                f"({k}) samples without replacement"
            )
        if bool(((w > 0).sum(axis=1) < num_samples).any()):
            raise ValueError(
                "multinomial(): invalid multinomial distribution (with replacement=False, not "
                "enough non-negative category to sample)"
            )
        # Efraimidis–Spirakis: the num_samples largest log(u) / w (zero weights never win)
        u = _uniform(w.shape, w, generator, "multinomial")
        with np.errstate(divide="ignore"):
            keys = xp.where(w > 0, xp.log(xp.maximum(u, 1e-300)) / xp.where(w > 0, w, 1.0),
                            -xp.inf)
        out = xp.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    else:
        cdf = xp.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        u = _uniform((w.shape[0], int(num_samples)), w, generator, "multinomial")
        out = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)
        # a draw at the top of the last non-zero bucket (rounding) goes to the last non-zero one
        last = k - 1 - xp.argmax((w > 0)[:, ::-1], axis=1)
        out = xp.minimum(out, last[:, None])
    out = out.astype(np.int64)
    return Tensor._wrap(out[0] if x.ndim == 1 else out)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 draws with probability ``input`` elementwise (or ``p`` for every element), in
    ``input``'s dtype, as ``torch.bernoulli``; not differentiable."""
    x = _tensor_arg(input, "bernoulli")
    if x.dtype.kind != "f":
        raise TypeError(f"bernoulli(): expected a floating point input, got dtype {x.dtype}")
    if p is None:
        probs = x.array
        if x.numel() and not bool(((probs >= 0) & (probs <= 1)).all()):
            raise ValueError("bernoulli(): all elements of input must be in [0, 1]")
    else:
        probs = V.number_in("p", p, 0.0, 1.0, where="bernoulli")
    u = _uniform(tuple(x.shape), x.array, generator, "bernoulli")
    return Tensor._wrap((u < probs).astype(x.dtype))
