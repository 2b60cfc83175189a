"""The base of every in-memory data module: tensors on the training device, sliced into batches."""

from __future__ import annotations

import logging
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.data.batch_hooks import callbacks_needing_each_batch
from regopt.data.splits import fixed_subset
from regopt.data.tensor_loader import BatchRun, TensorLoader
from regopt.ranges import PositiveInt, Seed

log = logging.getLogger("regopt")


@checked
class TensorDataModule(pl.LightningDataModule):
    """Subclasses say what the data is (`load`, `input_dim`, `num_classes`, `task`); this class
    serves it: shuffled training batches sharded across ranks, the whole validation set on every
    rank (exact metrics, no padding), all tensors moved once to the training device.

    `input_dim` is the number of input features (an MLP flattens); `input_shape` is how a
    convolutional model views one sample: (channels, length) or (channels, height, width), or None
    for data with no spatial layout. For regression `num_classes` is the number of outputs.
    """

    task = "classification"
    input_dim: int
    num_classes: int
    input_shape: tuple[int, ...] | None = None
    # Optimiser steps per training_step call (the config's `steps_per_call`, set by the
    # pipeline): "epoch" or a whole number. See batches_per_call for when it is 1.
    steps_per_call: int | str = 1

    def __init__(
        self, batch_size: PositiveInt = 32, eval_batch_size: PositiveInt = 2048, seed: Seed = 0
    ) -> None:
        super().__init__()
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed

    def load(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(x_train, y_train, x_val, y_val) on the CPU."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        """Idempotent: loads once; once a trainer is attached, moves the tensors to its device."""
        if not hasattr(self, "x_train"):
            self.x_train, self.y_train, self.x_val, self.y_val = self.load()
        # Small data lives on the training device: no host-to-device copy per step on a GPU.
        device = self.trainer.strategy.root_device if self.trainer is not None else None
        if device is not None and self.x_train.device != device:
            for name in ("x_train", "y_train", "x_val", "y_val"):
                setattr(self, name, getattr(self, name).to(device))

    @property
    def num_train_samples(self) -> int:
        """Training samples over all ranks (after setup): the N of the mean loss."""
        return len(self.x_train)

    def _rank_and_world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def train_dataloader(self) -> TensorLoader:
        rank, world = self._rank_and_world()
        loader = TensorLoader(self.x_train, self.y_train, self.batch_size, shuffle=True,
                              seed=self.seed, rank=rank, world_size=world)  # fmt: skip
        loader.batches_per_item = batches_per_call(self.steps_per_call, self.trainer,
                                                   loader.num_batches())  # fmt: skip
        return loader

    def train_eval_dataloader(self, max_samples: int) -> TensorLoader:
        """A fixed subset of the training set (its training labels), unshuffled and whole on
        every rank: the diagnostics measure it exactly as the validation set is measured."""
        index = torch.as_tensor(fixed_subset(len(self.x_train), max_samples, self.seed))
        index = index.to(self.x_train.device)
        return TensorLoader(
            self.x_train[index], self.y_train[index], self.eval_batch_size, shuffle=False
        )

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        """Nothing to move: the loaders serve batches (and runs of them) from tensors that already
        live on the training device (Lightning's own hook walks the batch every step)."""
        if isinstance(batch, BatchRun) or (
            isinstance(batch, tuple | list)
            and all(isinstance(t, Tensor) and t.device == device for t in batch)
        ):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def val_dataloader(self) -> TensorLoader:
        return TensorLoader(self.x_val, self.y_val, self.eval_batch_size, shuffle=False)


def batches_per_call(requested: int | str, trainer: pl.Trainer | None, epoch_batches: int) -> int:
    """Batches per training_step call: `requested` ("epoch" = all of them), or 1 wherever
    Lightning must see every batch: several processes (DDP synchronises each backward with its
    own forward), a trainer limit counted in batches or steps, or a callback with per-batch
    hooks (regopt.data.batch_hooks)."""
    if trainer is None or trainer.world_size > 1:
        return 1
    per_batch = callbacks_needing_each_batch(trainer)
    if per_batch and requested != 1:
        log.info(f"steps_per_call: one batch per call, for the per-batch hooks of {per_batch}")
        return 1
    whole_epoch = (None, 1.0)  # an int 1 is one batch; the float 1.0 is the whole epoch
    per_batch_limits = (
        trainer.max_steps not in (-1, None),
        not any(_same(trainer.limit_train_batches, v) for v in whole_epoch),
        not any(_same(trainer.val_check_interval, v) for v in whole_epoch),
    )
    if any(per_batch_limits):
        return 1
    return max(1, epoch_batches if requested == "epoch" else int(requested))


def _same(value: object, reference: object) -> bool:
    return type(value) is type(reference) and value == reference
