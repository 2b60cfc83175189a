"""A recurrent classifier for sequence data: the MNIST-1D paper's GRU (Greydanus & Kobak, 2024).

A (channels, length) sample is read as `length` time steps of `channels` features. The GRU's
outputs at every step (both directions) are concatenated and fed to one linear layer, as in the
paper's `GRUBase`: with its defaults (6 hidden units per direction, bidirectional) on MNIST-1D
that is 5,134 parameters. Its weight matrices have two dimensions, so they count as `weights` for
the penalties and weight decay; the dropout layer after the recurrence (p=`dropout`, 0 by
default) is there so `regularizer=dropout` composes.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.ranges import PositiveInt, Probability


@checked
class GRU(nn.Module):
    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        input_dim: int | None = None,  # given to every model; the shape says it all here
        hidden_size: PositiveInt = 6,
        num_layers: PositiveInt = 1,
        bidirectional: bool = True,
        dropout: Probability = 0.0,
    ) -> None:
        super().__init__()
        if len(input_shape) != 2:
            raise ValueError(
                f"input_shape={tuple(input_shape)}: this model needs (channels, length) sequences"
            )
        self.input_shape = tuple(input_shape)
        channels, length = self.input_shape
        self.gru = nn.GRU(
            channels, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional
        )
        directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(directions * hidden_size * length, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        steps = x.reshape(len(x), *self.input_shape).transpose(1, 2)  # (batch, length, channels)
        outputs, _ = self.gru(steps)  # the initial state is zero, as in the paper
        return self.head(self.dropout(outputs.flatten(1)))
