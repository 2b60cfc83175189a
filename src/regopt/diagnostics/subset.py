"""The fixed training subset the diagnostics measure, and how they measure it.

The loss logged during training mixes weights that change within the epoch with dropout and other
training-mode noise; a fixed subset evaluated at the weights that end the epoch, in eval mode, is
comparable with the validation loss, so their difference is the true generalisation gap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

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
    precision = trainer.strategy.precision_plugin  # float64 runs need float64 inputs, as Lightning
    return [  # gives its own loops
        precision.convert_input(pl_module.transfer_batch_to_device(b, pl_module.device, 0))
        for b in make(max_samples)
    ]


class LazySubset:
    """The subset's batches, fetched on first use (the data module is set up and placed by then)."""

    def __init__(self, max_samples: int) -> None:
        self.max_samples = int(max_samples)
        self._batches: list[Batch] | None = None
        self._ready = False

    def batches(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> list[Batch] | None:
        if not self._ready:
            self._batches = train_eval_batches(trainer, pl_module, self.max_samples)
            self._ready = True
        return self._batches


def evaluate(
    pl_module: pl.LightningModule, batches: Sequence[Batch], with_metrics: bool = True
) -> dict[str, Tensor]:
    """Mean data loss (and the task's metrics, e.g. `acc`) over the batches, measured as the
    module measures validation (the task's targets and loss), kept on the device: no host sync."""
    task = pl_module.task
    loss_sum: Tensor | float = 0.0
    metric_sums: list[Tensor | float] = [0.0] * len(task.metric_names)
    count = 0
    for x, y in batches:
        targets = task.targets(x, y)
        outputs = pl_module(x)
        loss_sum = loss_sum + task.loss(outputs, targets).float() * len(x)
        if with_metrics:
            values = task.metrics(outputs, targets)
            metric_sums = [total + v * len(x) for total, v in zip(metric_sums, values, strict=True)]
        count += len(x)
    metrics = {"loss": loss_sum / count}
    if with_metrics:
        metrics.update({n: t / count for n, t in zip(task.metric_names, metric_sums, strict=True)})
    return metrics
