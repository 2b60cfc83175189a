"""The LightningModule: owns the objective and logs each term; a factory builds the optimiser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torchmetrics.classification import MulticlassAccuracy

from regopt.objective import Objective
from regopt.optim.factory import OptimizerFactory
from regopt.running_means import RunningMeans


class RegOptModule(pl.LightningModule):
    """Logged each epoch: `train/loss` (the whole objective), `train/loss_data`,
    `train/penalty/<name>` (weighted; epoch means over the steps), `train/acc`; `penalty/<name>`
    (weighted, at the weights that end the epoch); `val/loss` (data loss), `val/acc`.
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        optimizer: OptimizerFactory,
        scheduler: Callable[[torch.optim.Optimizer], Any] | None,
        num_classes: int,
    ) -> None:
        super().__init__()
        self.model = model
        self.objective = objective
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.val_acc = MulticlassAccuracy(num_classes=num_classes, average="micro")
        penalty_names = [f"penalty/{name}" for name in objective.names]
        self._train_means = RunningMeans(["loss", "loss_data", *penalty_names, "acc"])
        self._val_means = RunningMeans(["loss"])
        self.divergence: dict[str, int] | None = None  # set when the objective stops being finite

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def on_fit_start(self) -> None:
        self.objective.bind(self.model)  # after the strategy has placed the model

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        outputs = self.model(x)
        terms = self.objective(outputs, y)
        accuracy = (outputs.argmax(dim=-1) == y).float().mean()
        self._train_means.add(
            [terms.total, terms.data, *terms.penalties.values(), accuracy], len(y)
        )
        return terms.total

    def on_train_epoch_end(self) -> None:
        means = self._train_means.compute_and_reset()
        if not means:
            return
        self._log_epoch({f"train/{name}": value for name, value in means.items()})
        with torch.no_grad():
            at_end = self.objective.weighted_penalties()
        self._log_epoch({f"penalty/{name}": value for name, value in at_end.items()})
        if not torch.isfinite(means["loss"]):
            self.divergence = {"epoch": self.current_epoch, "step": self.global_step}
            self.trainer.should_stop = True

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        outputs = self.model(x)
        self._val_means.add([self.objective.data_loss(outputs, y)], len(y))
        self.val_acc.update(outputs, y)

    def on_validation_epoch_end(self) -> None:
        means = self._val_means.compute_and_reset()
        if means:
            self._log_epoch({"val/loss": means["loss"], "val/acc": self.val_acc.compute()})
        self.val_acc.reset()

    def _log_epoch(self, metrics: dict[str, Tensor]) -> None:
        distributed = self.trainer.world_size > 1
        self.log_dict(metrics, on_step=False, on_epoch=True, sync_dist=distributed)

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.model)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }
