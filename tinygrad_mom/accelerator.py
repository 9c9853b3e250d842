"""``torch.accelerator``: the one kind of accelerator this library drives, CUDA through CuPy.

Each answer comes from :mod:`tinygrad_mom.cuda` (``tm.cuda``), so the two never disagree.
"""

from __future__ import annotations

from . import backend, cuda


def is_available() -> bool:
    """True when CuPy sees at least one CUDA GPU."""
    return cuda.is_available()


def device_count() -> int:
    """How many CUDA GPUs are visible (0 without CuPy or a GPU)."""
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> backend.device | None:
    """``tm.device("cuda")`` when a GPU is visible, else None (as PyTorch on a CPU-only build)."""
    return backend.device("cuda") if cuda.is_available() else None


def current_device_index() -> int:
    """The index of the current CUDA device; -1 without one (PyTorch's answer)."""
    return cuda.current_device() if cuda.is_available() else -1


__all__ = ["current_accelerator", "current_device_index", "device_count", "is_available"]
