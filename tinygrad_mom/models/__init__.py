"""Reference architectures built only from the public ``tinygrad_mom`` API.

Each class's docstring cites where the architecture comes from.
"""

from .lenet import LeNet5
from .mlp import MLP
from .resnet import BasicBlock, ResNet
from .seed_cnn import SeedCNN

__all__ = ["BasicBlock", "LeNet5", "MLP", "ResNet", "SeedCNN"]
