"""`train_eval/<loss and the task's metrics>` and the true gaps `gap/loss`, `gap/acc`
(classification) or `gap/mse`, `gap/mae` (regression), once per epoch.

The training subset is measured inside the validation epoch (Lightning has already switched to eval
mode and inference mode there). The gaps need this epoch's `val/loss`, which the module logs in its
own `on_validation_epoch_end` *after* the callbacks' hook, so they are formed at the end of the
training epoch, which comes after validation.
"""

from __future__ import annotations

import pytorch_lightning as pl
from torch import Tensor

from regopt.config.signature import checked
from regopt.diagnostics.epoch_log import EpochDiagnostic, fitting
from regopt.diagnostics.subset import LazySubset, evaluate
from regopt.ranges import PositiveInt


def gaps(train_eval: dict[str, Tensor], val: dict[str, Tensor]) -> dict[str, Tensor]:
    """Every gap is positive when the training subset does better than validation."""
    out = {}
    for name in ("loss", "mse", "mae"):  # lower is better
        if name in train_eval and f"val/{name}" in val:
            out[f"gap/{name}"] = val[f"val/{name}"].to(train_eval[name].device) - train_eval[name]
    if "acc" in train_eval and "val/acc" in val:
        out["gap/acc"] = train_eval["acc"] - val["val/acc"].to(train_eval["acc"].device)
    return out


@checked
class TrainEvalGap(EpochDiagnostic):
    def __init__(self, max_samples: PositiveInt = 512) -> None:
        self.subset = LazySubset(max_samples)
        self._latest: tuple[int, dict[str, Tensor]] | None = None

    def logged_keys(self, pl_module: pl.LightningModule) -> set[str]:
        names = ["loss", *pl_module.task.metric_names]
        return {f"{part}/{name}" for part in ("train_eval", "gap") for name in names}

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not fitting(trainer):
            return
        batches = self.subset.batches(trainer, pl_module)
        if not batches:
            return
        metrics = evaluate(pl_module, batches)
        self._latest = (trainer.current_epoch, metrics)
        self.record(trainer, {f"train_eval/{k}": v for k, v in metrics.items()})

    def epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._latest is None or self._latest[0] != trainer.current_epoch:
            return  # no validation this epoch
        self.record(trainer, gaps(self._latest[1], trainer.callback_metrics))
