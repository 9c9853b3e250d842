"""A multi-layer perceptron for flattened images (the classic MNIST MLP)."""

from __future__ import annotations

from collections.abc import Sequence

import tinygrad_mom as tm
from tinygrad_mom import nn


class MLP(nn.Module):
    """Flatten → [Linear → ReLU → Dropout] per hidden size → Linear (logits).

    Source: the Keras example ``mnist_mlp.py`` (keras-team/keras, examples/mnist_mlp.py):
    Dense(512, relu) → Dropout(0.2) → Dense(512, relu) → Dropout(0.2) → Dense(10), which the
    defaults reproduce for 28×28 inputs (784 features).
    """

    def __init__(
        self,
        in_features: int = 784,
        hidden_sizes: Sequence[int] = (512, 512),
        num_classes: int = 10,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: tm.Tensor) -> tm.Tensor:
        return self.net(x)
