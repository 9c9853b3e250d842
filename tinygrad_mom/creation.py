"""Factory functions: zeros, ones, full, arange, eye, randn, rand, randint and the *_like forms.

Each takes PyTorch's keyword arguments ``dtype``, ``device`` and ``requires_grad``; floating
results default to float32. Random draws come from the generators seeded by ``tm.manual_seed``.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .tensor import DEFAULT_FLOAT, Tensor, _as_dtype, _shape_arg


def _make(array, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _module(device):
    device = backend.parse_device(device)
    return device, backend.array_module_for(device)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    device, xp = _module(device)
    with backend.device_context(device):
        array = xp.zeros(_shape_arg(size), dtype=_as_dtype(dtype) or DEFAULT_FLOAT)
    return _make(array, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    device, xp = _module(device)
    with backend.device_context(device):
        array = xp.ones(_shape_arg(size), dtype=_as_dtype(dtype) or DEFAULT_FLOAT)
    return _make(array, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor."""
    device, xp = _module(device)
    with backend.device_context(device):
        array = xp.empty(_shape_arg(size), dtype=_as_dtype(dtype) or DEFAULT_FLOAT)
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
        array = xp.full(shape, fill_value, dtype=dtype)
    return _make(array, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from start (inclusive) to end (exclusive) by step; integer args give int64."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    device, xp = _module(device)
    dtype = _as_dtype(dtype)
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.dtype(np.int64) if is_int else DEFAULT_FLOAT
    with backend.device_context(device):
        array = xp.arange(start, end, step).astype(dtype)
    return _make(array, requires_grad)


def eye(
    n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """An identity matrix (n × m)."""
    n, m = _shape_arg((n, n if m is None else m))  # ints >= 0, else a named error
    device, xp = _module(device)
    with backend.device_context(device):
        array = xp.eye(n, m, dtype=_as_dtype(dtype) or DEFAULT_FLOAT)
    return _make(array, requires_grad)


def _random(draw, size, dtype, device, requires_grad):
    device = backend.parse_device(device)
    dtype = _as_dtype(dtype) or DEFAULT_FLOAT
    if dtype.kind != "f":
        raise TypeError(f"random floats need a floating dtype, got {dtype}")
    shape = _shape_arg(size)
    gen = backend.rng(device)
    with backend.device_context(device):
        array = draw(gen, shape).astype(dtype, copy=False)
    return _make(array, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _random(lambda g, s: g.standard_normal(s), size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    return _random(lambda g, s: g.random(s), size, dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None) -> Tensor:
    """Integers uniformly from [low, high) (``randint(high, size)`` also works, as in PyTorch)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    device = backend.parse_device(device)
    shape = _shape_arg(size if isinstance(size, (tuple, list)) else (size,))
    gen = backend.rng(device)
    with backend.device_context(device):
        array = gen.integers(low, high, size=shape).astype(_as_dtype(dtype) or np.int64)
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
