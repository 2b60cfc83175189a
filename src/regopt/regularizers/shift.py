"""Random shifts of the training inputs: data augmentation as a regulariser of image-like data."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.ranges import NonNegativeInt
from regopt.regularizers.base import Effect, FitContext, Regularizer

Padding = Literal["auto", "zeros", "circular"]


def shift(inputs: Tensor, offsets: Tensor, shape: tuple[int, ...], circular: bool) -> Tensor:
    """Each sample of `inputs` (viewed as (N, *shape), shape = (channels, *spatial)) moved by its
    row of `offsets` (N, len(spatial)) along the spatial axes: out[i] = x[i - offset], as
    torch.roll moves; what comes in from outside is 0 (`circular`: what left on the other side)."""
    x = inputs.reshape(len(inputs), *shape)
    for axis, size in enumerate(shape[1:], start=2):
        source = torch.arange(size, device=x.device) - offsets[:, axis - 2 : axis - 1]  # (N, size)
        view = [len(x)] + [1] * (x.ndim - 1)
        view[axis] = size
        if circular:
            x = torch.gather(x, axis, (source % size).view(view).expand_as(x))
        else:
            inside = ((source >= 0) & (source < size)).view(view)
            x = torch.gather(x, axis, source.clamp(0, size - 1).view(view).expand_as(x))
            x = x.masked_fill(~inside, 0.0)
    return x.reshape(inputs.shape)


@checked
class RandomShift(Regularizer):
    """Moves every training input by a random whole number of positions in [-max_shift,
    max_shift] along each spatial axis (per sample and axis, fresh at every step, from torch's
    generator: seeded by the run, restored on resume). Validation sees the inputs unshifted.
    It needs data with a spatial `input_shape`: (channels, length) (MNIST-1D) or (channels,
    height, width) (digits, MNIST, Fashion-MNIST, CIFAR-10). `padding`: `zeros` fills what
    comes in with 0 (the training mean under standard normalisation), `circular` wraps around
    (MNIST-1D's generator translates its sequences so), `auto` is circular for sequences and zeros
    for images. max_shift = 0 changes nothing and draws nothing: the run is regularizer=none's.
    """

    strength_attr = "max_shift"
    needs = ("data=digits",)  # data with a spatial shape (digits ship with scikit-learn)
    effect = Effect("train_confidence", "lower", settings={"max_shift": 1})

    def __init__(self, max_shift: NonNegativeInt = 1, padding: Padding = "auto") -> None:
        super().__init__()
        self.max_shift = int(max_shift)
        self.padding = padding
        self.shape: tuple[int, ...] = ()

    def prepare(self, context: FitContext) -> None:
        shape = tuple(context.input_shape or ())
        if len(shape) not in (2, 3):
            raise ValueError(
                f"needs inputs with a spatial shape, (channels, length) or (channels, height, "
                f"width); the data's input_shape is {shape or None} "
                "(allowed: data=digits, mnist1d, mnist, fashion_mnist, cifar10)"
            )
        if self.max_shift >= min(shape[1:]):
            raise ValueError(
                f"max_shift={self.max_shift} moves every input out of its {shape[1:]} frame; "
                f"allowed: 0 to {min(shape[1:]) - 1}"
            )
        self.shape = shape

    @property
    def circular(self) -> bool:
        return self.padding == "circular" or (self.padding == "auto" and len(self.shape) == 2)

    def apply_strength(self, value: float) -> None:
        self.max_shift = round(value)  # a schedule scales it; shifts are whole positions

    def transform_batch(self, inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        if self.max_shift == 0:
            return inputs, targets
        size = (len(inputs), len(self.shape) - 1)
        offsets = torch.randint(-self.max_shift, self.max_shift + 1, size, device=inputs.device)
        return shift(inputs, offsets, self.shape, self.circular), targets

    def settings(self) -> dict[str, Any]:
        return {"max_shift": self.max_shift, "padding": self.padding}
