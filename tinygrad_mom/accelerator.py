"""``torch.accelerator``: the one kind of accelerator this library drives, CUDA through CuPy."""

from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when CuPy sees at least one CUDA GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    """How many CUDA GPUs are visible (0 without CuPy or a GPU)."""
    return backend.cuda_device_count() if backend.cuda_is_available() else 0


def current_accelerator(check_available: bool = False) -> backend.device | None:
    """``tm.device("cuda")`` when a GPU is visible, else None (as PyTorch on a CPU-only build)."""
    return backend.device("cuda") if is_available() else None


def current_device_index() -> int:
    """The index of the current CUDA device (0 unless CuPy was told otherwise); -1 without one."""
    return backend.cuda_current_device() if is_available() else -1


__all__ = ["current_accelerator", "current_device_index", "device_count", "is_available"]
