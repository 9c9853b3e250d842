"""Process groups and collectives across processes and machines, with torch.distributed's names.

Processes are started by an MPI launcher (``mpiexec -n 4 python train.py``, ``srun``), which
also does the rendezvous: ``init_process_group("mpi")`` needs no address, port or store.

Backends:

- ``"mpi"`` (mpi4py): every collective on host tensors, NumPy buffers handed to MPI without
  copies (a non-contiguous tensor goes through one contiguous copy). CuPy tensors are copied to
  the host and back, since the ``mpich`` wheel is not CUDA-aware.
- ``"nccl"`` (CuPy's ``cupy.cuda.nccl``): CUDA tensors are reduced by NCCL on the current
  stream, one GPU per rank chosen from the node-local rank; the NCCL unique id is broadcast over
  MPI. Host tensors in an NCCL group still go through MPI (as PyTorch's ``"cpu:gloo,cuda:nccl"``).

Faults: ``init_process_group`` installs a ``sys.excepthook`` that prints the failing rank's
traceback and calls ``MPI_Abort``, so an uncaught exception on one rank ends the whole job
instead of leaving the others waiting forever. A watchdog thread bounds every MPI collective
(``timeout``, default 30 minutes as in PyTorch): a rank that waits longer prints what it was
waiting for and aborts the job too (as PyTorch's NCCL watchdog does; gloo raises instead).
"""

from __future__ import annotations

import datetime
import enum
import math
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable

import numpy as np

from . import backend
from .tensor import Function, Tensor

__all__ = [
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_object",
    "abort",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "differentiable_all_reduce",
    "get_backend",
    "get_node_local_rank",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "reduce",
]

_INSTALL_HINT = (
    'pip install "tinygrad_mom[dist]" (mpi4py and the mpich wheel, which brings mpiexec), or '
    "mpi4py built against your cluster's MPI: see the README, 'Training on several processes "
    "or machines'"
)

