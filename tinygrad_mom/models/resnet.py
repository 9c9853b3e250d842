"""A small ResNet for CIFAR-sized images (He et al., 2016, section 4.2)."""

from __future__ import annotations

from collections.abc import Sequence

import tinygrad_mom as tm
from tinygrad_mom import nn


class BasicBlock(nn.Module):
    """conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU.

    The shortcut is the identity, or a 1×1 convolution + BN when the shape changes (the
    paper's option B).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: tm.Tensor) -> tm.Tensor:
        out = tm.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return tm.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """The CIFAR-10 ResNet family: conv3×3(16) → three stages of BasicBlocks → global pool → fc.

    Source: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition",
    CVPR 2016, section 4.2: stages of widths 16/32/64 with n blocks each, downsampling by
    stride 2 at the start of stages 2 and 3; depth = 6n + 2. The default ``blocks=(1, 1, 1)``
    is ResNet-8 (small enough for CPU training); ``(3, 3, 3)`` is the paper's ResNet-20.
    Projection shortcuts (option B) replace the paper's zero-padding ones (option A).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        blocks: Sequence[int] = (1, 1, 1),
        widths: Sequence[int] = (16, 32, 64),
    ) -> None:
        super().__init__()
        if len(blocks) != len(widths) or not blocks:
            raise ValueError(
                f"ResNet: blocks {tuple(blocks)} and widths {tuple(widths)} need the same "
                "non-zero length"
            )
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        stages = []
        channels = widths[0]
        for i, (count, width) in enumerate(zip(blocks, widths, strict=True)):
            for j in range(count):
                stride = 2 if i > 0 and j == 0 else 1
                stages.append(BasicBlock(channels, width, stride))
                channels = width
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: tm.Tensor) -> tm.Tensor:
        return self.fc(self.flatten(self.pool(self.layers(self.stem(x)))))
