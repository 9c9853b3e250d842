"""Neural-network building blocks with PyTorch's names (filled in by the nn work)."""

from . import utils

__all__ = ["utils"]
