"""``torch.utils.data`` names: the very objects of :mod:`tinygrad_mom.data`, so
``from tinygrad_mom.utils.data import DataLoader`` and ``tm.data.DataLoader`` are one class."""

from ...data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

__all__ = [
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "random_split",
]
