"""Factory functions: zeros, ones, full, arange, eye, randn, rand, randint and the *_like forms.

Each takes PyTorch's keyword arguments ``dtype``, ``device`` and ``requires_grad``; floating
results default to float32. Random draws come from the generators seeded by ``tm.manual_seed``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _validation as V
from . import backend
from .tensor import DEFAULT_FLOAT, Tensor, _as_dtype, _shape_arg


def _make(array, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _bytes_text(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.4g} {unit}"
        n /= 1024
    return f"{n:.4g} PiB"


def _allocate(name: str, shape: tuple, dtype, make):
    """``make()`` for an array of ``shape`` and ``dtype``; a size no machine can hold, or an
    allocation the system refuses, is a MemoryError naming the function, shape and bytes
    (NumPy would say "array is too big" or "Unable to allocate", without the function)."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > np.iinfo(np.intp).max:
        raise MemoryError(
            f"{name}: a tensor of shape {tuple(shape)} and dtype {np.dtype(dtype)} would need "
            f"{_bytes_text(nbytes)}, more than can be addressed"
        )
    try:
        return make()
    except MemoryError:
        raise MemoryError(
            f"{name}: cannot allocate {_bytes_text(nbytes)} for a tensor of shape "
            f"{tuple(shape)} and dtype {np.dtype(dtype)} (not enough memory)"
        ) from None


def _module(device):
    device = backend.parse_device(device)
    return device, backend.array_module_for(device)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    device, xp = _module(device)
    with backend.device_context(device):
        shape, dtype = _shape_arg(size), _as_dtype(dtype) or DEFAULT_FLOAT
        array = _allocate("zeros", shape, dtype, lambda: xp.zeros(shape, dtype=dtype))
    return _make(array, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    device, xp = _module(device)
    with backend.device_context(device):
        shape, dtype = _shape_arg(size), _as_dtype(dtype) or DEFAULT_FLOAT
        array = _allocate("ones", shape, dtype, lambda: xp.ones(shape, dtype=dtype))
    return _make(array, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor."""
    device, xp = _module(device)
    with backend.device_context(device):
        shape, dtype = _shape_arg(size), _as_dtype(dtype) or DEFAULT_FLOAT
        array = _allocate("empty", shape, dtype, lambda: xp.empty(shape, dtype=dtype))
    return _make(array, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype follows the value (float → float32)."""
    if not isinstance(fill_value, (bool, int, float, np.number, np.bool_)):
        raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__}")
    device, xp = _module(device)
    dtype = _as_dtype(dtype)
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = np.dtype(np.bool_)
        elif isinstance(fill_value, (int, np.integer)):
            dtype = np.dtype(np.int64)
        else:
            dtype = DEFAULT_FLOAT
    shape = _shape_arg(size if isinstance(size, (tuple, list)) else (size,))
    with backend.device_context(device):
        array = _allocate("full", shape, dtype, lambda: xp.full(shape, fill_value, dtype=dtype))
    return _make(array, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from start (inclusive) to end (exclusive) by step; integer args give int64."""
    if end is None:
        start, end = 0, start
    for name, value in (("start", start), ("end", end), ("step", step)):
        V.finite_real(name, value, where="arange")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(
            f"arange: upper bound and larger bound inconsistent with step sign (start={start}, "
            f"end={end}, step={step})"
        )
    device, xp = _module(device)
    dtype = _as_dtype(dtype)
    if dtype is None:
        is_int = all(V.is_int(v) for v in (start, end, step))
        dtype = np.dtype(np.int64) if is_int else DEFAULT_FLOAT
    length = max(0, math.ceil((end - start) / step))
    with backend.device_context(device):
        array = _allocate(
            "arange", (length,), dtype, lambda: xp.arange(start, end, step).astype(dtype)
        )
    return _make(array, requires_grad)


def eye(
    n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """An identity matrix (n × m)."""
    n, m = _shape_arg((n, n if m is None else m))  # ints >= 0, else a named error
    device, xp = _module(device)
    with backend.device_context(device):
        dtype = _as_dtype(dtype) or DEFAULT_FLOAT
        array = _allocate("eye", (n, m), dtype, lambda: xp.eye(n, m, dtype=dtype))
    return _make(array, requires_grad)


def _random(draw, size, dtype, device, requires_grad, name: str = "rand"):
    device = backend.parse_device(device)
    dtype = _as_dtype(dtype) or DEFAULT_FLOAT
    if dtype.kind != "f":
        raise TypeError(f"random floats need a floating dtype, got {dtype}")
    shape = _shape_arg(size)
    gen = backend.rng(device)
    with backend.device_context(device):
        # float64 draws first, then the cast: size for the larger of the two
        array = _allocate(name, shape, np.float64,
                          lambda: draw(gen, shape).astype(dtype, copy=False))
    return _make(array, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _random(lambda g, s: g.standard_normal(s), size, dtype, device, requires_grad, "randn")


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    return _random(lambda g, s: g.random(s), size, dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None) -> Tensor:
    """Integers uniformly from [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    if high is None:
        low, high = 0, low
    V.int_at_least("low", low, None, where="randint")
    V.int_at_least("high", high, None, where="randint")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    device = backend.parse_device(device)
    shape = _shape_arg(size if isinstance(size, (tuple, list)) else (size,))
    gen = backend.rng(device)
    with backend.device_context(device):
        array = _allocate("randint", shape, np.int64, lambda: gen.integers(
            low, high, size=shape).astype(_as_dtype(dtype) or np.int64))
    return Tensor._wrap(array)


def _like(t: Tensor, dtype, device):
    return (dtype if dtype is not None else t.dtype), (device if device is not None else t.device)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return zeros(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return ones(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(
    t: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return full(t.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return randn(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return rand(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``torch.tensor``: a new tensor holding a copy of ``data``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)
