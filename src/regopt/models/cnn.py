"""Small convolutional networks: 1D for MNIST-1D, 2D for image sets.

Each views a (possibly flat) batch as `input_shape` = (channels, length) or (channels, height,
width), so the same data tensors serve the MLP (which flattens) and the CNN. Conv kernels have
ndim >= 2, so they count as `weights` for the penalties, weight decay and max_norm (which bounds
each output filter's norm); biases do not. Dropout layers are always present (p=`dropout`), as in
the MLP, so `regularizer=dropout` switches them on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.models.mlp import ACTIVATIONS
from regopt.ranges import Activation, PositiveInt, Probability


def _check(shape: Sequence[int], dims: int) -> None:
    if len(shape) != dims + 1:
        kind = "(channels, length)" if dims == 1 else "(channels, height, width)"
        raise ValueError(f"input_shape={tuple(shape)}: this model needs {kind}")


@checked
class CNN1D(nn.Module):
    """In the spirit of the MNIST-1D paper's ConvNet (Greydanus, 2020): conv layers of `channels`
    filters of width `kernel_size`, stride 2 (each halves the length), then one linear layer."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        input_dim: int | None = None,  # given to every model; the shape says it all here
        channels: Sequence[PositiveInt] = (25, 25, 25),
        kernel_size: PositiveInt = 5,
        activation: Activation = "relu",
        dropout: Probability = 0.0,
    ) -> None:
        super().__init__()
        _check(input_shape, 1)
        self.input_shape = tuple(input_shape)
        layers: list[nn.Module] = []
        previous, length = self.input_shape
        for width in channels:
            padding = kernel_size // 2
            layers += [
                nn.Conv1d(previous, width, kernel_size, stride=2, padding=padding),
                ACTIVATIONS[activation](),
                nn.Dropout(dropout),
            ]
            length = (length + 2 * padding - kernel_size) // 2 + 1
            previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(previous * length, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x.reshape(len(x), *self.input_shape)))


@checked
class CNN(nn.Module):
    """(conv 3x3 - activation - 2x2 max pool) per entry of `channels`, then a hidden linear layer
    of `hidden` units and the output layer."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        input_dim: int | None = None,  # given to every model; the shape says it all here
        channels: Sequence[PositiveInt] = (32, 64),
        hidden: PositiveInt = 128,
        activation: Activation = "relu",
        dropout: Probability = 0.0,
    ) -> None:
        super().__init__()
        _check(input_shape, 2)
        self.input_shape = tuple(input_shape)
        layers: list[nn.Module] = []
        previous, height, width = self.input_shape
        for out in channels:
            layers += [
                nn.Conv2d(previous, out, 3, padding=1),
                ACTIVATIONS[activation](),
                nn.MaxPool2d(2),
                nn.Dropout(dropout),
            ]
            height, width, previous = height // 2, width // 2, out
        if height * width == 0:
            raise ValueError(
                f"input_shape={self.input_shape} is too small for {len(channels)} pooling layers"
            )
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(previous * math.prod((height, width)), hidden),
            ACTIVATIONS[activation](),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x.reshape(len(x), *self.input_shape)))
