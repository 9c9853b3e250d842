"""LeNet-5 (LeCun et al., 1998)."""

from __future__ import annotations

import tinygrad_mom as tm
from tinygrad_mom import nn


class LeNet5(nn.Module):
    """C1 conv 6@5×5 → S2 avg-pool 2 → C3 conv 16@5×5 → S4 avg-pool 2 → F5 120 → F6 84 → 10.

    Source: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to
    document recognition", Proc. IEEE 86(11), 1998. As in most modern re-implementations, the
    sparse C3 connection table is a full convolution, subsampling is plain average pooling, the
    scaled-tanh squashing is ``tanh``, and the RBF output layer is a linear layer (logits).
    The paper feeds 32×32 images; for 28×28 MNIST ``image_size=28`` pads C1 by 2 so the rest of
    the network is unchanged (16·5·5 = 400 features before F5).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 32) -> None:
        super().__init__()
        if image_size not in (28, 32):
            raise ValueError(
                f"LeNet5: image_size must be 32 (the paper's) or 28 (MNIST), got {image_size}"
            )
        padding = (32 - image_size) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=padding),
            nn.Tanh(),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.Tanh(),
            nn.AvgPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.Tanh(),
            nn.Linear(120, 84),
            nn.Tanh(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: tm.Tensor) -> tm.Tensor:
        return self.classifier(self.features(x))
