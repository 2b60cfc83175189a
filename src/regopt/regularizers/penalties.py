"""Norm penalties on the covered weights."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from regopt.regularizers.base import Regularizer


def l1_norm(params: list[torch.nn.Parameter]) -> Tensor:
    return torch.stack([p.abs().sum() for p in params]).sum()


def half_squared_l2_norm(params: list[torch.nn.Parameter]) -> Tensor:
    return 0.5 * torch.stack([p.pow(2).sum() for p in params]).sum()


class L1Penalty(Regularizer):
    """sum |w|: the negative log of a Laplace prior, up to a constant. Its gradient is sign(w)."""

    def penalty(self) -> Tensor:
        return l1_norm(self.parameters)


class L2Penalty(Regularizer):
    """0.5 * sum w^2: the negative log of a Gaussian prior, up to a constant. Its gradient is w,
    so with plain SGD `weight` equals torch's weight_decay; with Adam it is not AdamW's decay."""

    def penalty(self) -> Tensor:
        return half_squared_l2_norm(self.parameters)


class ElasticPenalty(Regularizer):
    """l1_ratio * sum |w| + (1 - l1_ratio) * 0.5 * sum w^2: the sum of its two parts."""

    def __init__(self, weight: float, l1_ratio: float = 0.5, params: str = "weights") -> None:
        super().__init__(weight, params)
        self.l1_ratio = float(l1_ratio)

    def penalty(self) -> Tensor:
        l1 = l1_norm(self.parameters)
        l2 = half_squared_l2_norm(self.parameters)
        return self.l1_ratio * l1 + (1.0 - self.l1_ratio) * l2

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "l1_ratio": self.l1_ratio}
