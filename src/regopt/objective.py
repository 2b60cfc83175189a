"""The objective: data loss plus the weighted penalties of the selected regularisers.

It lives apart from the optimiser: the optimiser only ever sees parameters, and any term here
(an L2 penalty included) is part of what is minimised, logged on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import Tensor, nn

from regopt.regularizers.base import Regularizer


@dataclass
class ObjectiveTerms:
    total: Tensor
    data: Tensor
    penalties: dict[str, Tensor]  # name -> weight * penalty


class Objective:
    def __init__(self, data_loss: nn.Module, regularizers: Mapping[str, Regularizer]) -> None:
        self.data_loss = data_loss
        self.regularizers = dict(regularizers)

    def bind(self, model: nn.Module) -> None:
        for name, regularizer in self.regularizers.items():
            regularizer.bind(model, name)

    def weighted_penalties(self) -> dict[str, Tensor]:
        return {name: reg.weighted_penalty() for name, reg in self.regularizers.items()}

    def __call__(self, outputs: Tensor, targets: Tensor) -> ObjectiveTerms:
        data = self.data_loss(outputs, targets)
        penalties = self.weighted_penalties()
        total = data
        for value in penalties.values():
            total = total + value
        return ObjectiveTerms(total=total, data=data, penalties=penalties)

    @property
    def names(self) -> list[str]:
        return list(self.regularizers)
