"""``torch.utils.data`` names: the very objects of :mod:`tinygrad_mom.data`, so
``from tinygrad_mom.utils.data import DataLoader`` and ``tm.data.DataLoader`` are one class.
``utils.data.distributed.DistributedSampler`` and ``utils.data.transforms`` (torchvision's
transform names, :mod:`tinygrad_mom.data.transforms`) are reachable here too."""

from ...data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    random_split,
    transforms,
)
from . import distributed  # noqa: E402

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "ConcatDataset",
    "DistributedSampler",
    "distributed",
    "transforms",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "random_split",
]
