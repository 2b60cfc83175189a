"""Build an optimiser from parameter groups.

Weight decay applies to the parameters picked by the same rule the penalties use
(`regopt.params.select_parameters`); every other parameter goes in a group with no decay.
Whether the decay is coupled (added to the gradient, as torch's SGD, Adam, RMSprop and Adagrad do:
an L2 penalty in the update) or decoupled (a shrink beside the step: AdamW always, any other
optimiser with `decoupled_weight_decay: true`, see regopt.optim.decoupled) is recorded by
`weight_decay_kind`. A node with a `base` (optimizer=sam) wraps the optimiser its base node
builds (regopt.optim.sam): the wrapper's own keys are its strength, the rest are the base's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from regopt.optim.decoupled import GROUP_KEY, with_decoupled_weight_decay
from regopt.params import select_parameters
from regopt.ranges import ParamsRule
from regopt.settings import Node

# the base optimiser's node, checked as `optimizer` itself is (regopt.settings.RunSettings)
BaseNode = Annotated[
    dict[str, Any] | None,
    Node(extra="regopt.optim.factory:OptimizerFactory", supplied=("params",), may_be_empty=True),
]


def parameter_groups(
    model: nn.Module, weight_decay: float, rule: str, decoupled: bool = False
) -> list[dict[str, Any]]:
    """Decayed and not decayed parameters. `decoupled`: the rate goes to the decoupled shrink
    (group key `decoupled_decay`) and torch's own, coupled weight_decay is 0."""
    decayed = select_parameters(model, rule)
    decayed_ids = {id(p) for _, p in decayed}
    others = [p for p in model.parameters() if p.requires_grad and id(p) not in decayed_ids]
    rates = (
        {"weight_decay": 0.0, GROUP_KEY: weight_decay}
        if decoupled
        else {"weight_decay": weight_decay}
    )
    groups = [{"params": [p for _, p in decayed], **rates, "name": "decay"}]
    if others:
        no_decay = {"weight_decay": 0.0, GROUP_KEY: 0.0} if decoupled else {"weight_decay": 0.0}
        groups.append({"params": others, **no_decay, "name": "no_decay"})
    return groups


class OptimizerFactory:
    """Turns a model's parameter groups into an optimiser; built from `cfg.optimizer`.

    Its keyword-only parameters are the keys of `cfg.optimizer` that regopt consumes beside the
    optimiser's own (the config check reads them from this signature: RESERVED_KEYS). With a
    `base` node, `make` takes the base's optimiser instead of parameter groups, and the weight
    decay settings are the base's.
    """

    def __init__(
        self,
        make: Callable[..., torch.optim.Optimizer],
        *,
        weight_decay_params: ParamsRule = "weights",
        decoupled_weight_decay: bool = False,
        base: BaseNode = None,
    ) -> None:
        self.make = make
        self.base = None if base is None else OptimizerFactory.from_config(base)
        if self.base is not None and self.base.base is not None:
            raise ValueError(
                f"base={self.base.algorithm.__name__} wraps an optimiser itself; allowed: one that "
                "steps on its own (optimizer@optimizer.base=momentum, adam, ...)"
            )
        if self.base is not None and (weight_decay_params != "weights" or decoupled_weight_decay):
            raise ValueError(
                "weight decay belongs to the base optimiser: set "
                "optimizer.base.weight_decay_params or optimizer.base.decoupled_weight_decay"
            )
        self.weight_decay_params = weight_decay_params
        self.decoupled_weight_decay = bool(decoupled_weight_decay)

    @classmethod
    def from_config(cls, cfg: DictConfig | dict) -> OptimizerFactory:
        from hydra.utils import instantiate

        options = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
        options = dict(options)
        own = {key: options.pop(key) for key in RESERVED_KEYS if key in options}
        return cls(instantiate(options), **own)

    @property
    def options(self) -> dict[str, Any]:
        return dict(getattr(self.make, "keywords", {}))

    @property
    def algorithm(self) -> type:
        return getattr(self.make, "func", self.make)

    @property
    def weight_decay(self) -> float:
        if self.base is not None:
            return self.base.weight_decay
        return float(self.options.get("weight_decay", 0.0))

    @property
    def natively_decoupled(self) -> bool:
        algorithm = self.algorithm
        return isinstance(algorithm, type) and issubclass(algorithm, torch.optim.AdamW)

    @property
    def weight_decay_kind(self) -> str:
        if self.base is not None:
            return self.base.weight_decay_kind
        decoupled = self.natively_decoupled or self.decoupled_weight_decay
        return "decoupled" if decoupled else "coupled"

    def describe(self) -> dict[str, Any]:
        if self.base is not None:  # the wrapper's own settings, beside the base's
            return {**self.base.describe(), "wrapper": self.algorithm.__name__, **self.options}
        return {
            "type": self.algorithm.__name__,
            "lr": self.options.get("lr"),
            "weight_decay": self.weight_decay,
            "weight_decay_kind": self.weight_decay_kind,
            "weight_decay_params": self.weight_decay_params,
        }

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        """The optimiser of `model`'s parameters (the config check builds one on a dummy)."""
        if self.base is not None:
            return self.make(self.base(model))
        if not self.decoupled_weight_decay or self.natively_decoupled:
            return self.make(parameter_groups(model, self.weight_decay, self.weight_decay_params))
        groups = parameter_groups(
            model, self.weight_decay, self.weight_decay_params, decoupled=True
        )
        algorithm = with_decoupled_weight_decay(self.algorithm)
        options = {k: v for k, v in self.options.items() if k != "weight_decay"}
        return algorithm(groups, *getattr(self.make, "args", ()), weight_decay=0.0, **options)


RESERVED_KEYS = tuple(
    name
    for name, parameter in inspect.signature(OptimizerFactory).parameters.items()
    if parameter.kind is parameter.KEYWORD_ONLY
)
