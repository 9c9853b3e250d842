"""``torch.utils.data.distributed``: :class:`DistributedSampler`, the very class of
:mod:`tinygrad_mom.data.distributed`."""

from ...data.distributed import DistributedSampler

__all__ = ["DistributedSampler"]
