"""Datasets and data loading (``torch.utils.data`` names), real formats and an embedded set.

``load_dataset(name)`` returns (train, test) TensorDatasets for ``"shapes"`` (embedded,
generated from a seed, no download), ``"mnist"``, ``"fashion-mnist"`` and ``"cifar10"``.
"""

from __future__ import annotations

from . import transforms
from ._files import ChecksumError, DatasetError, cache_dir
from .cifar import cifar10
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler
from .idx import fashion_mnist, mnist
from .loader import DataLoader, default_collate
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .synthetic import shapes
from .transforms import TransformedDataset

DATASETS = ("shapes", "mnist", "fashion-mnist", "cifar10")
_ALIASES = {
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
}


def load_dataset(name: str, root=None, split: str | None = None, download: bool = True, **kwargs):
    """(train, test) TensorDatasets of dataset ``name``, or one of them for ``split``.

    ``name`` is one of ``DATASETS``. ``root`` is a local directory holding the files (the
    real datasets only); otherwise they are read from, or downloaded to, :func:`cache_dir`.
    Extra keyword arguments go to the generator of ``"shapes"`` (``n_train``, ``n_test``,
    ``seed``).
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "shapes":
        if root is not None:
            raise ValueError("the 'shapes' dataset is generated in memory: it takes no root")
        return shapes(split=split, **kwargs)
    loaders = {"mnist": mnist, "fashion-mnist": fashion_mnist, "cifar10": cifar10}
    if key not in loaders:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    if kwargs:
        raise TypeError(f"{key} takes no options {sorted(kwargs)}")
    return loaders[key](root=root, split=split, download=download)


__all__ = [
    "DATASETS",
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "ChecksumError",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DatasetError",
    "DistributedSampler",
    "Subset",
    "TensorDataset",
    "TransformedDataset",
    "cache_dir",
    "cifar10",
    "default_collate",
    "fashion_mnist",
    "load_dataset",
    "mnist",
    "random_split",
    "shapes",
    "transforms",
]
