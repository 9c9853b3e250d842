"""Data-parallel training across processes (``tm.nn.parallel``), as ``torch.nn.parallel``.

:class:`DistributedDataParallel` wraps a model on every rank of the default process group
(``tinygrad_mom.distributed.init_process_group``). Each rank runs forward and backward on its
own share of the batch; when backward finishes, the gradients are averaged across ranks, so
every rank's optimizer takes the same step and the replicas stay identical.
"""

from __future__ import annotations

import contextlib
import itertools
import weakref
from collections.abc import Iterator

import numpy as np

from .. import backend
from .. import distributed as dist
from ..tensor import Tensor, _end_of_backward_callbacks, bool_, is_grad_enabled
from .module import Module

__all__ = ["DistributedDataParallel"]

_DEFAULT_BUCKET_CAP_MB = 25  # PyTorch's default


class _Bucket:
    """Gradients of several parameters (one dtype and device) reduced by one all-reduce."""

    def __init__(self, params: list, names: list):
        self.params = params
        self.names = names
        xp = backend.get_array_module(params[0].array)
        sizes = [int(p.array.size) for p in params]
        offsets = [0, *itertools.accumulate(sizes)]
        self.slices = [slice(a, b) for a, b in zip(offsets[:-1], offsets[1:])]
        with backend.device_context(params[0].device):
            self.flat = Tensor._wrap(xp.zeros(offsets[-1], dtype=params[0].dtype))

    @property
    def nbytes(self) -> int:
        return int(self.flat.array.nbytes)


# Wrappers whose parameters received gradients in the running backward, reduced by
# _reduce_pending, which the engine calls at the end of every backward pass.
_pending: list[weakref.ref] = []


def _reduce_pending() -> None:
    while _pending:
        ddp = _pending.pop(0)()
        if ddp is not None:
            ddp._reduce_gradients()


if _reduce_pending not in _end_of_backward_callbacks:
    _end_of_backward_callbacks.append(_reduce_pending)


def _call_if_alive(ref: weakref.ref, param) -> None:
    ddp = ref()
    if ddp is not None:
        ddp._grad_ready(param)


def _remove_handles(handles: list) -> None:
    for handle in handles:
        handle.remove()


