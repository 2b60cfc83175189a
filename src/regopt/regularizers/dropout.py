"""Dropout: a change of the model, not of the objective. It sets p on the model's dropout layers."""

from __future__ import annotations

import logging
from typing import Any

from torch import nn

from regopt.config.signature import checked
from regopt.ranges import Probability
from regopt.regularizers.base import Effect, FitContext, Regularizer

log = logging.getLogger("regopt")


def dropout_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]


@checked
class Dropout(Regularizer):
    """Each unit is zeroed with probability p in training and the survivors are scaled by
    1 / (1 - p), so the expected activation is unchanged; in eval mode the layers are the identity.
    """

    strength_attr = "p"
    effect = Effect("train_confidence", "lower", settings={"p": 0.5})

    def __init__(self, p: Probability = 0.5) -> None:
        super().__init__()
        self.p = float(p)
        self._layers: list[nn.Module] = []

    def prepare(self, context: FitContext) -> None:
        layers = dropout_layers(context.model)
        if not layers:
            raise ValueError(
                f"needs a model with dropout layers; {type(context.model).__name__} has none"
            )
        others = {m.p for m in layers if m.p not in (0.0, self.p)}
        if others:
            log.warning(f"{self.name}: p={self.p:g} replaces the model's dropout {sorted(others)}")
        for layer in layers:
            layer.p = self.p

    def bind(self, model: nn.Module) -> None:
        self._layers = dropout_layers(model)

    def apply_strength(self, value: float) -> None:
        """p lives on the model's dropout layers: a scheduled p is set there."""
        self.p = value
        for layer in self._layers:
            layer.p = value

    def settings(self) -> dict[str, Any]:
        return {"p": self.p}