# PyTorch's default for non-NCCL process groups
default_pg_timeout = datetime.timedelta(minutes=30)


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce`` combine the ranks' tensors, as torch.distributed.ReduceOp.

    AVG (the sum divided by the world size) works on floating-point tensors with every
    backend here; PyTorch offers it with NCCL only.
    """

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"
    AVG = "avg"


class group:  # noqa: N801  (torch.distributed.group)
    """``group.WORLD``: the default group (every rank); pass it or None as ``group=``."""

    WORLD = None


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            f"tinygrad_mom.distributed needs mpi4py, which is not installed: {_INSTALL_HINT}"
        ) from exc
    return MPI


def is_available() -> bool:
    """True when mpi4py imports, so process groups can be created."""
    return is_mpi_available()


def is_mpi_available() -> bool:
    """True when mpi4py (and an MPI library) can be imported."""
    try:
        _import_mpi()
    except ImportError:
        return False
    return True


def is_nccl_available() -> bool:
    """True when MPI is available and CuPy has NCCL and sees a GPU."""
    if not is_mpi_available() or backend.cuda_device_count() == 0:
        return False
    try:
        backend.nccl_module()
    except RuntimeError:
        return False
    return True


class _ProcessGroup:
    """The default group: an MPI communicator, and an NCCL one for the "nccl" backend."""

    def __init__(self, backend_name: str, comm, timeout: float):
        self.backend = backend_name
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout
        local = comm.Split_type(_import_mpi().COMM_TYPE_SHARED)
        self.local_rank = local.Get_rank()
        self.local_size = local.Get_size()
        local.Free()
        self.nccl = None  # (module, communicator) for the "nccl" backend
        self.watchdog: _Watchdog | None = None
        self.device = "cpu"
        self.previous_excepthook = None


_pg: _ProcessGroup | None = None


def _default_group(group_arg=None) -> _ProcessGroup:
    if _pg is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    if group_arg is not None:
        raise ValueError(
            f"only the default group is supported (group=None or group.WORLD), got {group_arg!r}"
        )
    return _pg


def _timeout_seconds(timeout) -> float:
    if timeout is None:
        return default_pg_timeout.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float, np.integer, np.floating)) and not isinstance(
        timeout, bool
    ):
        seconds = float(timeout)
    else:
        raise TypeError(
            f"timeout must be a datetime.timedelta or a number of seconds, got {timeout!r}"
        )
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"timeout must be positive and finite, got {timeout!r}")
    return seconds


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | float | None = None,
    world_size: int = -1,
    rank: int = -1,
    store=None,
    group_name: str = "",
    pg_options=None,
    device_id: int | None = None,
) -> None:
    """Join the default process group of the processes the MPI launcher started.

    ``backend`` is ``"mpi"`` (default) or ``"nccl"``. Rank and world size come from the
    launcher; ``world_size`` and ``rank``, when given, must agree with it. ``timeout`` (a
    timedelta or seconds) bounds every MPI collective. ``device_id`` picks the GPU of an
    ``"nccl"`` rank (default: the node-local rank). ``init_method`` may be None or
    ``"env://"``; ``store`` and ``pg_options`` are not used with MPI.
    """
    global _pg
    name = "mpi" if backend is None else backend
    if not isinstance(name, str) or name.lower() not in ("mpi", "nccl"):
        raise ValueError(f"backend must be 'mpi' or 'nccl', got {backend!r}")
    name = name.lower()
    if init_method not in (None, "env://"):
        raise ValueError(
            f"init_method={init_method!r}: the MPI launcher (mpiexec, srun) does the rendezvous "
            "here; pass None"
        )
    if store is not None or pg_options is not None:
        raise ValueError("store and pg_options are not used: MPI does the rendezvous")
    if not isinstance(group_name, str):
        raise TypeError(f"group_name must be a str, got {type(group_name).__name__}")
    seconds = _timeout_seconds(timeout)
    for arg, value in (("world_size", world_size), ("rank", rank)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{arg} must be an int, got {value!r}")
    if device_id is not None and (
        isinstance(device_id, bool) or not isinstance(device_id, (int, np.integer)) or device_id < 0
    ):
        raise ValueError(f"device_id must be a non-negative int or None, got {device_id!r}")
    if _pg is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    MPI = _import_mpi()
    world = MPI.COMM_WORLD
    if world_size not in (-1, world.Get_size()):
        raise ValueError(
            f"world_size={world_size}, but the MPI launcher started {world.Get_size()} "
            "process(es); leave world_size=-1 to take the launcher's"
        )
    if rank not in (-1, world.Get_rank()):
        raise ValueError(
            f"rank={rank}, but MPI gave this process rank {world.Get_rank()}; leave rank=-1"
        )
    pg = _ProcessGroup(name, world.Dup(), seconds)
    pg.watchdog = _Watchdog(pg)
    if name == "nccl":
        try:
            _init_nccl(pg, device_id)
        except BaseException:
            pg.comm.Free()
            raise
    pg.previous_excepthook = sys.excepthook
    sys.excepthook = _abort_job_hook
    pg.watchdog.start()
    _pg = pg


def _init_nccl(pg: _ProcessGroup, device_id: int | None) -> None:
    count = backend.cuda_device_count()
    if count == 0:
        raise RuntimeError(
            "backend 'nccl' needs a CUDA GPU visible to CuPy on every rank; none found here "
            "(use backend='mpi' on CPUs)"
        )
    if device_id is None:
        if pg.local_size > count:
            raise RuntimeError(
                f"backend 'nccl' runs one GPU per rank, but {pg.local_size} ranks share this "
                f"node's {count} GPU(s); start at most {count} ranks per node or pass device_id"
            )
        device_id = pg.local_rank
    elif device_id >= count:
        raise ValueError(f"device_id={device_id}, but only {count} CUDA device(s) exist")
    nccl = backend.nccl_module()
    backend.use_cuda_device(int(device_id))
    uid = nccl.get_unique_id() if pg.rank == 0 else None
    uid = pg.comm.bcast(uid, root=0)  # small and once: the blocking pickled bcast is fine
    pg.nccl = (nccl, nccl.NcclCommunicator(pg.size, uid, pg.rank))
    pg.device = f"cuda:{int(device_id)}"


def _abort_job_hook(exc_type, exc, tb) -> None:
    """Print this rank's uncaught exception, then end every rank of the job (MPI_Abort)."""
    pg = _pg
    if pg is None:  # destroyed meanwhile: behave as the hook we replaced
        sys.__excepthook__(exc_type, exc, tb)
        return
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(
        f"[rank {pg.rank}] uncaught exception; aborting all {pg.size} rank(s) (MPI_Abort)\n{text}"
    )
    sys.stderr.flush()
    sys.stdout.flush()
    pg.comm.Abort(1)


