"""Batches served straight from in-memory tensors.

A DataLoader over a TensorDataset collates sample by sample; for data sets that fit in memory a
random permutation plus tensor indexing is about 20x cheaper per epoch (see the field notes).
Lightning accepts any iterable with a length as a data loader.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor


class EpochPermutation:
    """The order of samples for one epoch, sharded across ranks.

    Like DistributedSampler it is reseeded by `set_epoch` (Lightning calls it through the loader's
    `sampler` attribute), so the order depends only on (seed, epoch): a resumed run sees the same
    batches as an uninterrupted one.
    """

    def __init__(
        self, size: int, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1
    ) -> None:
        self.size, self.shuffle, self.seed = size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> Tensor:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.arange(self.size)
        if self.world_size == 1:
            return order
        # Pad by wrapping so every rank gets the same number of samples (as DistributedSampler).
        per_rank = math.ceil(self.size / self.world_size)
        padded = order.repeat(math.ceil(per_rank * self.world_size / self.size))
        return padded[: per_rank * self.world_size][self.rank :: self.world_size]

    def __len__(self) -> int:
        return math.ceil(self.size / self.world_size)


class TensorLoader:
    """Iterates (inputs, targets) batches of `batch_size` rows of the given tensors."""

    def __init__(
        self,
        inputs: Tensor,
        targets: Tensor,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if len(inputs) != len(targets):
            raise ValueError(
                f"inputs ({len(inputs)}) and targets ({len(targets)}) differ in length"
            )
        self.inputs, self.targets = inputs, targets
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler = EpochPermutation(len(inputs), shuffle, seed, rank, world_size)
        self.batch_sampler = None  # Lightning inspects DataLoader-like attributes; there is none

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = self.sampler.indices().to(self.inputs.device)
        stop = len(order) - (len(order) % self.batch_size if self.drop_last else 0)
        for start in range(0, stop, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.inputs[index], self.targets[index]

    def num_batches(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __len__(self) -> int:
        return self.num_batches()
