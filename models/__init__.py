"""The reference architectures, importable as ``models`` from a clone of the repository.

They live in, and are installed as, :mod:`tinygrad_mom.models`; this folder only re-exports
them so scripts run from the repository root keep working. It is not installed.
"""

from tinygrad_mom.models import MLP, BasicBlock, LeNet5, ResNet, SeedCNN

__all__ = ["BasicBlock", "LeNet5", "MLP", "ResNet", "SeedCNN"]
