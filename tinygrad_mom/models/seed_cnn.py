"""The seed material's CIFAR-10 CNN (TensorFlow/Keras "Convolutional Neural Network" tutorial)."""

from __future__ import annotations

import tinygrad_mom as tm
from tinygrad_mom import nn


def _valid_conv_pool_size(size: int) -> int:
    """Spatial size after conv3x3 → pool2 → conv3x3 → pool2 → conv3x3, all 'valid'."""
    size = (size - 2) // 2
    size = (size - 2) // 2
    return size - 2


class SeedCNN(nn.Module):
    """Conv(32,3×3,relu) → MaxPool 2×2 → Conv(64,3×3,relu) → MaxPool 2×2 → Conv(64,3×3,relu)
    → Flatten → Dense(64,relu) → Dense(10).

    Source: TensorFlow tutorial "Convolutional Neural Network (CNN)",
    https://www.tensorflow.org/tutorials/images/cnn (the seeds' Keras example). All convolutions
    use 'valid' padding, so a 32×32×3 image flattens to 64·4·4 = 1024 features and the model has
    122,570 parameters, as Keras's ``model.summary()`` reports. ``image_size=28`` with
    ``in_channels=1`` gives the same network for MNIST (flatten 64·3·3 = 576). The last layer
    returns logits: pair it with ``nn.CrossEntropyLoss`` (Keras: ``from_logits=True``).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, image_size: int = 32) -> None:
        super().__init__()
        final = _valid_conv_pool_size(image_size)
        if final < 1:
            raise ValueError(
                f"SeedCNN: image_size={image_size} is too small; it needs at least 18 pixels"
            )
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3),
            nn.ReLU(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dense(64 * final * final, 64),
            nn.ReLU(),
            nn.Dense(64, num_classes),
        )

    def forward(self, x: tm.Tensor) -> tm.Tensor:
        return self.classifier(self.features(x))
