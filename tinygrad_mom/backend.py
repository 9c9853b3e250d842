"""Array backends: the only module that imports CuPy.

Every tensor holds one array, either a ``numpy.ndarray`` (device ``"cpu"``) or a
``cupy.ndarray`` (device ``"cuda:N"``). Code elsewhere asks ``get_array_module(x)`` for the
module that owns an array and writes ``xp.zeros_like(...)`` and friends, so one implementation
serves both. Where NumPy and CuPy differ (scatter-add, strided views, random generators) the
branch lives here, once.
"""

from __future__ import annotations

import builtins
import contextlib
import warnings

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
        _track_peak_memory(cupy)
        _cupy = cupy
    return _cupy


def cuda_device_count() -> int:
    """How many CUDA GPUs CuPy sees: 0 without CuPy, a driver or a GPU."""
    try:
        return int(_import_cupy().cuda.runtime.getDeviceCount())
    except Exception:  # no CuPy, no driver, no device: all mean "none"
        return 0


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one CUDA GPU."""
    return cuda_device_count() > 0


def cuda_in_use() -> bool:
    """True once this library has imported CuPy and a CUDA GPU exists (memory can be held)."""
    return _cupy is not None and cuda_device_count() > 0


# --- peak memory ------------------------------------------------------------------------------
# CuPy's memory pool reports the bytes in use now but keeps no peak; PyTorch's
# max_memory_allocated needs one. The allocator is wrapped once, when this library first imports
# CuPy, to note the pool's in-use bytes after each allocation (a peak can only rise there).
_peak_bytes: dict[int, int] = {}


_peak_tracked_module = None  # the CuPy module whose allocator is wrapped (once per process)


def _track_peak_memory(cp) -> None:
    """Wrap CuPy's current allocator so that every allocation updates ``_peak_bytes``."""
    global _peak_tracked_module
    if _peak_tracked_module is cp:  # imported again (tests reset _cupy): wrap only once
        return
    _peak_tracked_module = cp
    pool = cp.get_default_memory_pool()
    allocate = cp.cuda.get_allocator()
    current_device = cp.cuda.runtime.getDevice

    def malloc(size):
        memory = allocate(size)
        used = pool.used_bytes()
        device = current_device()
        if used > _peak_bytes.get(device, 0):
            _peak_bytes[device] = used
        return memory

    cp.cuda.set_allocator(malloc)


def _pool_used_bytes(index: int) -> int:
    with _cupy.cuda.Device(index):
        return int(_cupy.get_default_memory_pool().used_bytes())


def cuda_peak_bytes(index: int) -> int:
    """The most bytes the default memory pool held in arrays on device ``index`` at once.

    Counted from this library's first use of CuPy (or the last :func:`reset_cuda_peak_bytes`);
    allocations through an allocator the user installs later are not seen.
    """
    return max(_peak_bytes.get(index, 0), _pool_used_bytes(index))


def reset_cuda_peak_bytes(index: int) -> None:
    """Restart the peak of device ``index`` from the bytes in use now."""
    _peak_bytes[index] = _pool_used_bytes(index)


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


