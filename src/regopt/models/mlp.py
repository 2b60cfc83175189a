"""A multilayer perceptron with dropout layers always present, so dropout is a setting."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.ranges import Activation, PositiveInt, Probability

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


@checked
class MLP(nn.Module):
    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        widths: Sequence[PositiveInt] = (512, 512),
        activation: Activation = "relu",
        dropout: Probability = 0.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        previous = input_dim
        for width in widths:
            layers += [nn.Linear(previous, width), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            previous = width
        layers.append(nn.Linear(previous, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
