"""Epoch means accumulated on the device, read back once per epoch.

Logging every step costs more than a small model's step (see the field notes); adding a stacked
tensor to a running sum costs one kernel and no host sync.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


class RunningMeans:
    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._sums: Tensor | None = None
        self._count = 0

    def add(self, values: Sequence[Tensor], count: int) -> None:
        """Add per-sample means `values` of a batch of `count` samples."""
        batch = torch.stack([v.detach().float() for v in values]) * count
        self._sums = batch if self._sums is None else self._sums + batch
        self._count += count

    def compute_and_reset(self) -> dict[str, Tensor]:
        if self._sums is None or self._count == 0:
            return {}
        means = self._sums / self._count
        self._sums, self._count = None, 0
        return dict(zip(self.names, means.unbind(), strict=True))
