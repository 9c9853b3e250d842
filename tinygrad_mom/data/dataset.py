"""Datasets with PyTorch's names: Dataset, TensorDataset, Subset, ConcatDataset, random_split."""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from .. import _validation as V
from .. import backend
from ..generator import numpy_rng
from ..tensor import Tensor


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])

    def _get_batch(self, indices: np.ndarray):
        """Whole-batch fetch: a tuple of arrays indexed by ``indices``, or None if unsupported.

        Array-backed datasets return their columns sliced with one fancy index, so that a
        DataLoader builds a batch without calling ``__getitem__`` once per sample.
        """
        return None


def _check_index(index, length: int) -> int:
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"dataset index must be an int, got {type(index).__name__}")
    index = int(index)
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a dataset of length {length}")
    return index + length if index < 0 else index


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of the given tensors (or NumPy arrays), as in PyTorch.

    NumPy arrays are wrapped without copying. ``dataset[i]`` is a tuple of Tensors.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        wrapped = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                if t.dtype.kind not in "biuf":
                    raise TypeError(f"tensor {i} has dtype {t.dtype}: expected numbers or booleans")
                t = Tensor._wrap(t)
            elif not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset expects Tensors or NumPy arrays, got {type(t).__name__} "
                    f"for argument {i}"
                )
            if t.ndim == 0:
                raise ValueError(f"tensor {i} is 0-dimensional: it has no samples to index")
            wrapped.append(t)
        sizes = [t.shape[0] for t in wrapped]
        if any(n != sizes[0] for n in sizes):
            raise ValueError(f"Size mismatch between tensors: first dimensions are {sizes}")
        self.tensors = tuple(wrapped)

    def __getitem__(self, index):
        if isinstance(index, slice):  # ds[i:j]: views of each tensor's rows, as in PyTorch
            return tuple(Tensor._wrap(t.array[index]) for t in self.tensors)
        if isinstance(index, (list, np.ndarray, Tensor)):  # a batch of indices
            return self._rows(index)
        index = _check_index(index, len(self))
        # a slice then a reshape keeps 0-d rows as arrays (plain indexing gives NumPy scalars)
        return tuple(
            Tensor._wrap(t.array[index : index + 1].reshape(t.array.shape[1:]))
            for t in self.tensors
        )

    def _rows(self, index) -> tuple:
        idx = np.asarray(index.numpy(force=True) if isinstance(index, Tensor) else index)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise TypeError(
                f"dataset index must be an int, a slice or a 1-D sequence of ints, got {index!r}"
            )
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = int(idx[(idx < -n) | (idx >= n)][0])
            raise IndexError(f"index {bad} is out of range for a dataset of length {n}")
        return tuple(Tensor._wrap(a) for a in self._get_batch(idx.astype(np.int64)))

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _get_batch(self, indices: np.ndarray):
        out = []
        for t in self.tensors:
            xp = backend.get_array_module(t.array)
            out.append(t.array[xp.asarray(indices)])  # one gather on the tensor's own device
        return tuple(out)

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise TypeError("Subset indices must be a 1-D sequence of ints")
        n = len(dataset)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = idx[(idx < -n) | (idx >= n)][0]
            raise IndexError(f"Subset index {int(bad)} is out of range for a dataset of length {n}")
        self.dataset = dataset
        self.indices = [int(i) for i in idx]
        self._idx = np.where(idx < 0, idx + n, idx).astype(np.int64)

    def __getitem__(self, index):
        if isinstance(index, list):  # PyTorch allows a list of indices here
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[_check_index(index, len(self))]]

    def __len__(self) -> int:
        return len(self.indices)

    def _get_batch(self, indices: np.ndarray):
        fetch = getattr(self.dataset, "_get_batch", None)
        return None if fetch is None else fetch(self._idx[indices])


class ConcatDataset(Dataset):
    """The concatenation of several datasets."""

    def __init__(self, datasets):
        if not isinstance(datasets, Iterable) or isinstance(datasets, (str, bytes)):
            raise TypeError(f"datasets must be a list of datasets, but got {V.describe(datasets)}")
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        for i, d in enumerate(self.datasets):
            if not (hasattr(d, "__getitem__") and hasattr(d, "__len__")):
                raise TypeError(
                    f"ConcatDataset: datasets[{i}] must define __getitem__ and __len__, "
                    f"but got {V.describe(d)}"
                )
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = _check_index(index, len(self))
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator=None, *,
                 seed: int | None = None):
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (each
    ``floor(n * f)``, the remainder handed out one by one from the first subset, as PyTorch
    does). The permutation comes from ``seed``; with ``seed=None`` it is drawn from the global
    generator (``tm.manual_seed``), or from ``generator`` (a ``tm.Generator``, PyTorch's argument:
    ``random_split(ds, [0.8, 0.2], generator=tm.Generator().manual_seed(42))``).
    """
    n = len(dataset)
    if generator is not None and seed is not None:
        raise ValueError("random_split: give generator or seed, not both")
    numpy_rng(generator, "random_split")  # a wrong type fails before anything else
    if seed is not None:
        V.int_at_least("seed", seed, 0, where="random_split")
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split needs at least one length")
    for length in lengths:
        if isinstance(length, bool) or not isinstance(length, (int, float, np.number)):
            raise TypeError(f"lengths must be ints or fractions, got {length!r}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # fractions, as PyTorch decides
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1: {frac}")
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
        lengths = counts
    for length in lengths:
        if not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(
                f"lengths must be non-negative ints or fractions summing to 1, got {lengths}"
            )
    if sum(lengths) != n:
        raise ValueError(
            f"Sum of input lengths ({sum(lengths)}) does not equal the length of the input "
            f"dataset ({n})"
        )
    if seed is None:
        seed = int(numpy_rng(generator, "random_split").integers(0, 2**63 - 1))
    perm = np.random.default_rng(seed).permutation(n)
    subsets, offset = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, perm[offset : offset + length]))
        offset += length
    return subsets
