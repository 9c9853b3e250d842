"""Array backends: the only module that imports CuPy.

Every tensor holds one array, either a ``numpy.ndarray`` (device ``"cpu"``) or a
``cupy.ndarray`` (device ``"cuda:N"``). Code elsewhere asks ``get_array_module(x)`` for the
module that owns an array and writes ``xp.zeros_like(...)`` and friends, so one implementation
serves both. Where NumPy and CuPy differ (scatter-add, strided views, random generators) the
branch lives here, once.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import _validation as V

_cupy = None  # the cupy module once imported; None until a CUDA device is first asked for

_INSTALL_HINT = (
    "install CuPy for your CUDA version: pip install 'tinygrad_mom[gpu]' (CUDA 12.x) "
    "or pip install cupy-cuda13x (CUDA 13.x)"
)


def _import_cupy():
    """Import CuPy lazily, with an error that says what to install when it is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as exc:
            raise RuntimeError(
                f"device 'cuda' needs CuPy, which is not installed: {_INSTALL_HINT}"
            ) from exc
        _cupy = cupy
    return _cupy


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA GPU."""
    try:
        cp = _import_cupy()
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device: all mean "not available"
        return False


def is_cupy_array(x) -> bool:
    """True for a ``cupy.ndarray``, also one made before this library first imported CuPy."""
    if _cupy is None:
        # A CuPy array can exist before anything here asked for "cuda" (the user made it):
        # recognise it by its class's module instead of importing CuPy for every host array.
        if not type(x).__module__.startswith("cupy"):
            return False
        _import_cupy()
    return isinstance(x, _cupy.ndarray)


def get_array_module(x):
    """The array module (numpy or cupy) that owns array ``x``.

    For a Tensor it is the Tensor namespace (``tinygrad_mom.tensor_xp``) that a backward
    formula uses under ``create_graph=True``: the class says so in ``_array_namespace``.
    """
    if type(x) is np.ndarray:
        return np
    namespace = getattr(type(x), "_array_namespace", None)
    if namespace is not None:
        return namespace
    if _cupy is None and not is_cupy_array(x):
        return np
    return _cupy.get_array_module(x)


def device_context(device: str):
    """A context manager making ``device`` CuPy's current device (a no-op for ``"cpu"``).

    CuPy allocates new arrays, launches kernels and draws random numbers on its *current*
    device, whatever device the operands live on, so code that creates arrays for "cuda:N"
    runs inside this.
    """
    if device == "cpu":
        return contextlib.nullcontext()
    return array_module_for(device).cuda.Device(int(device.split(":")[1]))


def parse_device(device) -> str:
    """Canonical device string: ``"cpu"`` or ``"cuda:N"``. Raises ValueError for anything else."""
    if device is None:
        return "cpu"
    name = str(device).strip().lower()
    if name == "cpu":
        return "cpu"
    if name == "cuda":
        return "cuda:0"
    if name.startswith("cuda:") and name[5:].isdigit():
        return f"cuda:{int(name[5:])}"
    raise ValueError(f"Invalid device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def device_of(x) -> str:
    """The canonical device string of array ``x``."""
    if type(x) is np.ndarray:
        return "cpu"
    if is_cupy_array(x):
        return f"cuda:{x.device.id}"
    return "cpu"


def array_module_for(device: str):
    """The array module that serves a canonical device string, importing CuPy if needed."""
    if device == "cpu":
        return np
    cp = _import_cupy()
    count = 0
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise RuntimeError(
            f"device {device!r} was asked for but CUDA is not usable: {exc}"
        ) from exc
    index = int(device.split(":")[1])
    if index >= count:
        raise RuntimeError(f"device {device!r} was asked for but only {count} CUDA device(s) exist")
    return cp


def to_device(x, device: str):
    """Copy array ``x`` to ``device`` (canonical string); returns ``x`` itself if already there."""
    if device_of(x) == device:
        return x
    if device == "cpu":
        return _cupy.asnumpy(x)
    cp = array_module_for(device)
    with cp.cuda.Device(int(device.split(":")[1])):
        # cupy.copy allocates on the current device and copies across devices (peer copy);
        # asarray of a CuPy array could hand back the source array itself.
        return cp.copy(x) if is_cupy_array(x) else cp.asarray(x)


def asarray_on(data, device: str, dtype=None):
    """A new array holding ``data`` (copied) on ``device``."""
    if device == "cpu":
        if is_cupy_array(data):
            data = _cupy.asnumpy(data)
        return np.array(data, dtype=dtype)
    cp = array_module_for(device)
    with cp.cuda.Device(int(device.split(":")[1])):
        return cp.array(data, dtype=dtype)


def to_numpy(x) -> np.ndarray:
    """A host copy of array ``x``."""
    if is_cupy_array(x):
        return _cupy.asnumpy(x)
    return np.array(x, copy=True)


def scatter_add(target, indices, values) -> None:
    """``target[indices] += values`` with repeated indices accumulated (unbuffered)."""
    if type(target) is np.ndarray:
        np.add.at(target, indices, values)
    else:
        import cupyx

        cupyx.scatter_add(target, indices, values)


def as_strided(x, shape, strides):
    """A strided view of ``x`` (strides in bytes); the caller guarantees it stays in bounds."""
    if type(x) is np.ndarray:
        return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=False)
    return _cupy.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def keep_freed_memory(max_mib: int = 256) -> bool:
    """Let glibc's malloc keep freed large arrays for reuse instead of unmapping them (opt-in).

    glibc returns each freed block above its mmap threshold to the OS, so every training step
    page-faults its large temporaries (im2col rows, activations) in again: ~20% of the CPU time
    of the seeds' CNN step. This serves blocks up to 32 MiB from the heap and keeps up to
    ``max_mib`` MiB of freed heap mapped, which is what jemalloc/tcmalloc (recommended by
    PyTorch's CPU tuning guide) do. It is process-wide and cannot be undone; returns False where
    the C library has no ``mallopt`` (not glibc), True once applied.
    """
    V.int_at_least("max_mib", max_mib, 0, where="keep_freed_memory")
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl builds)
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(m_mmap_threshold, 32 << 20) and mallopt(m_trim_threshold, max_mib << 20))


# --- the CPU workspace (see workspace.py): large conv/pool/ReLU temporaries, reused -----------


def empty_cache() -> int:
    """Give the CPU workspace's free memory back to the OS; returns the bytes released.

    Like ``torch.cuda.empty_cache()``: arrays still in use keep their memory, and the next
    training step maps (and page-faults in) what it needs again.
    """
    from . import workspace

    return workspace.empty_cache()


def set_workspace_limit(max_bytes: int) -> None:
    """Cap the CPU workspace at ``max_bytes`` mapped (default 2 GiB); 0 turns it off.

    Temporaries past the cap, or all of them with 0, come from NumPy's allocator as usual.
    """
    from . import workspace

    workspace.set_limit(max_bytes)


def workspace_stats() -> dict:
    """The CPU workspace's mapped, free and in-use bytes, counts, limit, hits and misses."""
    from . import workspace

    return workspace.stats()


# --- random numbers -------------------------------------------------------------------------
# One generator per backend, reseeded together by manual_seed so that a seed fixes every draw.
_seed = None
_np_rng = np.random.default_rng()
_cupy_rngs: dict = {}


def manual_seed(seed: int) -> None:
    """Seed every random generator this library uses (NumPy's, and CuPy's when in use)."""
    global _seed, _np_rng
    V.int_at_least("seed", seed, None, where="manual_seed")
    _seed = int(seed)
    _np_rng = np.random.default_rng(_seed)
    _cupy_rngs.clear()


def rng(device: str = "cpu"):
    """The random generator for ``device``: a numpy Generator or a cupy Generator."""
    if device == "cpu":
        return _np_rng
    gen = _cupy_rngs.get(device)
    if gen is None:
        cp = array_module_for(device)
        with cp.cuda.Device(int(device.split(":")[1])):
            gen = cp.random.default_rng(_seed)
        _cupy_rngs[device] = gen
    return gen


def get_rng_state() -> dict:
    """The CPU generator's state as plain JSON-able data (for checkpoints)."""
    return {"seed": _seed, "bit_generator": _np_rng.bit_generator.state}


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state` (ValueError/TypeError if it is not)."""
    _prepare_rng_state(state)()


def _prepare_rng_state(state: dict):
    """Check ``state`` completely; return a function that installs it (cannot fail)."""
    if not isinstance(state, dict) or set(state) != {"seed", "bit_generator"}:
        raise ValueError(
            f"rng state must be a dict with 'seed' and 'bit_generator' entries (from "
            f"get_rng_state), got {V.describe(state)}"
        )
    seed = V.int_at_least("rng state 'seed'", state["seed"], None, none_ok=True)
    bit_state = state["bit_generator"]
    expected = type(_np_rng.bit_generator).__name__
    if not isinstance(bit_state, dict) or bit_state.get("bit_generator") != expected:
        raise ValueError(
            f"rng state 'bit_generator' must be the state of a {expected} generator, got "
            f"{V.describe(bit_state)}"
        )
    gen = np.random.default_rng()
    try:
        gen.bit_generator.state = bit_state
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"rng state 'bit_generator' is not a valid {expected} state: "
                         f"{exc!r}") from None

    def commit() -> None:
        global _seed, _np_rng
        _seed, _np_rng = seed, gen

    return commit
