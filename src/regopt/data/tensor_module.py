"""The base of every in-memory data module: tensors on the training device, sliced into batches."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.data.splits import fixed_subset
from regopt.data.tensor_loader import TensorLoader
from regopt.ranges import PositiveInt, Seed


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
    shuffle: bool = True  # reshuffle the training set every epoch; a subclass may offer false

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
        """Shuffled unless `shuffle` is false or under `trainer.overfit_batches`: Lightning then
        trains on the same first batches every epoch (it turns a DataLoader's shuffling off; this
        loader is none)."""
        rank, world = self._rank_and_world()
        overfit = self.trainer is not None and self.trainer.overfit_batches > 0
        return TensorLoader(
            self.x_train,
            self.y_train,
            self.batch_size,
            shuffle=self.shuffle and not overfit,
            seed=self.seed,
            rank=rank,
            world_size=world,
        )

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
        """Nothing to move: the loaders serve batches from tensors that already live on the
        training device (Lightning's own hook walks the batch every step)."""
        if isinstance(batch, tuple | list) and all(
            isinstance(t, Tensor) and t.device == device for t in batch
        ):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def val_dataloader(self) -> TensorLoader:
        return TensorLoader(self.x_val, self.y_val, self.eval_batch_size, shuffle=False)
