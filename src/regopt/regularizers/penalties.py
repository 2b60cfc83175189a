"""Norm penalties on the covered weights: L1, L2 (also given as a prior std) and elastic net."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.ranges import Fraction, NonNegative, ParamsRule, Positive
from regopt.regularizers.base import Effect, FitContext, Penalty

log = logging.getLogger("regopt")


def l1_norm(params: list[torch.nn.Parameter]) -> Tensor:
    return torch.stack([p.abs().sum() for p in params]).sum()


def half_squared_l2_norm(params: list[torch.nn.Parameter]) -> Tensor:
    return 0.5 * torch.stack([p.pow(2).sum() for p in params]).sum()


def prior_std_to_weight(prior_std: float, train_size: int) -> float:
    """The L2 weight whose objective is the negative log-posterior under N(0, prior_std^2 I).

    regopt's objective is the *mean* negative log-likelihood over the N training samples, so the
    log-prior ||w||^2 / (2 prior_std^2) is divided by N as well: weight = 1 / (N prior_std^2).
    """
    return 1.0 / (train_size * prior_std**2)


class L1Penalty(Penalty):
    """sum |w|: the negative log of a Laplace prior, up to a constant. Its gradient is sign(w)."""

    effect = Effect("near_zero_weights", "higher", settings={"weight": 1e-3})

    def penalty(self, outputs: Tensor | None = None) -> Tensor:
        return l1_norm(self.parameters)


@checked
class L2Penalty(Penalty):
    """0.5 * sum w^2: the negative log of a Gaussian prior, up to a constant. Its gradient is w,
    so with plain SGD `weight` equals torch's weight_decay; with Adam it is not AdamW's decay.

    Given `prior_std`, the weight is derived from it (and `weight` is ignored) once the training
    set size is known: see `prior_std_to_weight`.
    """

    effect = Effect("weight_norm", "lower", settings={"weight": 1e-2})

    def __init__(
        self,
        weight: NonNegative | None = None,
        prior_std: Positive | None = None,
        params: ParamsRule = "weights",
    ) -> None:
        if prior_std is None and weight is None:
            raise ValueError("weight=null with prior_std=null; allowed: give weight or prior_std")
        super().__init__(0.0 if weight is None else weight, params)
        self.prior_std = None if prior_std is None else float(prior_std)
        self.train_size: int | None = None

    def prepare(self, context: FitContext) -> None:
        if self.prior_std is None:
            return
        self.train_size = context.train_size
        derived = prior_std_to_weight(self.prior_std, context.train_size)
        log.info(
            f"{self.name}: prior_std={self.prior_std:g} over N={self.train_size} "
            f"training samples gives weight={derived:.6g}"
        )
        self.weight = derived

    def penalty(self, outputs: Tensor | None = None) -> Tensor:
        return half_squared_l2_norm(self.parameters)

    def settings(self) -> dict[str, Any]:
        extra = (
            {}
            if self.prior_std is None
            else {"prior_std": self.prior_std, "train_size": self.train_size}
        )
        return {**super().settings(), **extra}


@checked
class ElasticPenalty(Penalty):
    """l1_ratio * sum |w| + (1 - l1_ratio) * 0.5 * sum w^2: the sum of its two parts."""

    effect = Effect("weight_norm", "lower", settings={"weight": 1e-2})

    def __init__(
        self, weight: NonNegative, l1_ratio: Fraction = 0.5, params: ParamsRule = "weights"
    ) -> None:
        super().__init__(weight, params)
        self.l1_ratio = float(l1_ratio)

    def penalty(self, outputs: Tensor | None = None) -> Tensor:
        l1 = l1_norm(self.parameters)
        l2 = half_squared_l2_norm(self.parameters)
        return self.l1_ratio * l1 + (1.0 - self.l1_ratio) * l2

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "l1_ratio": self.l1_ratio}
