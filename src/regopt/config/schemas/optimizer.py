"""Schemas of conf/optimizer/*: torch's optimiser arguments plus regopt's weight-decay settings."""

from __future__ import annotations

from dataclasses import dataclass

from regopt.config.rules import FRACTION_CLOSED, NON_NEGATIVE, POSITIVE, PROBABILITY_BELOW_ONE
from regopt.config.schema import key
from regopt.config.schemas.base import PARAMS, Target, schema


@dataclass
class Optimizer(Target):
    lr: float = key(POSITIVE)
    weight_decay: float = key(NON_NEGATIVE)
    weight_decay_params: PARAMS = key()  # regopt's: which parameters decay
    decoupled_weight_decay: bool = key()  # regopt's: AdamW's rule for any optimiser


@schema("optimizer", "torch.optim.SGD")
@dataclass
class SGD(Optimizer):
    momentum: float = key(FRACTION_CLOSED)
    dampening: float = key(FRACTION_CLOSED)
    nesterov: bool = key()


@dataclass
class AdamFamily(Target):
    lr: float = key(POSITIVE)
    betas: tuple[float, float] = key(PROBABILITY_BELOW_ONE)  # exactly two
    eps: float = key(POSITIVE)
    weight_decay: float = key(NON_NEGATIVE)
    weight_decay_params: PARAMS = key()
    amsgrad: bool = key()


@schema("optimizer", "torch.optim.Adam")
@dataclass
class Adam(AdamFamily):
    decoupled_weight_decay: bool = key()


@schema("optimizer", "torch.optim.AdamW")
@dataclass
class AdamW(AdamFamily):
    """Always decoupled: no `decoupled_weight_decay` switch."""


@schema("optimizer", "torch.optim.RMSprop")
@dataclass
class RMSprop(Optimizer):
    alpha: float = key(FRACTION_CLOSED)
    momentum: float = key(FRACTION_CLOSED)
    eps: float = key(POSITIVE)
    centered: bool = key()


@schema("optimizer", "torch.optim.Adagrad")
@dataclass
class Adagrad(Optimizer):
    lr_decay: float = key(NON_NEGATIVE)
    initial_accumulator_value: float = key(NON_NEGATIVE)
    eps: float = key(POSITIVE)
