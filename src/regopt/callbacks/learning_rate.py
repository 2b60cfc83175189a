"""Log the learning rate once per epoch as `opt/lr`.

Lightning's LearningRateMonitor writes straight to the loggers with a step and no epoch, so it
never reaches the per-epoch record (metrics.csv); logging through `pl_module.log` does.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from regopt.tracking.keys import LEARNING_RATE


class LearningRateLog(Callback):
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.optimizers:
            return
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        distributed = trainer.world_size > 1
        pl_module.log(LEARNING_RATE, float(lr), on_step=False, on_epoch=True, sync_dist=distributed)