class device(str):  # noqa: N801  (PyTorch's spelling: torch.device)
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cuda", 0)``, ``"cuda:1"``.

    It is a ``str`` subclass holding its canonical text (``"cpu"``, ``"cuda"``, ``"cuda:1"``),
    so it compares equal to, and hashes as, that string: code that tests ``t.device == "cpu"`` or
    keys a dict by device strings works with device objects unchanged. ``.type`` is ``"cpu"`` or
    ``"cuda"``; ``.index`` the CUDA ordinal, or None where none was given.
    """

    type: str
    index: int | None

    def __new__(cls, type, index: int | None = None):  # noqa: A002  (PyTorch's argument name)
        if isinstance(type, device) and index is None:
            return type
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0
        ):
            raise ValueError(f"device index must be a non-negative int or None, got {index!r}")
        if isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            if index is not None or type < 0:
                raise ValueError(f"Invalid device {type!r}: a bare ordinal must be an int >= 0")
            type, index = "cuda", int(type)  # torch.device(0) is cuda:0
        if not isinstance(type, str):
            raise TypeError(
                f"device() expects a string such as 'cpu' or 'cuda:0' (or a device), got "
                f"{builtins.type(type).__name__}"
            )
        name = type.strip().lower()
        kind, sep, ordinal = name.partition(":")
        if kind not in ("cpu", "cuda") or (sep and not ordinal.isdigit()):
            raise ValueError(f"Invalid device {type!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        if sep:
            if index is not None:
                raise ValueError(
                    f"device(): type {type!r} already names an index; got index={index} as well"
                )
            index = int(ordinal)
        text = kind if index is None else f"{kind}:{int(index)}"
        self = super().__new__(cls, text)
        self.type = kind
        self.index = None if index is None else int(index)
        return self

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))

    # ``with tm.device("cuda"):`` makes it the default device of factories, as in PyTorch
    def __enter__(self) -> device:
        previous = _default_device
        set_default_device(self)  # raises before anything changes if the device is unusable
        _device_stack.append(previous)
        return self

    def __exit__(self, *exc_info) -> None:
        set_default_device(_device_stack.pop())


def device_guard(arrays):
    """The CuPy device to run an op on these arrays under, or None when no switch is needed.

    CuPy launches kernels and allocates on its *current* device; an op whose CuPy operands live
    on another device (a model on "cuda:1" while cuda:0 is current) must run under that
    device's context. None, the common case, costs one check per operand: no CuPy imported
    yet, host arrays only, or the operands already on the current device.
    """
    if _cupy is None:
        return None
    for a in arrays:
        if type(a) is _cupy.ndarray:
            index = a.device.id
            if index == _cupy.cuda.runtime.getDevice():
                return None
            return _cupy.cuda.Device(index)
    return None


def call_on_device_of(array, fn, *args):
    """``fn(*args)``, under ``array``'s CUDA device when that is not CuPy's current device."""
    guard = device_guard((array,))
    if guard is None:
        return fn(*args)
    with guard:
        return fn(*args)




CPU = device("cpu")
_cuda_devices: dict[int, device] = {}  # canonical cuda:N device objects, made once each
_device_stack: list = []


def _cuda(index: int) -> device:
    dev = _cuda_devices.get(index)
    if dev is None:
        dev = _cuda_devices[index] = device("cuda", index)
    return dev


def parse_device(device_arg) -> device:
    """Canonical device: ``"cpu"`` or ``"cuda:N"`` as a :class:`device`; ValueError otherwise.

    Accepts strings, :class:`device` objects and a bare CUDA ordinal; None means the CPU.
    """
    if device_arg is None:
        return CPU
    if type(device_arg) is device and (device_arg.index is not None or device_arg.type == "cpu"):
        return CPU if device_arg.type == "cpu" else _cuda(device_arg.index)
    parsed = device(device_arg)
    if parsed.type == "cpu":
        return CPU
    return _cuda(0 if parsed.index is None else parsed.index)


_default_device = CPU


def get_default_device() -> device:
    """The device factories use when given ``device=None`` (``"cpu"`` unless changed)."""
    return _default_device


def set_default_device(device_arg) -> None:
    """Make ``device_arg`` the device of new tensors from factories (``torch.set_default_device``).

    None restores the CPU. Checked first: an unusable CUDA device raises and changes nothing.
    """
    global _default_device
    new = parse_device(device_arg)
    if new != "cpu":
        array_module_for(new)
    _default_device = new


def resolve_device(device_arg) -> device:
    """``parse_device`` for factories: None means the default device."""
    return _default_device if device_arg is None else parse_device(device_arg)


def device_of(x) -> device:
    """The canonical device of array ``x``."""
    if type(x) is np.ndarray:
        return CPU
    if is_cupy_array(x):
        return _cuda(x.device.id)
    return CPU


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
    """A host copy of array ``x`` (a device copy waits for the device: queued checks run)."""
    if is_cupy_array(x):
        run_pending_checks()
        return _cupy.asnumpy(x)
    return np.array(x, copy=True)


def from_dlpack(obj):
    """An array sharing memory with a DLPack producer: NumPy for host memory, CuPy for CUDA."""
    if not hasattr(obj, "__dlpack__") or not hasattr(obj, "__dlpack_device__"):
        raise TypeError(
            f"from_dlpack expects an object with __dlpack__ and __dlpack_device__, got "
            f"{type(obj).__name__}"
        )
    kind = int(obj.__dlpack_device__()[0])
    if kind == 1:  # kDLCPU
        return np.from_dlpack(obj)
    if kind in (2, 3):  # kDLCUDA, kDLCUDAHost
        return _import_cupy().from_dlpack(obj)
    raise RuntimeError(f"from_dlpack: unsupported DLPack device type {kind} (only CPU and CUDA)")


def nccl_module():
    """CuPy's NCCL bindings (``cupy.cuda.nccl``), for the "nccl" distributed backend."""
    _import_cupy()
    try:
        from cupy.cuda import nccl
    except ImportError as exc:
        raise RuntimeError(
            f"backend 'nccl' needs CuPy built with NCCL support: {exc}; {_INSTALL_HINT}"
        ) from exc
    if not getattr(nccl, "available", True):
        raise RuntimeError("backend 'nccl': this CuPy installation has no NCCL library")
    return nccl


