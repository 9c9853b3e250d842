"""Factory functions: zeros, ones, full, arange, linspace, eye, randn, rand, randint, normal,
randperm, the *_like forms, and the NumPy/DLPack bridges (from_numpy, as_tensor, from_dlpack).

Each takes PyTorch's keyword arguments ``dtype``, ``device`` and ``requires_grad``; floating
results default to ``tm.get_default_dtype()`` (float32) and ``device=None`` means
``tm.set_default_device``'s device (the CPU). Random draws come from the generators seeded by
``tm.manual_seed``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _validation as V
from . import backend
from ._validation import int_at_least
from .tensor import Tensor, _as_dtype, _shape_arg, get_default_dtype


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
    device = backend.resolve_device(device)
    return device, backend.array_module_for(device)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    device, xp = _module(device)
    with backend.device_context(device):
        shape, dtype = _shape_arg(size), _as_dtype(dtype) or get_default_dtype()
        array = _allocate("zeros", shape, dtype, lambda: xp.zeros(shape, dtype=dtype))
    return _make(array, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    device, xp = _module(device)
    with backend.device_context(device):
        shape, dtype = _shape_arg(size), _as_dtype(dtype) or get_default_dtype()
        array = _allocate("ones", shape, dtype, lambda: xp.ones(shape, dtype=dtype))
    return _make(array, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor."""
    device, xp = _module(device)
    with backend.device_context(device):
        shape, dtype = _shape_arg(size), _as_dtype(dtype) or get_default_dtype()
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
            dtype = get_default_dtype()
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
        dtype = np.dtype(np.int64) if is_int else get_default_dtype()
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
        dtype = _as_dtype(dtype) or get_default_dtype()
        array = _allocate("eye", (n, m), dtype, lambda: xp.eye(n, m, dtype=dtype))
    return _make(array, requires_grad)


def _random(draw, size, dtype, device, requires_grad, name: str = "rand"):
    device = backend.resolve_device(device)
    dtype = _as_dtype(dtype) or get_default_dtype()
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
    device = backend.resolve_device(device)
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


def empty_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor with ``t``'s shape (and dtype and device unless given)."""
    dtype, device = _like(t, dtype, device)
    return empty(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint_like(t: Tensor, low: int = 0, high: int | None = None, dtype=None, device=None):
    """Integers in [low, high) shaped as ``t``: ``randint_like(t, high)`` or ``(t, low, high)``.

    The dtype is ``t``'s unless given, as in PyTorch (floats hold the drawn integers).
    """
    if high is None:
        low, high = 0, low
    dtype, device = _like(t, dtype, device)
    return randint(low, high, t.shape, dtype=dtype, device=device)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``torch.tensor``: a new tensor holding a copy of ``data``."""
    return Tensor._from_data(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _number(value, name: str, fn: str) -> float:
    """A Python number from a number or a one-element tensor (linspace's start and end)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"{fn}: {name} must be a number or a 0-d tensor, got shape {tuple(value.shape)}"
            )
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def linspace(
    start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (default dtype)."""
    start, end = _number(start, "start", "linspace"), _number(end, "end", "linspace")
    steps = int_at_least("steps", steps, 0, where="linspace")
    device, xp = _module(device)
    dtype = _as_dtype(dtype) or get_default_dtype()
    with backend.device_context(device):
        # computed in float64 and cast once, so integer dtypes truncate the exact values
        array = xp.linspace(start, end, steps, dtype=np.float64).astype(dtype)
    return _make(array, requires_grad)


def logspace(
    start,
    end,
    steps: int,
    base: float = 10.0,
    *,
    dtype=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)`` (default dtype)."""
    start, end = _number(start, "start", "logspace"), _number(end, "end", "logspace")
    steps = int_at_least("steps", steps, 0, where="logspace")
    base = _number(base, "base", "logspace")
    device, xp = _module(device)
    dtype = _as_dtype(dtype) or get_default_dtype()
    with backend.device_context(device):
        array = (base ** xp.linspace(start, end, steps, dtype=np.float64)).astype(dtype)
    return _make(array, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, dtype=None, device=None, requires_grad: bool = False):
    """Normal samples: ``normal(mean, std, size)`` with numbers, or elementwise with tensors.

    With tensor ``mean`` and/or ``std`` the result has their broadcast shape, dtype and device;
    it is a sample, not recorded by autograd (PyTorch records it with zero gradients).
    """
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        mean, std = _number(mean, "mean", "normal"), _number(std, "std", "normal")
        if not std >= 0.0:
            raise ValueError(f"normal expects std >= 0.0, but found std {std}")
        if size is None:
            raise TypeError("normal(mean, std) with two numbers needs a size, e.g. size=(2, 3)")
        shape = _shape_arg(size if isinstance(size, (tuple, list)) else (size,))
        return _random(
            lambda g, s: mean + std * g.standard_normal(s), shape, dtype, device, requires_grad
        )
    if size is not None:
        raise TypeError("normal: size is only accepted when mean and std are numbers")
    ref = tensors[0]
    for t in tensors:
        if not np.dtype(t.dtype).kind == "f":
            raise TypeError(f"normal expects floating point mean and std, got dtype {t.dtype}")
        if t.device != ref.device:
            raise RuntimeError(
                f"normal: mean and std are on different devices, {ref.device} and {t.device}"
            )
    if isinstance(std, Tensor):
        if bool((std.array < 0).any()):
            raise ValueError("normal expects all elements of std >= 0.0")
    elif not _number(std, "std", "normal") >= 0.0:
        raise ValueError(f"normal expects std >= 0.0, but found std {std}")
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    m = mean.array if isinstance(mean, Tensor) else _number(mean, "mean", "normal")
    sd = std.array if isinstance(std, Tensor) else _number(std, "std", "normal")
    device = ref.device
    with backend.device_context(device):
        z = backend.rng(device).standard_normal(shape)
        array = (m + sd * z).astype(np.result_type(*(t.dtype for t in tensors)), copy=False)
    return _make(array, requires_grad)


def randperm(n: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` is given)."""
    n = int_at_least("n", n, 0, where="randperm")
    device = backend.resolve_device(device)
    dtype = _as_dtype(dtype) or np.dtype(np.int64)
    with backend.device_context(device):
        array = backend.permutation(n, device).astype(dtype)
    return _make(array, requires_grad)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``ndarray`` (its dtype kept), as ``torch.from_numpy``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(
            f"can't convert np.ndarray of type {ndarray.dtype}: expected numbers or booleans"
        )
    if not ndarray.dtype.isnative:
        raise ValueError(
            f"given numpy array has byte order different from the native byte order "
            f"({ndarray.dtype}); convert it with ndarray.astype(ndarray.dtype.newbyteorder('='))"
        )
    return Tensor._wrap(ndarray)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already has the dtype and device asked for.

    A Tensor of that dtype and device is returned itself; a NumPy (or CuPy) array of that dtype
    on that device is wrapped without a copy; anything else is converted (a copy), as in PyTorch.
    """
    dtype = _as_dtype(dtype)
    if isinstance(data, Tensor):
        target = data.device if device is None else backend.parse_device(device)
        return data.to(target, dtype or data.dtype)
    if isinstance(data, np.ndarray) or backend.is_cupy_array(data):
        target = backend.resolve_device(device)
        if backend.device_of(data) == target and (dtype is None or dtype == data.dtype):
            if data.dtype.kind in "biuf":
                return Tensor._wrap(data)
    return Tensor._from_data(data, dtype=dtype, device=device)


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing memory with any object that implements DLPack (``__dlpack__``)."""
    if isinstance(ext_tensor, Tensor):
        return Tensor._wrap(ext_tensor.array)
    return Tensor._wrap(backend.from_dlpack(ext_tensor))
