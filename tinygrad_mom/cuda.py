"""``tm.cuda``: the parts of ``torch.cuda`` a training script uses, on CuPy.

Each function behaves as its ``torch.cuda`` namesake, also on a machine without CuPy or a GPU:
``is_available()`` is False and ``device_count()`` 0, ``memory_allocated()`` and
``max_memory_allocated()`` are 0, ``empty_cache()``, ``manual_seed()`` and
``manual_seed_all()`` do nothing but remember the seed; the functions that need a device
(``current_device``, ``set_device``, ``get_device_name``, ``synchronize``,
``reset_peak_memory_stats``) raise a RuntimeError that says why.

Memory figures come from CuPy's default memory pool: ``memory_allocated`` counts the bytes held
by live arrays (PyTorch's "allocated"), not the free blocks the pool keeps for reuse, which
``empty_cache`` hands back to the driver. The peak is tracked from the moment this library
first uses CUDA (see :func:`tinygrad_mom.backend.cuda_peak_bytes`).
"""

from __future__ import annotations

from . import backend

__all__ = [
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "is_available",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "memory_allocated",
    "reset_peak_memory_stats",
    "set_device",
    "synchronize",
]


def is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA GPU (as ``torch.cuda.is_available``)."""
    return backend.cuda_is_available()


def device_count() -> int:
    """The number of CUDA GPUs CuPy sees; 0 without CuPy, a driver or a GPU."""
    return backend.cuda_device_count()


def _require(what: str):
    """The cupy module, or a RuntimeError naming ``what`` needed a CUDA device."""
    if backend.cuda_device_count() == 0:
        try:
            backend._import_cupy()
        except RuntimeError as exc:
            raise RuntimeError(f"tm.cuda.{what}() needs a CUDA device: {exc}") from None
        raise RuntimeError(
            f"tm.cuda.{what}() needs a CUDA device, but CuPy sees no CUDA GPU "
            "(check nvidia-smi and CUDA_VISIBLE_DEVICES)"
        )
    return backend._import_cupy()


def _device_index(device, what: str, *, optional: bool = True) -> int | None:
    """A CUDA device index from ``None`` (the current device), an int, or 'cuda'/'cuda:N'."""
    if device is None and optional:
        return None
    if isinstance(device, bool):
        pass  # a bool is an int to Python, never a device
    elif isinstance(device, int):
        if device >= 0:
            return device
    elif isinstance(device, str):
        try:
            name = backend.parse_device(device)
        except ValueError:
            name = None
        if name is not None and name != "cpu":
            # a bare "cuda" means the current device, as in PyTorch
            return None if device.strip().lower() == "cuda" else int(name.split(":")[1])
        if name == "cpu":
            raise ValueError(f"tm.cuda.{what}: expected a CUDA device, but got: {device!r}")
    raise ValueError(
        f"tm.cuda.{what}: device must be None, an int >= 0, 'cuda' or 'cuda:N', got {device!r}"
    )


def _resolve(cp, index: int | None, what: str) -> int:
    """``index`` checked against the devices present (the current device for None)."""
    if index is None:
        return cp.cuda.runtime.getDevice()
    count = cp.cuda.runtime.getDeviceCount()
    if index >= count:
        raise RuntimeError(
            f"tm.cuda.{what}: device cuda:{index} was asked for but only {count} CUDA "
            "device(s) exist"
        )
    return index


def current_device() -> int:
    """The index of CuPy's current CUDA device (new arrays and kernels go there)."""
    cp = _require("current_device")
    return cp.cuda.runtime.getDevice()


def set_device(device: int | str) -> None:
    """Make ``device`` the current CUDA device (as ``torch.cuda.set_device``)."""
    index = _device_index(device, "set_device", optional=False)
    cp = _require("set_device")
    cp.cuda.runtime.setDevice(_resolve(cp, index, "set_device"))


def get_device_name(device: int | str | None = None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H200'``; ``device`` defaults to the current one."""
    index = _device_index(device, "get_device_name")
    cp = _require("get_device_name")
    name = cp.cuda.runtime.getDeviceProperties(_resolve(cp, index, "get_device_name"))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device: int | str | None = None) -> None:
    """Wait until every kernel queued on ``device`` (default: the current one) has finished.

    Checks of device data queued since the last sync (labels in range, ...) are answered too.
    """
    index = _device_index(device, "synchronize")
    cp = _require("synchronize")
    with cp.cuda.Device(_resolve(cp, index, "synchronize")) as dev:
        dev.synchronize()
    backend.run_pending_checks()  # the device is idle now: answering the queued checks is free


def memory_allocated(device: int | str | None = None) -> int:
    """Bytes held by live arrays on ``device``; 0 where CUDA was never used or is missing."""
    index = _device_index(device, "memory_allocated")
    if not backend.cuda_in_use():
        return 0  # as PyTorch before CUDA is initialised: nothing can be allocated yet
    cp = backend._import_cupy()
    index = _resolve(cp, index, "memory_allocated")
    with cp.cuda.Device(index):
        return int(cp.get_default_memory_pool().used_bytes())


def max_memory_allocated(device: int | str | None = None) -> int:
    """The peak of :func:`memory_allocated` since CUDA was first used or the last reset."""
    index = _device_index(device, "max_memory_allocated")
    if not backend.cuda_in_use():
        return 0
    cp = backend._import_cupy()
    return backend.cuda_peak_bytes(_resolve(cp, index, "max_memory_allocated"))


def reset_peak_memory_stats(device: int | str | None = None) -> None:
    """Restart :func:`max_memory_allocated` from the bytes allocated now."""
    index = _device_index(device, "reset_peak_memory_stats")
    cp = _require("reset_peak_memory_stats")
    backend.reset_cuda_peak_bytes(_resolve(cp, index, "reset_peak_memory_stats"))


def empty_cache() -> None:
    """Return the memory pool's free blocks to the driver (live arrays are untouched)."""
    if backend.cuda_in_use():
        backend._import_cupy().get_default_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the random generator of the current CUDA device (lazily, as PyTorch: no GPU needed)."""
    backend.manual_seed_cuda(seed, all_devices=False)


def manual_seed_all(seed: int) -> None:
    """Seed the random generators of every CUDA device (no GPU needed)."""
    backend.manual_seed_cuda(seed, all_devices=True)