def use_cuda_device(index: int) -> None:
    """Make GPU ``index`` CuPy's current device for this process (one GPU per rank)."""
    array_module_for(f"cuda:{index}").cuda.Device(index).use()


def current_stream_ptr() -> int:
    """The raw handle of CuPy's current stream, on which NCCL collectives are queued."""
    return _import_cupy().cuda.get_current_stream().ptr


def synchronize_stream() -> None:
    """Wait for everything queued on CuPy's current stream (NCCL collectives included)."""
    _import_cupy().cuda.get_current_stream().synchronize()


# --- checks of device data --------------------------------------------------------------------
# A check like "every label is in range" needs the answer on the host: for a CuPy array that is
# a device->host copy, which stalls the queue of kernels the step has launched (a hidden sync).
# Such checks on device arrays are queued instead and answered together, in one transfer, at the
# next point that waits for the device anyway (Tensor.item(), .numpy(), tm.cuda.synchronize(),
# or set_sync_checks(True)). PyTorch's CUDA kernels report such errors asynchronously too.
_pending_checks: list = []
_sync_checks = False
_MAX_PENDING = 64  # answer them at the latest after this many, so errors stay near their cause


def set_sync_checks(enabled: bool) -> None:
    """Check device data at once (a sync per check: for debugging), or queue checks (default)."""
    global _sync_checks
    if not isinstance(enabled, bool):
        raise TypeError(f"set_sync_checks expects a bool, got {type(enabled).__name__}")
    _sync_checks = enabled
    if enabled:
        run_pending_checks()


def check(flag, error: type[Exception], message) -> None:
    """Raise ``error(message())`` where the boolean (0-d) array ``flag`` is True.

    Host arrays are checked at once; device arrays are queued (see above) unless
    :func:`set_sync_checks` turned that off. ``message`` is called only on failure.
    """
    if type(flag) is np.ndarray or isinstance(flag, (bool, np.bool_)) or _sync_checks:
        if bool(flag):
            raise error(message())
        return
    _pending_checks.append((flag, error, message))
    if len(_pending_checks) >= _MAX_PENDING:
        run_pending_checks()


def run_pending_checks() -> None:
    """Answer every queued device check with one transfer; raise the first one that failed."""
    if not _pending_checks:
        return
    checks = list(_pending_checks)
    _pending_checks.clear()
    answers = []
    for device in {device_of(flag) for flag, _, _ in checks}:
        on_device = [c for c in checks if device_of(c[0]) == device]
        with device_context(device):
            flags = _cupy.stack([_cupy.asarray(f).reshape(()) for f, _, _ in on_device])
            answers += zip(on_device, _cupy.asnumpy(flags), strict=True)
    for (_, error, message), failed in answers:
        if failed:
            raise error(message())


_kernels: dict = {}


def elementwise_kernel(in_params: str, out_params: str, operation: str, name: str):
    """A ``cupy.ElementwiseKernel``, made once per source (CuPy compiles it per dtype, cached)."""
    key = (in_params, out_params, operation, name)
    kernel = _kernels.get(key)
    if kernel is None:
        kernel = _import_cupy().ElementwiseKernel(in_params, out_params, operation, name)
        _kernels[key] = kernel
    return kernel


def scatter_add(target, indices, values) -> None:
    """``target[indices] += values`` with repeated indices accumulated (unbuffered)."""
    if type(target) is np.ndarray:
        np.add.at(target, indices, values)
    else:
        import cupyx

        cupyx.scatter_add(target, indices, values)



