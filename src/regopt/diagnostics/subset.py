"""The fixed training subset the diagnostics measure, and how they measure it.

The loss logged during training mixes weights that change within the epoch with dropout and other
training-mode noise; a fixed subset evaluated at the weights that end the epoch, in eval mode, is
comparable with the validation loss, so their difference is the true generalisation gap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import pytorch_lightning as pl
from torch import Tensor

log = logging.getLogger("regopt")
Batch = tuple[Tensor, Tensor]


def train_eval_batches(
    trainer: pl.Trainer, pl_module: pl.LightningModule, max_samples: int
) -> list[Batch] | None:
    """The subset's batches on the module's device, or None when the data module offers none.

    A data module offers the subset through `train_eval_dataloader(max_samples)`.
    """
    make = getattr(trainer.datamodule, "train_eval_dataloader", None)
    if make is None:
        log.warning(
            f"{type(trainer.datamodule).__name__} has no train_eval_dataloader(max_samples): "
            "train_eval/* and gradient diagnostics are skipped"
        )
        return None
    return [pl_module.transfer_batch_to_device(b, pl_module.device, 0) for b in make(max_samples)]


def is_classification(trainer: pl.Trainer) -> bool:
    return getattr(trainer.datamodule, "task", "classification") == "classification"


def data_loss_fn(pl_module: pl.LightningModule) -> Callable[[Tensor, Tensor], Tensor]:
    return pl_module.objective.data_loss


def evaluate(
    forward: Callable[[Tensor], Tensor],
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    batches: Sequence[Batch],
    accuracy: bool,
) -> dict[str, Tensor]:
    """Mean data loss (and accuracy) over the batches, kept on the device: no host sync."""
    loss_sum: Tensor | float = 0.0
    correct: Tensor | float = 0.0
    count = 0
    for x, y in batches:
        outputs = forward(x)
        loss_sum = loss_sum + loss_fn(outputs, y).float() * len(y)
        if accuracy:
            correct = correct + (outputs.argmax(dim=-1) == y).sum()
        count += len(y)
    metrics = {"loss": loss_sum / count}
    if accuracy:
        metrics["acc"] = correct.float() / count
    return metrics
