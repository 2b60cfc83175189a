"""Build an optimiser from parameter groups.

Weight decay applies to the parameters picked by the same rule the penalties use
(`regopt.params.select_parameters`); every other parameter goes in a group with no decay.
Whether the decay is coupled (added to the gradient, as torch's SGD, Adam and RMSprop do: an L2
penalty in the update) or decoupled (AdamW: a shrink beside the step) is the optimiser's own
semantics, recorded by `weight_decay_kind`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from regopt.params import select_parameters

RESERVED_KEYS = ("weight_decay_params",)


def parameter_groups(model: nn.Module, weight_decay: float, rule: str) -> list[dict[str, Any]]:
    decayed = select_parameters(model, rule)
    decayed_ids = {id(p) for _, p in decayed}
    others = [p for p in model.parameters() if p.requires_grad and id(p) not in decayed_ids]
    groups = [{"params": [p for _, p in decayed], "weight_decay": weight_decay, "name": "decay"}]
    if others:
        groups.append({"params": others, "weight_decay": 0.0, "name": "no_decay"})
    return groups


class OptimizerFactory:
    """Turns a model's parameter groups into an optimiser; built from `cfg.optimizer`."""

    def __init__(
        self, make: Callable[..., torch.optim.Optimizer], weight_decay_params: str = "weights"
    ) -> None:
        self.make = make
        self.weight_decay_params = weight_decay_params

    @classmethod
    def from_config(cls, cfg: DictConfig | dict) -> OptimizerFactory:
        from hydra.utils import instantiate

        options = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
        options = dict(options)
        rule = options.pop("weight_decay_params", "weights")
        return cls(instantiate(options), rule)

    @property
    def options(self) -> dict[str, Any]:
        return dict(getattr(self.make, "keywords", {}))

    @property
    def algorithm(self) -> type:
        return getattr(self.make, "func", self.make)

    @property
    def weight_decay(self) -> float:
        return float(self.options.get("weight_decay", 0.0))

    @property
    def weight_decay_kind(self) -> str:
        algorithm = self.algorithm
        decoupled = (isinstance(algorithm, type) and issubclass(algorithm, torch.optim.AdamW)) or (
            self.options.get("decoupled_weight_decay", False)
        )
        return "decoupled" if decoupled else "coupled"

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.algorithm.__name__,
            "lr": self.options.get("lr"),
            "weight_decay": self.weight_decay,
            "weight_decay_kind": self.weight_decay_kind,
            "weight_decay_params": self.weight_decay_params,
        }

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        groups = parameter_groups(model, self.weight_decay, self.weight_decay_params)
        return self.make(groups)
