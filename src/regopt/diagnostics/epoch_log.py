"""How the diagnostics reach the loggers: once per epoch, in one host transfer.

`self.log` costs about 0.4 ms per key per epoch in Lightning 2.6 (its result collection; measured in
docs/diagnostics.md), which for the ~25 diagnostic keys is more than all their computing. So each
diagnostic `record`s device tensors into a buffer kept per trainer, and at the end of every training
epoch the *last* diagnostic in the trainer's callback list moves the whole buffer to the host in one
transfer and hands it, with the epoch, to every logger (metrics.csv merges it into the epoch's row;
W&B gets one extra `log` per epoch). The same values go into `trainer.callback_metrics` for that
epoch only, so a checkpoint or early-stopping callback can monitor them (Lightning runs those
monitoring callbacks after every other `on_train_epoch_end`).
"""

from __future__ import annotations

import weakref

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.trainer.states import TrainerFn
from torch import Tensor

_BUFFERS: weakref.WeakKeyDictionary[pl.Trainer, dict[str, Tensor]] = weakref.WeakKeyDictionary()
# the keys put into each trainer's callback_metrics at its last flush
_MONITORABLE: weakref.WeakKeyDictionary[pl.Trainer, set[str]] = weakref.WeakKeyDictionary()


def fitting(trainer: pl.Trainer) -> bool:
    """True inside `fit` (its validation included), outside the sanity check."""
    return trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking


class EpochDiagnostic(Callback):
    """Base of the per-epoch diagnostics: subclasses `record` tensors and override `epoch_end`."""

    def record(self, trainer: pl.Trainer, metrics: dict[str, Tensor]) -> None:
        _BUFFERS.setdefault(trainer, {}).update(metrics)

    def epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Work at the weights that end the epoch (validation has run by now)."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if fitting(trainer):
            self.epoch_end(trainer, pl_module)
        diagnostics = [cb for cb in trainer.callbacks if isinstance(cb, EpochDiagnostic)]
        if diagnostics and diagnostics[-1] is self:
            flush(trainer)


def flush(trainer: pl.Trainer) -> dict[str, float]:
    """Make this epoch's recorded metrics monitorable (every rank, this epoch only: an earlier
    epoch's gradient norms must not stand in for this one's) and send them to the loggers
    (global rank zero)."""
    buffer = _BUFFERS.pop(trainer, None)
    callback_metrics = trainer.callback_metrics
    for key in _MONITORABLE.pop(trainer, ()):
        callback_metrics.pop(key, None)
    if not buffer:
        return {}
    values = torch.stack([v.detach().float().reshape(()) for v in buffer.values()]).tolist()
    metrics = dict(zip(buffer, values, strict=True))
    callback_metrics.update({key: torch.tensor(value) for key, value in metrics.items()})
    _MONITORABLE[trainer] = set(metrics)
    if not trainer.is_global_zero:
        return metrics
    step = max(trainer.global_step - 1, 0)  # the step Lightning gives its own epoch-end metrics
    for logger in trainer.loggers:
        logger.log_metrics({**metrics, "epoch": trainer.current_epoch}, step=step)
    return metrics
