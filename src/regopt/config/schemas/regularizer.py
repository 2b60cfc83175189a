"""Schemas of conf/regularizer/*: every regulariser's settings, and its strength's schedule."""

from __future__ import annotations

from dataclasses import dataclass

from regopt.config.rules import FRACTION_CLOSED, NON_NEGATIVE, POSITIVE, PROBABILITY_BELOW_ONE
from regopt.config.schema import key
from regopt.config.schemas.base import PARAMS, Schedule, Target, schema


@dataclass
class Scheduled(Target):
    schedule: Schedule | None = key()


@dataclass
class Penalty(Scheduled):
    weight: float = key(NON_NEGATIVE)
    params: PARAMS = key()


@schema("regularizer", "regopt.regularizers.penalties.L1Penalty")
@dataclass
class L1(Penalty):
    pass


@schema("regularizer", "regopt.regularizers.penalties.L2Penalty")
@dataclass
class L2(Penalty):
    prior_std: float | None = key(POSITIVE)


@schema("regularizer", "regopt.regularizers.penalties.ElasticPenalty")
@dataclass
class Elastic(Penalty):
    l1_ratio: float = key(FRACTION_CLOSED)


@schema("regularizer", "regopt.regularizers.dropout.Dropout")
@dataclass
class Dropout(Scheduled):
    p: float = key(PROBABILITY_BELOW_ONE)


@schema("regularizer", "regopt.regularizers.data.InputNoise")
@dataclass
class InputNoise(Scheduled):
    std: float = key(NON_NEGATIVE)


@schema("regularizer", "regopt.regularizers.data.LabelSmoothing")
@dataclass
class LabelSmoothing(Scheduled):
    smoothing: float = key(PROBABILITY_BELOW_ONE)


@schema("regularizer", "regopt.regularizers.mixup.Mixup")
@dataclass
class Mixup(Scheduled):
    alpha: float = key(NON_NEGATIVE)


@schema("regularizer", "regopt.regularizers.kl.KLDivergence")
@dataclass
class KL(Scheduled):
    beta: float = key(NON_NEGATIVE)


@schema("regularizer", "regopt.regularizers.constraints.MaxNorm")
@dataclass
class MaxNorm(Target):
    """A constraint has no strength, so no schedule."""

    bound: float = key(POSITIVE)
    params: PARAMS = key()