def destroy_process_group(group=None) -> None:
    """Leave the default group and free its communicators (MPI itself ends at exit)."""
    global _pg
    pg = _default_group(group)
    pg.watchdog.stopped.set()
    if pg.nccl is not None:
        pg.nccl[1].destroy()
    pg.comm.Free()
    if sys.excepthook is _abort_job_hook:
        sys.excepthook = pg.previous_excepthook
    _pg = None


def abort(errorcode: int = 1) -> None:
    """End every rank of the job now (MPI_Abort), e.g. after an error only this rank saw."""
    pg = _default_group()
    sys.stdout.flush()
    sys.stderr.flush()
    pg.comm.Abort(int(errorcode))


def is_initialized() -> bool:
    """Whether the default process group exists."""
    return _pg is not None


def get_rank(group=None) -> int:
    """This process's rank in the group, 0 ... world_size - 1."""
    return _default_group(group).rank


def get_world_size(group=None) -> int:
    """How many processes the group has."""
    return _default_group(group).size


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among the group's processes on the same machine."""
    if _pg is None:
        if fallback_rank is not None:
            return fallback_rank
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _pg.local_rank


def get_backend(group=None) -> str:
    """The backend name of the group: "mpi" or "nccl"."""
    return _default_group(group).backend


# ----------------------------------------------------------------------------------------------
# waiting with a deadline


class _Watchdog(threading.Thread):
    """Ends the job when a collective waits longer than the group's timeout.

    MPI's blocking wait drives the transfer at full speed (polling with pauses stalls large
    messages between chunks), but cannot be interrupted; so the waiting thread only records
    what it waits for and since when, and this thread aborts every rank once that is too old.
    """

    def __init__(self, pg: _ProcessGroup):
        super().__init__(name="tinygrad_mom.distributed watchdog", daemon=True)
        self.pg = pg
        self.current: tuple[float, str] | None = None  # (started, what): one atomic binding
        self.stopped = threading.Event()
        self.interval = min(1.0, pg.timeout / 20)

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            current = self.current
            if current is not None and time.monotonic() - current[0] > self.pg.timeout:
                self._expire(current[1])
                return

    def _expire(self, what: str) -> None:
        pg = self.pg
        sys.stderr.write(
            f"[rank {pg.rank}] {what} timed out after {pg.timeout:g} s: another rank did not "
            f"join it (it failed, exited or is stuck); aborting all {pg.size} rank(s) "
            "(MPI_Abort). init_process_group(timeout=...) sets the limit.\n"
        )
        sys.stderr.flush()
        MPI = _import_mpi()
        if MPI.Query_thread() == MPI.THREAD_MULTIPLE:
            pg.comm.Abort(1)
        else:  # MPI calls from this thread are not allowed: end this rank, the launcher the rest
            os._exit(1)


def _wait_all(pg: _ProcessGroup, requests: list, what: str) -> None:
    """Wait for MPI requests; the group's watchdog aborts the job past its timeout."""
    MPI = _import_mpi()
    pg.watchdog.current = (time.monotonic(), what)
    try:
        MPI.Request.Waitall(requests)
    finally:
        pg.watchdog.current = None


