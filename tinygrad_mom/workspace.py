"""A workspace for the large CPU temporaries of conv2d, pooling and ReLU (im2col rows, col2im
buffers, pooling outputs and gradients, activations).

A training step allocates the same large arrays every time. Fresh from the C allocator, each of
them is page-faulted in again (glibc unmaps freed blocks above its mmap threshold and trims the
top of its heap): ~4,000 faults and ~20 % of a small CNN's step on a 2-core machine. The
workspace keeps that memory mapped instead, as cuDNN/oneDNN keep workspaces and PyTorch's CUDA
allocator keeps freed blocks, without any process-wide setting: only the arrays this library
asks it for come from it; every other allocation is NumPy's as usual.

Memory comes in arenas (anonymous ``mmap``s of 64 MiB, or one array's size when larger), carved
best-fit into page-aligned ranges; a freed range merges with its free neighbours, so one step's
arrays of any sizes reuse the last step's memory as a heap would (pages never touched are not
resident). An array handed out is an ordinary ``numpy.ndarray``; its range is free again when
the last array or view over it is garbage-collected (a weak reference on the array all its views
keep alive), so nothing is reused while still referenced: an activation the user keeps just
keeps its range. :func:`empty_cache` gives the free memory back to the OS now, :func:`set_limit`
caps the arenas' total size (0 turns the workspace off) and :func:`stats` reports what it holds.
"""

from __future__ import annotations

import bisect
import mmap
import threading
import weakref

import numpy as np

_MIN_BYTES = 512 << 10  # smaller arrays come from malloc's heap, which rarely faults for them
_ALIGN = mmap.PAGESIZE
_ARENA_BYTES = 1 << 30  # address space only: pages never touched are not resident
_DEFAULT_LIMIT = 2 << 30


class _Arena:
    """One mapping and its free ranges, as sorted offsets and their sizes."""

    __slots__ = ("mem", "size", "starts", "sizes")

    def __init__(self, size: int) -> None:
        self.mem = mmap.mmap(-1, size)
        self.size = size
        self.starts = [0]
        self.sizes = [size]

    def free_bytes(self) -> int:
        return sum(self.sizes)

    def release(self, start: int, size: int) -> None:
        """Mark [start, start + size) free, merged with free neighbours."""
        i = bisect.bisect_left(self.starts, start)
        if i < len(self.starts) and start + size == self.starts[i]:  # merge with the next
            size += self.sizes.pop(i)
            self.starts.pop(i)
        if i > 0 and self.starts[i - 1] + self.sizes[i - 1] == start:  # and the previous
            self.sizes[i - 1] += size
        else:
            self.starts.insert(i, start)
            self.sizes.insert(i, size)


