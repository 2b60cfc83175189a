"""Callbacks that must see every training batch.

With `steps_per_call: epoch` one `training_step` call takes a whole epoch of batches, so Lightning
calls `on_train_batch_start/end` once per epoch. A callback that overrides them (a progress bar,
`DeviceStatsMonitor`, `LearningRateMonitor`, `Timer` under `max_time`, a user's per-step logger)
expects them per batch; while one is attached, the tensor data modules serve one batch per call.
"""

from __future__ import annotations

from typing import Any

from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.utilities.model_helpers import is_overridden

PER_BATCH_HOOKS = ("on_train_batch_start", "on_train_batch_end")


def callbacks_needing_each_batch(trainer: Any) -> list[str]:
    """Names of the attached callbacks whose per-batch hooks do something."""
    names = []
    for callback in getattr(trainer, "callbacks", None) or []:
        if isinstance(callback, ModelCheckpoint) and _saves_per_epoch_only(callback):
            continue  # its on_train_batch_end only serves every_n_train_steps / train_time_interval
        if any(is_overridden(hook, callback, Callback) for hook in PER_BATCH_HOOKS):
            names.append(type(callback).__name__)
    return names


def _saves_per_epoch_only(checkpoint: ModelCheckpoint) -> bool:
    every_n_steps = getattr(checkpoint, "_every_n_train_steps", 0)
    return not every_n_steps and getattr(checkpoint, "_train_time_interval", None) is None
