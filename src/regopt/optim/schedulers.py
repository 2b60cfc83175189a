"""Learning-rate schedules that torch does not ship as one class."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from regopt.config.signature import checked
from regopt.ranges import Fraction, NonNegativeInt, PositiveInt


def warmup_cosine_factor(
    epoch: int, warmup_epochs: int, max_epochs: int, min_lr_ratio: float
) -> float:
    """The factor of the base lr in `epoch`: (epoch + 1) / warmup_epochs while warming up."""
    if warmup_epochs > 0 and epoch < warmup_epochs:
        return (epoch + 1) / warmup_epochs
    span = max(1, max_epochs - warmup_epochs)
    progress = min(1.0, (epoch - warmup_epochs) / span)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


@checked
def warmup_cosine(
    optimizer: Optimizer,
    warmup_epochs: NonNegativeInt,
    max_epochs: PositiveInt,
    min_lr_ratio: Fraction = 0.0,
) -> LambdaLR:
    """Linear warm-up over `warmup_epochs`, then cosine decay to min_lr_ratio * lr. A warm-up
    as long as the run would never reach the optimiser's lr, and would say nothing of it."""
    if warmup_epochs >= max_epochs:
        raise ValueError(
            f"warmup_epochs={warmup_epochs} with max_epochs={max_epochs}: the learning rate would "
            f"never reach optimizer.lr; allowed: a whole number < {max_epochs}"
        )
    return LambdaLR(
        optimizer,
        lambda epoch: warmup_cosine_factor(epoch, warmup_epochs, max_epochs, min_lr_ratio),
    )
