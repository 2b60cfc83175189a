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
from regopt.ranges import Activation, NonNegativeInt, PositiveInt, Probability


def _check(shape: Sequence[int], dims: int) -> None:
    if len(shape) != dims + 1:
        kind = "(channels, length)" if dims == 1 else "(channels, height, width)"
        raise ValueError(f"input_shape={tuple(shape)}: this model needs {kind}")


@checked
class CNN1D(nn.Module):
    """The MNIST-1D paper's ConvNet (Greydanus & Kobak, 2024) by default: one stride-2 conv layer
    per entry of `channels`, of width `kernel_sizes` (one per layer) and zero `padding`, then one
    linear layer (5,210 parameters on MNIST-1D's 40 points)."""

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        input_dim: int | None = None,  # given to every model; the shape says it all here
        channels: Sequence[PositiveInt] = (25, 25, 25),
        kernel_sizes: Sequence[PositiveInt] = (5, 3, 3),
        padding: NonNegativeInt = 1,
        activation: Activation = "relu",
        dropout: Probability = 0.0,
    ) -> None:
        super().__init__()
        _check(input_shape, 1)
        if len(kernel_sizes) != len(channels):
            raise ValueError(
                f"kernel_sizes={list(kernel_sizes)}: one per conv layer, and channels has "
                f"{len(channels)}"
            )
        self.input_shape = tuple(input_shape)
        layers: list[nn.Module] = []
        previous, length = self.input_shape
        for width, kernel in zip(channels, kernel_sizes, strict=True):
            layers += [
                nn.Conv1d(previous, width, kernel, stride=2, padding=padding),
                ACTIVATIONS[activation](),
                nn.Dropout(dropout),
            ]
            length = (length + 2 * padding - kernel) // 2 + 1
            previous = width
        if length < 1:
            raise ValueError(
                f"input_shape={self.input_shape} is too short for {len(channels)} conv layers"
            )
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
