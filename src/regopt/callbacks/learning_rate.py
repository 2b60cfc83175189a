"""Log the learning rate once per epoch as `opt/lr`: the rate the epoch trained with.

Lightning's LearningRateMonitor writes straight to the loggers with a step and no epoch, so it
never reaches the per-epoch record (metrics.csv); logging through `pl_module.log` does. The rate
is read when the epoch starts: Lightning steps an epoch-interval scheduler right after the epoch's
last batch, before any `on_train_epoch_end`.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from regopt.tracking.keys import LEARNING_RATE


class LearningRateLog(Callback):
    def __init__(self) -> None:
        self._lr: float | None = None

    def logged_keys(self, pl_module: pl.LightningModule) -> set[str]:
        return {LEARNING_RATE}

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._lr = (
            float(trainer.optimizers[0].param_groups[0]["lr"]) if trainer.optimizers else None
        )

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._lr is None:
            return
        distributed = trainer.world_size > 1
        pl_module.log(LEARNING_RATE, self._lr, on_step=False, on_epoch=True, sync_dist=distributed)
