"""Stochastic weight averaging (Izmailov et al., 2018) as one of Lightning's `WeightAveraging`
callbacks: the equal average of the end-of-epoch weights from `swa_epoch_start` on.

Why not Lightning's `StochasticWeightAveraging`: it validates the trained weights (the average
reaches the model only when training ends, so no validated number, best checkpoint or verdict
describes it); it averages the weights at the start of each epoch, so the last epoch's are never
in the average; it replaces the configured scheduler with SWALR from its start epoch; and with
batch norm it adds an epoch of its own to the run. (Its state does resume: a run of it stopped
after 3 of 5 epochs and resumed logged the uninterrupted run's metrics, with no scheduler and with
a StepLR it swapped out; Lightning's own comment says that restoring the swapped scheduler relies
on the order in which it restores states.)

Here the average is updated after the last optimiser step of each epoch from the start epoch on
(`torch.optim.swa_utils.AveragedModel`'s equal average, buffers included), before that epoch is
validated and checkpointed: checkpoints hold the average (state_dict) and the trained weights
(current_model_state, with the average's count), so `resume=auto` continues exactly. Until the
first update, validation, checkpoints and the final weights are the trained ones. The learning
rate stays the configured scheduler's (SWA's constant or cyclic rate is `scheduler=...`).
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import WeightAveraging

from regopt.config.signature import checked
from regopt.ranges import Fraction, PositiveInt


def first_averaged_epoch(start: int | float, max_epochs: int | None) -> int:
    """The first averaged epoch, counted from 1: `start` itself, or its fraction of max_epochs."""
    if isinstance(start, int) and not isinstance(start, bool):
        return max(start, 1)  # 0 is also the fraction 0: the first epoch
    if max_epochs is None or max_epochs < 1:
        raise ValueError(
            f"swa_epoch_start={start} is a fraction of trainer.max_epochs, which is {max_epochs}; "
            "allowed: a whole epoch number (1, 2, ...), or max_epochs >= 1"
        )
    return max(int(start * max_epochs), 1)


@checked
class SWAWeightAveraging(WeightAveraging):
    """The equal average of the weights at the end of each epoch from `swa_epoch_start`:
    an int is the first averaged epoch, counted from 1; a float in [0, 1] is a fraction of
    `max_epochs` (the run's trainer.max_epochs, which the YAML passes): the first averaged epoch
    is then int(fraction * max_epochs), at least 1."""

    validated_on = (
        "trained weights until the first averaged epoch, then averaged weights "
        "(val/*, train_eval/*, gap/*, checkpoint monitors)"
    )
    final_weights = "averaged (trained, if the run stopped before the first averaged epoch)"

    def __init__(
        self,
        swa_epoch_start: PositiveInt | Fraction = 0.8,
        max_epochs: int | None = None,
        device: str | None = None,
        use_buffers: bool = True,
    ) -> None:
        super().__init__(device=device, use_buffers=use_buffers)  # the equal average: SWA's
        self.swa_epoch_start = swa_epoch_start
        self.first_epoch = first_averaged_epoch(swa_epoch_start, max_epochs) - 1  # 0-based

    @property
    def averaged(self) -> bool:
        """Whether the average holds any weights yet (before that, the trained ones count)."""
        return self._average_model is not None and int(self._average_model.n_averaged) > 0

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """After the epoch's last optimiser step, from the first averaged epoch on."""
        last = batch_idx + 1 >= trainer.num_training_batches
        if last and trainer.current_epoch >= self.first_epoch:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Nothing: the update happened after the last step, before validation."""

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.averaged:
            super().on_validation_epoch_start(trainer, pl_module)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.averaged:
            super().on_validation_epoch_end(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.averaged:
            super().on_train_end(trainer, pl_module)

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self.averaged or self._average_model is None:
            super().on_save_checkpoint(trainer, pl_module, checkpoint)

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """A checkpoint from before the first update holds the trained weights alone: the
        average stays empty (its first update copies the weights)."""
        if "current_model_state" in checkpoint:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
