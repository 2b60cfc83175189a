"""The one interface every regulariser implements.

A penalty regulariser adds `weight * penalty()` to the objective. It is bound to a model once, which
fixes the parameters it covers (by the shared rule in `regopt.params`).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from regopt.params import select_parameters


class Regularizer:
    def __init__(self, weight: float, params: str = "weights") -> None:
        self.weight = float(weight)
        self.params_rule = params
        self.name = type(self).__name__.lower()
        self._params: list[nn.Parameter] = []

    def bind(self, model: nn.Module, name: str) -> None:
        self.name = name
        self._params = [p for _, p in select_parameters(model, self.params_rule)]

    @property
    def parameters(self) -> list[nn.Parameter]:
        if not self._params:
            raise RuntimeError(f"regulariser '{self.name}' is not bound to a model (call bind)")
        return self._params

    def penalty(self) -> Tensor:
        """The unweighted penalty at the current parameters."""
        raise NotImplementedError

    def weighted_penalty(self) -> Tensor:
        return self.weight * self.penalty()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": type(self).__name__,
            "weight": self.weight,
            "params": self.params_rule,
        }
