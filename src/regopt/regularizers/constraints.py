"""Constraints: they act on the weights after each optimiser step, not on the objective."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from regopt.config.signature import checked
from regopt.params import select_parameters
from regopt.ranges import ParamsRule, Positive
from regopt.regularizers.base import Effect, Regularizer


@checked
class MaxNorm(Regularizer):
    """Projects every row of each covered weight matrix (the incoming weights of one unit) back
    onto the ball of radius `bound` after each step, as in Srivastava et al. (2014). A projection
    is not a penalty: nothing is added to the objective, and weights inside the ball are untouched.
    One-dimensional tensors (biases) are never constrained."""

    effect = Effect("max_row_norm", "at_most", settings={"bound": 0.5}, limit="bound")

    def __init__(self, bound: Positive = 3.0, params: ParamsRule = "weights") -> None:
        super().__init__()
        self.bound = float(bound)
        self.params_rule = params
        self._matrices: list[nn.Parameter] = []

    def bind(self, model: nn.Module) -> None:
        selected = select_parameters(model, self.params_rule)
        self._matrices = [p for _, p in selected if p.ndim >= 2]

    @torch.no_grad()
    def after_step(self) -> None:
        for weight in self._matrices:
            rows = weight.view(weight.shape[0], -1)
            rows.copy_(torch.renorm(rows, p=2, dim=0, maxnorm=self.bound))

    def settings(self) -> dict[str, Any]:
        return {"bound": self.bound, "params": self.params_rule}
