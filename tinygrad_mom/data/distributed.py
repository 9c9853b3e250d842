"""DistributedSampler: each rank's share of a dataset, as torch.utils.data.distributed."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

__all__ = ["DistributedSampler"]


def _int_arg(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


class DistributedSampler:
    """The indices of rank ``rank``'s shard of ``dataset``, one shard per process.

    Every epoch the indices ``0 ... len(dataset)-1`` are put in one order, the same on every
    rank (shuffled from ``seed + epoch`` when ``shuffle``; call :meth:`set_epoch` at the start
    of each epoch), then dealt out round-robin: rank ``r`` gets positions ``r, r + n, r + 2n,
    ...`` for ``n = num_replicas``. Shards have equal length, as PyTorch's: without
    ``drop_last`` the order is padded by repeating its first indices; with it, the tail that
    does not fill a round is dropped. ``num_replicas`` and ``rank`` default to the default
    process group's world size and rank.

    Difference from PyTorch (deliberate): the shuffled order comes from NumPy's generator
    (``default_rng(seed + epoch)``), so it differs from PyTorch's ``randperm``; the padding,
    dealing and lengths are PyTorch's.
    """

    def __init__(
        self,
        dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        if not hasattr(dataset, "__len__"):
            raise TypeError(f"dataset must define __len__, got {type(dataset).__name__}")
        if num_replicas is None or rank is None:
            from .. import distributed as dist

            if not dist.is_available():
                raise RuntimeError(
                    "Requires distributed package to be available (pass num_replicas and rank, "
                    'or pip install "tinygrad_mom[dist]")'
                )
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        num_replicas = _int_arg(num_replicas, "num_replicas", 1)
        rank = _int_arg(rank, "rank", -(2**62))
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {flag!r}")
        self.seed = _int_arg(seed, "seed", 0)
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            # drop the tail so that every rank gets the same number of real samples
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            return np.random.default_rng(self.seed + self.epoch).permutation(n).astype(np.int64)
        return np.arange(n, dtype=np.int64)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        order = self._order()
        if not self.drop_last:
            padding = self.total_size - len(order)
            if padding > 0 and len(order) > 0:
                order = np.concatenate([order, np.resize(order, padding)])
        else:
            order = order[: self.total_size]
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order next; every rank must call it with the same epoch."""
        self.epoch = _int_arg(epoch, "epoch", 0)

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(num_replicas={self.num_replicas}, rank={self.rank}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})"
        )