class DistributedDataParallel(Module):
    """Average gradients across the ranks of the default process group after each backward.

    When built it checks that every rank's model has the same parameters (names, shapes,
    dtypes) and copies rank 0's parameters and buffers to the others. After a backward that
    follows a forward through this wrapper, gradients are summed in flat buckets of about
    ``bucket_cap_mb`` MiB (one all-reduce per bucket) and divided by the world size. Inside
    :meth:`no_sync` gradients only accumulate locally; the next synchronised backward averages
    the accumulated sum. With ``broadcast_buffers`` (default) rank 0's buffers (BatchNorm's
    running statistics) are copied to every rank before each forward; batch statistics stay
    local, as in PyTorch.

    Parameters that get no gradient in a backward are an error unless
    ``find_unused_parameters=True``. Accepted for compatibility without effect:
    ``output_device``, ``check_reduction``, ``static_graph``; ``gradient_as_bucket_view=True``
    is not supported.
    """

    def __init__(
        self,
        module: Module,
        device_ids: list | None = None,
        output_device=None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group=None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ):
        if not isinstance(module, Module):
            raise TypeError(f"module must be a tinygrad_mom nn.Module, got {type(module).__name__}")
        world = dist.get_world_size(process_group)  # raises when no process group exists
        if dim != 0:
            raise ValueError(f"dim must be 0 (each rank brings its own batch), got {dim!r}")
        for name, flag in (
            ("broadcast_buffers", broadcast_buffers),
            ("find_unused_parameters", find_unused_parameters),
            ("gradient_as_bucket_view", gradient_as_bucket_view),
        ):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {flag!r}")
        if gradient_as_bucket_view:
            raise NotImplementedError(
                "gradient_as_bucket_view=True is not supported: gradients are copied into and "
                "out of the buckets"
            )
        if bucket_cap_mb is None:
            bucket_cap_mb = _DEFAULT_BUCKET_CAP_MB
        if isinstance(bucket_cap_mb, bool) or not isinstance(
            bucket_cap_mb, (int, float, np.integer, np.floating)
        ):
            raise TypeError(f"bucket_cap_mb must be a number, got {bucket_cap_mb!r}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient."
            )
        devices = {p.device for _, p in named}
        if len(devices) != 1:
            raise ValueError(
                f"every parameter must be on one device for DistributedDataParallel, found "
                f"{sorted(devices)}"
            )
        device = devices.pop()
        if device_ids is not None:
            wanted = [
                backend.parse_device(d if isinstance(d, str) else f"cuda:{d}") for d in device_ids
            ]
            if wanted != [device]:
                raise ValueError(
                    f"device_ids={device_ids!r}, but the module's parameters are on {device}; "
                    "pass device_ids=None for CPU modules or [the GPU index] for GPU ones"
                )
        super().__init__()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.static_graph = bool(static_graph)
        self.require_backward_grad_sync = True
        self._world_size = world
        self._verify_same_model()
        self._sync_module_states()
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._index = {id(p): i for i, p in enumerate(self._params)}
        self._buckets = self._make_buckets(named)
        self._armed = False  # a synchronised forward happened: the next backward reduces
        self._queued = False  # the end-of-backward reduction is queued in the running backward
        self._ready: set[int] = set()
        ref = weakref.ref(self)
        handles = [
            p.register_post_accumulate_grad_hook(lambda param, ref=ref: _call_if_alive(ref, param))
            for p in self._params
        ]
        # the hooks hold only a weak reference; drop them when this wrapper goes away
        weakref.finalize(self, _remove_handles, handles)

    # --- construction ---------------------------------------------------------------------
    def _verify_same_model(self) -> None:
        mine = [
            ("parameter", n, tuple(p.shape), str(p.dtype))
            for n, p in self.module.named_parameters()
        ]
        mine += [
            ("buffer", n, tuple(b.shape), str(b.dtype)) for n, b in self.module.named_buffers()
        ]
        everyone: list = [None] * self._world_size
        dist.all_gather_object(everyone, mine)
        reference = everyone[0]
        for rank, theirs in enumerate(everyone[1:], start=1):
            if theirs == reference:
                continue
            if len(theirs) != len(reference):
                raise RuntimeError(
                    f"DistributedDataParallel expects the same model on every rank, but rank 0 "
                    f"has {len(reference)} parameters and buffers and rank {rank} has "
                    f"{len(theirs)}"
                )
            for ours, other in zip(reference, theirs):
                if ours != other:
                    raise RuntimeError(
                        "DistributedDataParallel expects the same model on every rank, but rank "
                        f"0 has {ours[0]} {ours[1]!r} with shape {ours[2]} and dtype {ours[3]} "
                        f"where rank {rank} has {other[0]} {other[1]!r} with shape {other[2]} "
                        f"and dtype {other[3]}"
                    )

    def _sync_module_states(self) -> None:
        """Copy rank 0's parameters and buffers to every rank."""
        if self._world_size == 1:
            return
        for p in self.module.parameters():
            dist.broadcast(p, 0)
        for b in self.module.buffers():
            dist.broadcast(b, 0)

    def _make_buckets(self, named: list) -> list[_Bucket]:
        # Reverse registration order: backward produces the last layers' gradients first, as
        # PyTorch's bucketing assumes; one bucket holds one dtype on one device.
        cap = self.bucket_cap_mb * 2**20
        buckets, params, names, size, key = [], [], [], 0, None
        for name, p in reversed(named):
            this_key = (p.device, p.dtype)
            if params and (this_key != key or size + p.array.nbytes > cap):
                buckets.append(_Bucket(params, names))
                params, names, size = [], [], 0
            params.append(p)
            names.append(name)
            size += p.array.nbytes
            key = this_key
        buckets.append(_Bucket(params, names))
        return buckets

    # --- forward and backward -------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        """Run the wrapped module; a later backward averages the gradients across ranks."""
        if self.broadcast_buffers and self._world_size > 1:
            for b in self.module.buffers():
                dist.broadcast(b, 0)
        # a backward that failed half-way left no reduction behind for the next one
        self._ready = set()
        if self._queued:
            self._queued = False
            _pending[:] = [ref for ref in _pending if ref() is not self]
        self._armed = bool(is_grad_enabled() and self.require_backward_grad_sync)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Skip the gradient all-reduce for backwards of forwards run inside this block."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _grad_ready(self, param) -> None:
        """Post-accumulate hook: note the gradient and queue the reduction once per backward."""
        if not self._armed:
            return
        self._ready.add(id(param))
        if not self._queued:
            self._queued = True
            _pending.append(weakref.ref(self))

    def _reduce_gradients(self) -> None:
        """End of backward: sum every bucket across ranks and divide by the world size."""
        self._queued = False
        self._armed = False
        ready, self._ready = self._ready, set()
        used = [id(p) in ready for p in self._params]
        if not self.find_unused_parameters:
            missing = [n for n, u in zip(self._names, used) if not u]
            if missing:
                raise RuntimeError(
                    "DistributedDataParallel: parameters received no gradient in this backward: "
                    f"{', '.join(missing)}. Every parameter must take part in the loss on every "
                    "rank; pass find_unused_parameters=True to allow unused parameters"
                )
        elif self._world_size > 1:
            # used on any rank means reduced (and stepped) on every rank
            flags = Tensor(used, dtype=bool_)
            dist.all_reduce(flags, dist.ReduceOp.MAX)
            used = flags.numpy().tolist()
        if self._world_size == 1:
            return  # the average over one rank is its own gradient: no copies
        works = []
        for bucket in self._buckets:
            flat = bucket.flat.array
            for p, sl in zip(bucket.params, bucket.slices):
                if p.grad is None:
                    flat[sl] = 0
                else:
                    flat[sl] = p.grad.array.reshape(-1)
            works.append(dist.all_reduce(bucket.flat, dist.ReduceOp.AVG, async_op=True))
        for bucket, work in zip(self._buckets, works):
            work.wait()
            flat = bucket.flat.array
            for p, sl in zip(bucket.params, bucket.slices):
                if p.grad is not None:
                    p.grad.array[...] = flat[sl].reshape(p.shape)
                elif used[self._index[id(p)]]:  # used on another rank: every rank steps alike
                    p.grad = Tensor._wrap(flat[sl].reshape(p.shape).copy())

    def extra_repr(self) -> str:
        return f"world_size={self._world_size}, buckets={len(self._buckets)}"