class Work:
    """A started collective (``async_op=True``), as torch.distributed.Work."""

    def __init__(self, pg: _ProcessGroup, what: str, requests=(), finish=None, stream=False):
        self._pg = pg
        self._what = what
        self._requests = list(requests)
        self._finish = finish
        self._stream = stream  # an NCCL collective queued on CuPy's current stream
        self._done = False

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        """Block until the collective is done and its result is in the tensor(s).

        ``timeout`` is accepted for PyTorch's signature; the group's timeout applies.
        """
        if self._done:
            return True
        if self._requests:
            _wait_all(self._pg, self._requests, self._what)
        if self._stream:
            backend.synchronize_stream()
        if self._finish is not None:
            self._finish()
        self._done = True
        return True

    def is_completed(self) -> bool:
        """Whether :meth:`wait` would return at once (MPI requests only; NCCL reports False)."""
        if self._done:
            return True
        if self._stream:
            return False
        return bool(_import_mpi().Request.Testall(self._requests))


def _run(work: Work, async_op: bool) -> Work | None:
    if async_op:
        return work
    work.wait()
    return None


# ----------------------------------------------------------------------------------------------
# tensors as buffers


def _check_tensor(tensor, arg: str = "tensor") -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{arg} must be a tinygrad_mom Tensor, got {type(tensor).__name__}")