_REDUCE_UFUNCS = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def scatter_reduce(target, indices, values, reduce: str) -> None:
    """``target[indices] = reduce(target[indices], values)`` with repeated indices all reduced
    (unbuffered); ``reduce`` is "sum", "prod", "amax" or "amin"."""
    if type(target) is np.ndarray:
        _REDUCE_UFUNCS[reduce].at(target, indices, values)
        return
    import cupyx

    if reduce != "prod":
        fn = {"sum": cupyx.scatter_add, "amax": cupyx.scatter_max, "amin": cupyx.scatter_min}
        fn[reduce](target, indices, values)
        return
    multiply_at_in_rounds(get_array_module(target), target, indices, values)


def multiply_at_in_rounds(xp, target, indices, values) -> None:
    """``target[indices] *= values`` with repeated indices all multiplied, for an array module
    without a scatter-multiply (CuPy): the k-th occurrence of each position is multiplied in
    round k, so no round writes one position twice. ``indices`` are integer arrays (no slices)
    and ``target`` is contiguous."""
    index = xp.broadcast_arrays(*indices)
    values = xp.broadcast_to(values, index[0].shape).reshape(-1)
    flat = xp.ravel_multi_index(tuple(i.reshape(-1) for i in index), target.shape)
    if flat.size == 0:
        return
    order = xp.argsort(flat)
    flat, values = flat[order], values[order]
    rank = xp.arange(flat.size) - xp.searchsorted(flat, flat, side="left")  # sorted: 1st hit
    view = target.reshape(-1)
    for r in range(int(rank.max()) + 1):
        pick = rank == r
        view[flat[pick]] *= values[pick]


def erf(x):
    """The error function elementwise (NumPy has none: SciPy's when installed, else math.erf)."""
    if type(x) is np.ndarray or isinstance(x, np.generic):
        try:
            from scipy.special import erf as scipy_erf
        except ImportError:
            import math

            return np.asarray(np.frompyfunc(math.erf, 1, 1)(x), dtype=x.dtype)
        return scipy_erf(x).astype(x.dtype, copy=False)
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(x)


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
# One generator per device. manual_seed seeds them all; tm.cuda.manual_seed(_all) reseeds the CUDA
# ones alone (lazily: a device's generator is made, from its seed, when first drawn from).
_seed = None
_np_rng = np.random.default_rng()
_cuda_seed = None  # the seed of every CUDA generator not seeded on its own
_cuda_seeds: dict[str, int] = {}  # per-device seeds from tm.cuda.manual_seed
_cupy_rngs: dict = {}


def manual_seed(seed: int) -> None:
    """Seed every random generator this library uses (NumPy's, and CuPy's when in use)."""
    global _seed, _np_rng, _cuda_seed
    _seed = _cuda_seed = V.int_at_least("seed", seed, None, where="manual_seed")
    _np_rng = np.random.default_rng(_seed)
    _cuda_seeds.clear()
    _cupy_rngs.clear()


def manual_seed_cuda(seed: int, all_devices: bool) -> None:
    """Seed the current CUDA device's generator, or every device's; needs no GPU (lazy)."""
    global _cuda_seed
    where = "tm.cuda.manual_seed_all" if all_devices else "tm.cuda.manual_seed"
    seed = V.int_at_least("seed", seed, None, where=where)
    if all_devices:
        _cuda_seed = seed
        _cuda_seeds.clear()
        _cupy_rngs.clear()
        return
    device = f"cuda:{_cupy.cuda.runtime.getDevice() if cuda_in_use() else 0}"
    _cuda_seeds[device] = seed
    _cupy_rngs.pop(device, None)


def rng(device: str = "cpu"):
    """The random generator for ``device``: a numpy Generator or a cupy Generator."""
    if device == "cpu":
        return _np_rng
    gen = _cupy_rngs.get(device)
    if gen is None:
        cp = array_module_for(device)
        with cp.cuda.Device(int(device.split(":")[1])):
            gen = cp.random.default_rng(_cuda_seeds.get(device, _cuda_seed))
        _cupy_rngs[device] = gen
    return gen


def permutation(n: int, device: str = "cpu"):
    """A random permutation of ``range(n)`` (int64) on ``device``, from its seeded generator."""
    gen = rng(device)
    if device == "cpu":
        return gen.permutation(n)
    with device_context(device):
        # CuPy's Generator has no permutation(): the order of n uniform draws is one (ties have
        # probability ~n²/2⁵³)
        return _cupy.argsort(gen.random(n))


