"""``torch.utils.data`` samplers: ``Sampler``, ``SequentialSampler``, ``RandomSampler``,
``SubsetRandomSampler``, ``WeightedRandomSampler``, ``BatchSampler``.

Each is an iterable of indices with a length, so ``DataLoader(dataset, sampler=...)`` takes it.
Random ones draw a new order on every iteration, from ``generator`` (a :class:`tm.Generator`) or
the global generator ``tm.manual_seed`` seeds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .. import _validation as V
from ..generator import numpy_rng
from ..tensor import Tensor

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and usually ``__len__``."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) − 1."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the dataset's indices (or ``num_samples`` draws with
    ``replacement=True``), a new one on every iteration."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = V.flag("replacement", replacement, where="RandomSampler")
        self._num_samples = V.int_at_least("num_samples", num_samples, 1, where="RandomSampler",
                                           none_ok=True)
        numpy_rng(generator, "RandomSampler")  # checked now
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), numpy_rng(self.generator, "RandomSampler")
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        whole, rest = divmod(self.num_samples, n) if n else (0, 0)
        order = [rng.permutation(n) for _ in range(whole)] + [rng.permutation(n)[:rest]]
        return iter(np.concatenate(order).astype(np.int64).tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order, a new one on every iteration."""

    def __init__(self, indices: Sequence[int], generator=None) -> None:
        self.indices = indices
        numpy_rng(generator, "SubsetRandomSampler")
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        order = numpy_rng(self.generator, "SubsetRandomSampler").permutation(len(self.indices))
        return (self.indices[int(i)] for i in order)

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples: int, replacement: bool = True,
                 generator=None) -> None:
        w = weights.numpy(force=True) if isinstance(weights, Tensor) else np.asarray(weights)
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                "WeightedRandomSampler: weights must be finite, non-negative and not all zero"
            )
        self.weights = w
        self.num_samples = V.int_at_least("num_samples", num_samples, 1,
                                          where="WeightedRandomSampler")
        self.replacement = V.flag("replacement", replacement, where="WeightedRandomSampler")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(
                "WeightedRandomSampler: without replacement num_samples cannot exceed the "
                f"number of non-zero weights ({np.count_nonzero(w)}), got {num_samples}"
            )
        numpy_rng(generator, "WeightedRandomSampler")
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = numpy_rng(self.generator, "WeightedRandomSampler")
        drawn = rng.choice(self.weights.size, size=self.num_samples, replace=self.replacement,
                           p=self.weights / self.weights.sum())
        return iter(drawn.astype(np.int64).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = V.int_at_least("batch_size", batch_size, 1, where="BatchSampler")
        self.drop_last = V.flag("drop_last", drop_last, where="BatchSampler")

    def __iter__(self) -> Iterator[list]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