def _check_rank(value, arg: str, size: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{arg} must be an int rank, got {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{arg}={value} is not a rank of this group (0 ... {size - 1})")
    return int(value)


def _uses_nccl(pg: _ProcessGroup, tensor: Tensor) -> bool:
    return pg.nccl is not None and backend.is_cupy_array(tensor.array)


class _HostBuffer:
    """A C-contiguous NumPy array holding a tensor's values for MPI, written back when needed.

    A contiguous host tensor is used as is (no copy); others (views, CuPy arrays) are copied
    into a staging array and copied back by :meth:`write_back`.
    """

    def __init__(self, tensor: Tensor):
        self.tensor = tensor
        arr = tensor.array
        if type(arr) is np.ndarray and arr.flags.c_contiguous and arr.flags.writeable:
            self.array, self.staged = arr, False
        else:
            self.array, self.staged = np.ascontiguousarray(backend.to_numpy(arr)), True

    def write_back(self) -> None:
        if not self.staged:
            return
        target = self.tensor.array
        if backend.is_cupy_array(target):
            target[...] = backend.to_device(self.array, backend.device_of(target))
        elif isinstance(target, np.ndarray):
            target[...] = self.array
        else:  # a NumPy scalar cannot be written in place: rebind the tensor's array
            self.tensor.array = self.array.reshape(())


def _mpi_op(MPI, op: ReduceOp, dtype: np.dtype):
    """The MPI operation for ``op`` on ``dtype``; bools reduce logically, as PyTorch does."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a ReduceOp, got {op!r}")
    if dtype == np.bool_:
        if op is ReduceOp.AVG:
            raise TypeError("ReduceOp.AVG needs a floating-point tensor, got dtype bool")
        logical = {
            ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR,
            ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND,
            ReduceOp.BXOR: MPI.LXOR,
        }  # fmt: skip
        return logical[op]
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind == "f":
        raise TypeError(f"ReduceOp.{op.name} needs an integer or bool tensor, got dtype {dtype}")
    if op is ReduceOp.AVG and dtype.kind != "f":
        raise TypeError(f"ReduceOp.AVG needs a floating-point tensor, got dtype {dtype}")
    return {
        ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
        ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
        ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR,
    }[op]  # fmt: skip


def _mpi_buffer(MPI, array: np.ndarray):
    # NumPy's bool buffer typecode ("?") is not mapped by every MPI: name the datatype
    if array.dtype == np.bool_:
        return [array, MPI.C_BOOL]
    return array


# NCCL has no bool or logical ops: bools travel as uint8 and reduce with MAX (any) / MIN (all)
_NCCL_DTYPES = {
    "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32", "uint32": "NCCL_UINT32",
    "int64": "NCCL_INT64", "uint64": "NCCL_UINT64", "float16": "NCCL_FLOAT16",
    "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "bool": "NCCL_UINT8",
}  # fmt: skip


def _nccl_args(nccl, op: ReduceOp | None, dtype: np.dtype):
    if dtype.name not in _NCCL_DTYPES:
        raise TypeError(f"backend 'nccl' cannot reduce dtype {dtype}")
    nccl_dtype = getattr(nccl, _NCCL_DTYPES[dtype.name])
    if op is None:
        return nccl_dtype, None
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a ReduceOp, got {op!r}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
        raise TypeError(f"backend 'nccl' has no ReduceOp.{op.name}")
    if op is ReduceOp.AVG and dtype.kind != "f":
        raise TypeError(f"ReduceOp.AVG needs a floating-point tensor, got dtype {dtype}")
    if dtype == np.bool_:
        op = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}.get(op, op)
    names = {
        ReduceOp.SUM: "NCCL_SUM", ReduceOp.AVG: "NCCL_SUM", ReduceOp.PRODUCT: "NCCL_PROD",
        ReduceOp.MIN: "NCCL_MIN", ReduceOp.MAX: "NCCL_MAX",
    }  # fmt: skip
    return nccl_dtype, getattr(nccl, names[op])


class _DeviceBuffer:
    """A C-contiguous CuPy array for NCCL (the tensor's own when contiguous), written back."""

    def __init__(self, tensor: Tensor):
        self.tensor = tensor
        arr = tensor.array
        xp = backend.get_array_module(arr)
        self.staged = not arr.flags.c_contiguous
        self.array = xp.ascontiguousarray(arr) if self.staged else arr
        if self.array.dtype == np.bool_:
            self.array = self.array.view(np.uint8)

    @property
    def ptr(self) -> int:
        return self.array.data.ptr

    def write_back(self) -> None:
        if self.staged:
            self.tensor.array[...] = self.array.view(self.tensor.array.dtype)


def _finish_all(*steps: Callable[[], None] | None) -> Callable[[], None]:
    def finish():
        for step in steps:
            if step is not None:
                step()

    return finish


def _average(buf, size: int) -> Callable[[], None]:
    def divide():
        buf.array[...] /= size

    return divide


# ----------------------------------------------------------------------------------------------
# collectives


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` across all ranks with ``op``, in place: every rank gets the result."""
    pg = _default_group(group)
    _check_tensor(tensor)
    if _uses_nccl(pg, tensor):
        nccl, comm = pg.nccl
        nccl_dtype, nccl_op = _nccl_args(nccl, op, tensor.dtype)
        buf = _DeviceBuffer(tensor)
        comm.allReduce(
            buf.ptr, buf.ptr, buf.array.size, nccl_dtype, nccl_op, backend.current_stream_ptr()
        )
        avg = _average(buf, pg.size) if op is ReduceOp.AVG else None
        return _run(Work(pg, "all_reduce", (), _finish_all(avg, buf.write_back), True), async_op)
    MPI = _import_mpi()
    mpi_op = _mpi_op(MPI, op, tensor.dtype)
    buf = _HostBuffer(tensor)
    request = pg.comm.Iallreduce(MPI.IN_PLACE, _mpi_buffer(MPI, buf.array), mpi_op)
    avg = _average(buf, pg.size) if op is ReduceOp.AVG else None
    return _run(Work(pg, "all_reduce", [request], _finish_all(avg, buf.write_back)), async_op)


def reduce(
    tensor: Tensor, dst: int, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False
):
    """Combine ``tensor`` across ranks into rank ``dst``'s tensor; the others' stay unchanged."""
    pg = _default_group(group)
    _check_tensor(tensor)
    dst = _check_rank(dst, "dst", pg.size)
    mine = pg.rank == dst
    if _uses_nccl(pg, tensor):
        nccl, comm = pg.nccl
        nccl_dtype, nccl_op = _nccl_args(nccl, op, tensor.dtype)
        buf = _DeviceBuffer(tensor)
        # the root receives in place; the others' receive buffer is unused by NCCL
        comm.reduce(
            buf.ptr, buf.ptr, buf.array.size, nccl_dtype, nccl_op, dst,
            backend.current_stream_ptr(),
        )  # fmt: skip
        avg = _average(buf, pg.size) if op is ReduceOp.AVG and mine else None
        finish = _finish_all(avg, buf.write_back if mine else None)
        return _run(Work(pg, "reduce", (), finish, True), async_op)
    MPI = _import_mpi()
    mpi_op = _mpi_op(MPI, op, tensor.dtype)
    buf = _HostBuffer(tensor)
    if mine:
        request = pg.comm.Ireduce(MPI.IN_PLACE, _mpi_buffer(MPI, buf.array), mpi_op, root=dst)
    else:
        request = pg.comm.Ireduce(_mpi_buffer(MPI, buf.array), None, mpi_op, root=dst)
    avg = _average(buf, pg.size) if op is ReduceOp.AVG and mine else None
    finish = _finish_all(avg, buf.write_back if mine else None)
    return _run(Work(pg, "reduce", [request], finish), async_op)


def broadcast(tensor: Tensor, src: int, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every other rank's ``tensor`` (same shape, dtype)."""
    pg = _default_group(group)
    _check_tensor(tensor)
    src = _check_rank(src, "src", pg.size)
    if _uses_nccl(pg, tensor):
        nccl, comm = pg.nccl
        nccl_dtype, _ = _nccl_args(nccl, None, tensor.dtype)
        buf = _DeviceBuffer(tensor)
        comm.bcast(buf.ptr, buf.array.size, nccl_dtype, src, backend.current_stream_ptr())
        return _run(Work(pg, "broadcast", (), buf.write_back, True), async_op)
    MPI = _import_mpi()
    buf = _HostBuffer(tensor)
    request = pg.comm.Ibcast(_mpi_buffer(MPI, buf.array), root=src)
    return _run(Work(pg, "broadcast", [request], buf.write_back), async_op)


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[i]`` (one tensor per rank, in place) with rank i's ``tensor``."""
    pg = _default_group(group)
    _check_tensor(tensor)
    if not isinstance(tensor_list, list) or len(tensor_list) != pg.size:
        given = len(tensor_list) if isinstance(tensor_list, list) else type(tensor_list).__name__
        raise ValueError(f"tensor_list must be a list of world_size={pg.size} tensors, got {given}")
    for i, t in enumerate(tensor_list):
        _check_tensor(t, f"tensor_list[{i}]")
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise ValueError(
                f"tensor_list[{i}] has shape {t.shape} and dtype {t.dtype}, but tensor has "
                f"shape {tensor.shape} and dtype {tensor.dtype}"
            )
    n = int(tensor.array.size)
    if _uses_nccl(pg, tensor):
        nccl, comm = pg.nccl
        nccl_dtype, _ = _nccl_args(nccl, None, tensor.dtype)
        send = _DeviceBuffer(tensor)
        xp = backend.get_array_module(tensor.array)
        gathered = xp.empty(pg.size * n, dtype=send.array.dtype)
        comm.allGather(send.ptr, gathered.data.ptr, n, nccl_dtype, backend.current_stream_ptr())

        def scatter_device():
            for i, t in enumerate(tensor_list):
                part = gathered[i * n : (i + 1) * n].view(tensor.array.dtype)
                t.array[...] = backend.to_device(part, t.device).reshape(t.shape)

        return _run(Work(pg, "all_gather", (), scatter_device, True), async_op)
    MPI = _import_mpi()
    send = _HostBuffer(tensor)
    gathered = np.empty(pg.size * n, dtype=tensor.dtype)
    request = pg.comm.Iallgather(
        _mpi_buffer(MPI, send.array.reshape(-1)), _mpi_buffer(MPI, gathered)
    )

    def scatter():
        for i, t in enumerate(tensor_list):
            part = gathered[i * n : (i + 1) * n].reshape(t.shape)
            t.array[...] = backend.to_device(part, t.device)

    return _run(Work(pg, "all_gather", [request], scatter), async_op)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group has called barrier."""
    pg = _default_group(group)
    if pg.nccl is not None:
        backend.synchronize_stream()  # queued NCCL work counts as "before the barrier"
    return _run(Work(pg, "barrier", [pg.comm.Ibarrier()]), async_op)


class _AllReduceSum(Function):
    """The sum over ranks as a graph op: its gradient is the sum over ranks of the gradients."""

    def forward(self, a):
        out = a.copy()
        all_reduce(Tensor._wrap(out))
        return out

    def backward(self, gy):
        return _sum_over_ranks(gy)


def _sum_over_ranks(x):
    if isinstance(x, Tensor):  # create_graph: the gradient is itself recorded
        return _AllReduceSum.apply(x)
    out = x.copy()
    all_reduce(Tensor._wrap(out))
    return out


def differentiable_all_reduce(tensor: Tensor, group=None) -> Tensor:
    """A new tensor holding the sum of ``tensor`` over all ranks, recorded for backward.

    The counterpart of ``torch.distributed.nn.functional.all_reduce`` (op SUM): backward sums
    the ranks' gradients, as SyncBatchNorm's statistics need.
    """
    _default_group(group)
    _check_tensor(tensor)
    return _AllReduceSum.apply(tensor)


# ----------------------------------------------------------------------------------------------
# Python objects (pickled between the ranks of one job, which trust each other)


def _bcast_bytes(pg: _ProcessGroup, payload: bytes | None, src: int) -> bytes:
    size = np.array([len(payload) if pg.rank == src else 0], dtype=np.int64)
    _wait_all(pg, [pg.comm.Ibcast(size, root=src)], "broadcast_object_list")
    data = np.frombuffer(payload, np.uint8).copy() if pg.rank == src else None
    if data is None:
        data = np.empty(int(size[0]), dtype=np.uint8)
    _wait_all(pg, [pg.comm.Ibcast(data, root=src)], "broadcast_object_list")
    return data.tobytes()


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Replace every rank's ``object_list`` items with rank ``src``'s (picklable objects)."""
    pg = _default_group(group)
    if not isinstance(object_list, list):
        raise TypeError(f"object_list must be a list, got {type(object_list).__name__}")
    src = _check_rank(src, "src", pg.size)
    payload = pickle.dumps(list(object_list)) if pg.rank == src else None
    received = pickle.loads(_bcast_bytes(pg, payload, src))
    if len(received) != len(object_list):
        raise ValueError(
            f"object_list has {len(object_list)} items on rank {pg.rank} but {len(received)} on "
            f"src rank {src}; give every rank a list of the same length"
        )
    object_list[:] = received


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list`` (length world_size) with every rank's ``obj`` (picklable)."""
    pg = _default_group(group)
    if not isinstance(object_list, list) or len(object_list) != pg.size:
        raise ValueError(f"object_list must be a list of world_size={pg.size} items")
    payload = np.frombuffer(pickle.dumps(obj), np.uint8)
    sizes = np.empty(pg.size, dtype=np.int64)
    _wait_all(
        pg, [pg.comm.Iallgather(np.array([payload.size], np.int64), sizes)], "all_gather_object"
    )
    data = np.empty(int(sizes.sum()), dtype=np.uint8)
    request = pg.comm.Iallgatherv(payload, [data, sizes])
    _wait_all(pg, [request], "all_gather_object")
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for i in range(pg.size):
        object_list[i] = pickle.loads(data[offsets[i] : offsets[i + 1]].tobytes())
