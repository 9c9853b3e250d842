"""DataLoader: reproducible, resumable shuffling and one host-to-device copy per batch."""

from __future__ import annotations

import collections.abc
import math
import warnings

import numpy as np

from .. import _validation as V
from .. import backend
from ..generator import numpy_rng
from ..tensor import Tensor


def default_collate(batch: list):
    """Stack a list of samples into a batch, as PyTorch's ``default_collate`` does.

    Tensors and NumPy arrays are stacked along a new first dimension, Python ints become an
    int64 Tensor, floats a float64 Tensor, bools a bool Tensor; dicts, tuples (returned as a
    list, as in PyTorch), named tuples and lists are collated field by field; strings are kept
    as a list.
    """
    if not batch:
        raise ValueError("default_collate got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        arrays = [t.array for t in batch]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, got shapes {sorted(shapes)}"
            )
        xp = backend.get_array_module(arrays[0])
        return Tensor._wrap(xp.stack(arrays))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: cannot batch NumPy arrays of dtype {elem.dtype}")
        shapes = {a.shape for a in batch}
        if len(shapes) != 1:
            raise RuntimeError(
                f"stack expects each array to be equal size, got shapes {sorted(shapes)}"
            )
        return Tensor._wrap(np.stack(batch))
    if isinstance(elem, np.generic) and elem.dtype.kind in "biuf":
        return Tensor._wrap(np.array(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(field)) for field in zip(*batch, strict=True)]
    raise TypeError(
        "default_collate: batch must contain Tensors, NumPy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


def _move(obj, device: str):
    """Move every Tensor in a collated batch to ``device`` (one copy per array)."""
    if isinstance(obj, Tensor):
        return Tensor._wrap(backend.to_device(obj.array, device))
    if isinstance(obj, dict):
        return {k: _move(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_move(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_move(v, device) for v in obj)
    return obj


class DataLoader:
    """Batches of Tensors on ``device`` from a dataset, as ``torch.utils.data.DataLoader``.

    Shuffling is reproducible: epoch ``e`` uses the permutation drawn from ``(seed, e)``, so a
    run gets a new order each epoch, the same orders on every run, and a resumed run continues
    with the same order once it calls ``set_epoch(e)`` (or ``load_state_dict``). With
    ``seed=None`` the seed is drawn once from the global generator (``tm.manual_seed``).

    Datasets backed by arrays (TensorDataset, and Subsets of it) are batched with one fancy
    index per array instead of one ``__getitem__`` per sample; either way a batch is put
    together on the host and copied to ``device`` once. Batches of a TensorDataset come out as
    a list of Tensors, as in PyTorch.

    Differences from PyTorch (deliberate): ``seed`` is new (``generator=``, a ``tm.Generator``,
    draws the seed instead); ``device`` is new; ``num_workers > 0`` still loads in the main
    process (with a warning), so ``persistent_workers``, ``prefetch_factor``, ``timeout``,
    ``worker_init_fn`` and ``multiprocessing_context`` are accepted and unused; ``pin_memory`` is
    accepted and has no effect; ``sampler`` (an iterable of indices with a length, such as
    :class:`DistributedSampler`) is keyword-only, and ``batch_sampler`` is not supported.
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        *,
        drop_last: bool = False,
        seed: int | None = None,
        device: str = "cpu",
        collate_fn=None,
        num_workers: int = 0,
        pin_memory: bool = False,
        sampler=None,
        generator=None,
        timeout: float = 0,
        worker_init_fn=None,
        multiprocessing_context=None,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ):
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(
                f"dataset must define __getitem__ and __len__, got {type(dataset).__name__}"
            )
        if not V.is_int(batch_size) or batch_size <= 0:
            # PyTorch's type and text (a ValueError even for a float)
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size!r}"
            )
        for name, value in (
            ("shuffle", shuffle),
            ("drop_last", drop_last),
            ("pin_memory", pin_memory),
        ):
            V.flag(name, value, where="DataLoader")
        V.int_at_least("num_workers", num_workers, 0, where="DataLoader")
        if num_workers > 0:
            warnings.warn(
                f"num_workers={num_workers}: tinygrad_mom loads data in the main process",
                stacklevel=2,
            )
        if sampler is not None:
            if not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
                raise TypeError(
                    f"sampler must be an iterable of indices with a length, got "
                    f"{type(sampler).__name__}"
                )
            if shuffle:
                raise ValueError("sampler option is mutually exclusive with shuffle")
        V.flag("persistent_workers", persistent_workers, where="DataLoader")
        V.flag("in_order", in_order, where="DataLoader")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(
                f"worker_init_fn must be callable, got {type(worker_init_fn).__name__}"
            )
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give generator or seed, not both")
        if seed is None:
            seed = int(numpy_rng(generator, "DataLoader").integers(0, 2**63 - 1))
        _check_seed(seed)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"collate_fn must be callable, got {type(collate_fn).__name__}")
        self.device = backend.parse_device(device)
        if self.device != "cpu":
            backend.array_module_for(self.device)  # fail now, clearly, if CUDA is unusable
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.pin_memory = bool(pin_memory)
        self.sampler = sampler
        self.epoch = 0  # the epoch the next iteration will use

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch ``epoch``'s order (to resume a run)."""
        V.int_at_least("epoch", epoch, 0, where="DataLoader.set_epoch")
        self.epoch = int(epoch)

    def state_dict(self) -> dict:
        """The seed and the next epoch: all a checkpoint needs to resume the same order."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (checked before anything changes)."""
        if not isinstance(state, dict) or set(state) != {"seed", "epoch"}:
            raise ValueError(f"expected a dict with keys 'seed' and 'epoch', got {state!r}")
        _check_seed(state["seed"])
        self.set_epoch(state["epoch"])
        self.seed = int(state["seed"])

    def indices(self, epoch: int) -> np.ndarray:
        """The sample order of epoch ``epoch`` (before batching); the sampler's when given."""
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n).astype(np.int64)

    def __iter__(self):
        order = self.indices(self.epoch)
        self.epoch += 1  # counted when iteration starts, so an early break still moves on
        return self._batches(order)

    def _batches(self, order: np.ndarray):
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        fetch = getattr(self.dataset, "_get_batch", None) if self.collate_fn is None else None
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            columns = fetch(idx) if fetch is not None else None
            if columns is not None:
                yield [Tensor._wrap(backend.to_device(a, self.device)) for a in columns]
                continue
            collate = self.collate_fn or default_collate
            yield _move(collate([self.dataset[int(i)] for i in idx]), self.device)

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
            f"device={self.device!r})"
        )


def _check_seed(seed) -> None:
    V.int_at_least("seed", seed, 0)