def _cupy_generator_state(gen) -> np.ndarray:
    # CuPy's bit generators (cuRAND device states) have no public state API; their whole state
    # is the byte array ``_state``, which the sampling kernels advance in place.
    return _cupy.asnumpy(gen.bit_generator._state)


def get_rng_state() -> dict:
    """Every generator's state as plain data (numbers, dicts, host arrays) for checkpoints.

    ``"cuda"`` holds, per CUDA device whose generator has been drawn from, the raw cuRAND state
    bytes, so that dropout on the GPU replays after a resume on the same kind of GPU.
    """
    state = {"seed": _seed, "bit_generator": _np_rng.bit_generator.state}
    state["cuda_seed"] = _cuda_seed
    state["cuda_seeds"] = dict(_cuda_seeds)
    state["cuda"] = {device: _cupy_generator_state(gen) for device, gen in _cupy_rngs.items()}
    return state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state` (ValueError/TypeError if it is not).

    CUDA generator states are restored where this process can reach the device; without CUDA
    they are skipped with a warning (the CPU generator is still restored).
    """
    _prepare_rng_state(state)()


_CUDA_RNG_KEYS = {"cuda_seed", "cuda_seeds", "cuda"}  # absent in checkpoints of earlier versions


def _prepare_rng_state(state: dict):
    """Check ``state`` completely; return a function that installs it (cannot fail)."""
    if (
        not isinstance(state, dict)
        or not {"seed", "bit_generator"} <= set(state)
        or not set(state) <= {"seed", "bit_generator"} | _CUDA_RNG_KEYS
    ):
        raise ValueError(
            f"rng state must be a dict with 'seed' and 'bit_generator' entries (and optionally "
            f"'cuda_seed', 'cuda_seeds', 'cuda') from get_rng_state, got {V.describe(state)}"
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
    cuda_seed = V.int_at_least(
        "rng state 'cuda_seed'", state.get("cuda_seed", seed), None, none_ok=True
    )
    cuda_seeds = state.get("cuda_seeds") or {}
    cuda_states = state.get("cuda") or {}
    for entry, value in (("cuda_seeds", cuda_seeds), ("cuda", cuda_states)):
        if not isinstance(value, dict):
            raise ValueError(f"rng state '{entry}' must be a dict, got {V.describe(value)}")
        for device in value:
            if not isinstance(device, str) or device == "cpu" or parse_device(device) != device:
                raise ValueError(f"rng state '{entry}': invalid CUDA device key {device!r}")
    cuda_seeds = {
        d: V.int_at_least(f"rng state 'cuda_seeds' {d!r}", v, None) for d, v in cuda_seeds.items()
    }
    for device, saved in cuda_states.items():
        if not isinstance(saved, np.ndarray) or saved.dtype != np.int8 or saved.ndim != 1:
            raise ValueError(
                f"rng state 'cuda': the {device} generator state must be a 1-d int8 array, got "
                f"{V.describe(saved)}"
            )
    restored = {}
    reachable = bool(cuda_states) and cuda_is_available()
    if reachable:
        for device, saved in cuda_states.items():
            cp = array_module_for(device)
            with cp.cuda.Device(int(device.split(":")[1])):
                target = cp.random.default_rng(cuda_seeds.get(device, cuda_seed))
            if target.bit_generator._state.size != saved.size:
                raise ValueError(
                    f"rng state 'cuda': the {device} generator state has {saved.size} bytes, "
                    f"this GPU's generator {target.bit_generator._state.size}: it was saved "
                    "with another CuPy version or GPU and cannot be replayed"
                )
            restored[device] = (target, saved)

    def commit() -> None:
        global _seed, _np_rng, _cuda_seed
        if cuda_states and not reachable:
            warnings.warn(
                f"set_rng_state: the CUDA generator states of {sorted(cuda_states)} are not "
                "restored: no CUDA device is available here",
                RuntimeWarning,
                stacklevel=3,
            )
        for device, (target, saved) in restored.items():
            with _cupy.cuda.Device(int(device.split(":")[1])):
                target.bit_generator._state[...] = _cupy.asarray(saved)
        _seed, _np_rng, _cuda_seed = seed, gen, cuda_seed
        _cuda_seeds.clear()
        _cuda_seeds.update(cuda_seeds)
        _cupy_rngs.clear()
        _cupy_rngs.update({device: target for device, (target, _) in restored.items()})

    return commit
