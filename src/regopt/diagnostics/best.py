"""`val/loss_best`, `val/best_epoch`, `val/epochs_since_best`: how long validation has not improved.

Kept as device tensors and updated with `torch.where`, so tracking the best costs no host sync.
A non-finite validation loss never becomes the best.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import Tensor

from regopt.diagnostics.epoch_log import EpochDiagnostic, fitting
from regopt.tracking.keys import EPOCHS_SINCE_BEST

MONITOR = "val/loss"


def update_best(
    best: Tensor, best_epoch: Tensor, value: Tensor, epoch: int
) -> tuple[Tensor, Tensor]:
    improved = value < best  # False for NaN
    return torch.where(improved, value, best), torch.where(improved, epoch, best_epoch)


class BestValidation(EpochDiagnostic):
    def __init__(self) -> None:
        self._best: Tensor | None = None
        self._best_epoch: Tensor | None = None
        self._validated_epoch = -1
        self._resumed: dict[str, float] = {}  # from a checkpoint, when fitting resumes

    def logged_keys(self, pl_module: pl.LightningModule) -> set[str]:
        return {"val/loss_best", "val/best_epoch", "val/epochs_since_best"}

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        device = pl_module.device
        self._best = torch.tensor(self._resumed.get("best", float("inf")), device=device)
        self._best_epoch = torch.tensor(self._resumed.get("best_epoch", -1), device=device)

    def state_dict(self) -> dict[str, float]:
        if self._best is None:
            return {}
        return {"best": float(self._best), "best_epoch": int(self._best_epoch)}

    def load_state_dict(self, state_dict: dict[str, float]) -> None:
        self._resumed = dict(state_dict)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if fitting(trainer):
            self._validated_epoch = trainer.current_epoch

    def epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch
        value = trainer.callback_metrics.get(MONITOR)
        if value is None or self._validated_epoch != epoch or self._best is None:
            return
        self._best, self._best_epoch = update_best(
            self._best, self._best_epoch, value.to(self._best.device).float(), epoch
        )
        self.record(
            trainer,
            {
                "val/loss_best": self._best,
                "val/best_epoch": self._best_epoch.float(),
                EPOCHS_SINCE_BEST: (epoch - self._best_epoch).float(),
            },
        )