class Workspace:
    """Arenas of memory handed out as arrays; a range is free once no array views it."""

    def __init__(self, limit: int = _DEFAULT_LIMIT) -> None:
        self._lock = threading.RLock()
        self._arenas: list[_Arena] = []
        self._live: dict[int, tuple[weakref.ref, int]] = {}  # id(ref) -> (ref, bytes)
        self.limit = limit
        self.hits = 0
        self.misses = 0

    def empty(self, shape, dtype) -> np.ndarray | None:
        """A C-contiguous uninitialised array from the workspace, or None to use malloc."""
        dtype = np.dtype(dtype)
        count = 1
        for s in shape:
            count *= int(s)
        nbytes = count * dtype.itemsize
        if nbytes < _MIN_BYTES or self.limit <= 0:
            return None
        size = -(-nbytes // _ALIGN) * _ALIGN
        with self._lock:
            place = self._take(size)
            if place is None:
                return None  # over the limit: malloc serves it
            arena, start = place
            base = np.frombuffer(arena.mem, dtype=dtype, count=count, offset=start)
            # Every view of ``base`` (reshape, transpose, slices) holds ``base`` itself: NumPy
            # collapses view chains onto the first array whose base is not an array. So its
            # death means no array over the range is left.
            ref = weakref.ref(base, lambda r: self._give_back(r, arena, start, size))
            self._live[id(ref)] = (ref, size)
        return base.reshape(shape)

    def _take(self, size: int):
        # Best fit (the smallest free range that fits; the lowest among equals), carved from
        # the range's bottom: measured, it leaves less resident memory than first fit or than
        # placing saved and passing arrays at opposite ends.
        best = None  # (free size, arena, index)
        for arena in self._arenas:
            for i, free in enumerate(arena.sizes):
                if free >= size and (best is None or free < best[0]):
                    best = (free, arena, i)
        if best is None:
            total = sum(a.size for a in self._arenas)
            new = max(_ARENA_BYTES, size)
            if total + new > self.limit:
                new = size
            if total + new > self.limit:
                self.misses += 1
                return None
            try:
                arena = _Arena(new)
            except (OSError, ValueError):  # no address space or overcommit refused
                self.misses += 1
                return None
            self._arenas.append(arena)
            best = (None, arena, 0)
        else:
            self.hits += 1
        _, arena, i = best
        free = arena.sizes[i]
        start = arena.starts[i]
        if free == size:
            arena.starts.pop(i)
            arena.sizes.pop(i)
        else:
            arena.starts[i] += size
            arena.sizes[i] -= size
        return arena, start

    def _give_back(self, ref: weakref.ref, arena: _Arena, start: int, size: int) -> None:
        with self._lock:
            self._live.pop(id(ref), None)
            arena.release(start, size)

    def empty_cache(self) -> int:
        """Give free memory back to the OS; returns the bytes released. Live arrays stay."""
        released = 0
        with self._lock:
            keep = []
            for arena in self._arenas:
                if arena.sizes == [arena.size]:  # nothing in use: unmap it
                    released += arena.size
                    arena.mem = None
                    continue
                keep.append(arena)
                if hasattr(mmap, "MADV_DONTNEED"):
                    for start, size in zip(arena.starts, arena.sizes, strict=True):
                        arena.mem.madvise(mmap.MADV_DONTNEED, start, size)
                        released += size
            self._arenas = keep
        return released

    def stats(self) -> dict:
        """Bytes mapped, free and in use, arena and array counts, hits and misses."""
        with self._lock:
            return {
                "mapped_bytes": sum(a.size for a in self._arenas),
                "free_bytes": sum(a.free_bytes() for a in self._arenas),
                "in_use_bytes": sum(size for _, size in self._live.values()),
                "arenas": len(self._arenas),
                "in_use_arrays": len(self._live),
                "limit_bytes": self.limit,
                "hits": self.hits,
                "misses": self.misses,
            }


_workspace = Workspace()


def empty_cache() -> int:
    """Give the workspace's free memory back to the OS now; returns the number of bytes released.

    Arrays still referenced keep their memory. Later temporaries map memory again (and fault
    it in once).
    """
    return _workspace.empty_cache()


def set_limit(max_bytes: int) -> None:
    """Map at most ``max_bytes`` for the workspace (default 2 GiB); 0 turns it off.

    Past the limit, temporaries come from NumPy's allocator as usual. Lowering the limit does
    not unmap anything: call :func:`empty_cache` for that.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 0:
        raise ValueError(f"set_limit: max_bytes must be an int >= 0, got {max_bytes!r}")
    with _workspace._lock:
        _workspace.limit = int(max_bytes)


def stats() -> dict:
    """What the workspace holds: mapped, free and in-use bytes, counts, the limit, hits, misses."""
    return _workspace.stats()


# --- helpers for the kernels: NumPy arrays from the workspace, anything else as usual ---------


def empty(xp, shape, dtype):
    """``xp.empty(shape, dtype)``, from the workspace for a large NumPy array."""
    if xp is np:
        out = _workspace.empty(shape, dtype)
        if out is not None:
            return out
    return xp.empty(shape, dtype=dtype)


def zeros(xp, shape, dtype):
    """``xp.zeros(shape, dtype)``, from the workspace for a large NumPy array."""
    out = empty(xp, shape, dtype)
    out.fill(0)
    return out


def empty_like(a, dtype=None):
    """An uninitialised array shaped like ``a`` with ``a``'s memory order (NumPy's ``K``).

    A channels-last (N, C, H, W) input gives a channels-last result, as ``np.empty_like`` does.
    """
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    if type(a) is not np.ndarray or a.nbytes // a.itemsize * dtype.itemsize < _MIN_BYTES:
        return _module_of(a).empty_like(a, dtype=dtype)
    # Axes from the largest stride to the smallest: allocate contiguous in that order, then
    # view it back in ``a``'s axis order.
    order = sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]))
    out = empty(np, [a.shape[i] for i in order], dtype)
    inverse = [0] * a.ndim
    for pos, axis in enumerate(order):
        inverse[axis] = pos
    return out.transpose(inverse)


def out_like(a):
    """A workspace array like large float NumPy array ``a`` (its memory order), else None.

    For ``out=`` of a ufunc whose result has ``a``'s shape and dtype; None lets the ufunc
    allocate as usual (small, integer or CuPy arrays).
    """
    if type(a) is not np.ndarray or a.nbytes < _MIN_BYTES or a.dtype.kind != "f":
        return None
    return empty_like(a)


def _module_of(a):
    from .backend import get_array_module

    return get_array_module(a)
