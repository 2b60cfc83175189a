"""The root keys of conf/train.yaml, declared once: the pipeline reads a run's settings through
`RunSettings`, and the config check (regopt.config.validate) checks the composed config against
this dataclass's fields.

A config group's node is a `Node`: its keys are checked against its `_target_`'s own signature.
Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Annotated, Any, Literal

from omegaconf import DictConfig, OmegaConf

from regopt.ranges import PositiveInt, Seed


@dataclass(frozen=True)
class Node:
    """A mapping with a `_target_`, checked against the target's signature.

    `extra`: "module:name" of a callable whose keyword-only parameters are keys regopt consumes
    beside the target's (declared where they are consumed). `supplied`: parameters regopt passes
    itself (not config keys). `named`: a mapping of names to such nodes (several, or none).
    `may_be_empty`: {} stands for none (scheduler=none).
    """

    extra: str | None = None
    supplied: tuple[str, ...] = ()
    named: bool = False
    may_be_empty: bool = False


@dataclass(frozen=True)
class ArgsOf:
    """A mapping of keyword arguments of the callable "module:name" (no `_target_`)."""

    target: str


Mapping = dict[str, Any]
SCHEDULE = "regopt.regularizers.schedule:Schedule"


@dataclass(frozen=True)
class Paths:
    root_dir: str
    log_dir: str
    data_dir: str  # generated and downloaded data sets (MNIST-1D, the vision sets)
    output_dir: str | None = None  # null outside a Hydra job (the compose API)


@dataclass(frozen=True)
class RunSettings:
    """Every root key of the composed config."""

    name: str
    seed: Seed
    data: Annotated[Mapping, Node()]
    model: Annotated[Mapping, Node(supplied=("input_dim", "num_classes", "input_shape"))]
    optimizer: Annotated[
        Mapping, Node(extra="regopt.optim.factory:OptimizerFactory", supplied=("params",))
    ]
    trainer: Annotated[
        Mapping,
        Node(supplied=("logger", "callbacks", "plugins")),
    ]
    paths: Annotated[Mapping, ArgsOf("regopt.settings:Paths")]
    schedule: Annotated[Mapping, ArgsOf(SCHEDULE)]  # every regulariser's, unless it sets its own
    scheduler: Annotated[Mapping, Node(supplied=("optimizer",), may_be_empty=True)] = field(
        default_factory=dict
    )
    regularizer: Annotated[
        Mapping, Node(extra="regopt.regularizers.schedule:own_keys", named=True)
    ] = field(default_factory=dict)
    callbacks: Annotated[Mapping, Node(named=True)] = field(default_factory=dict)
    diagnostics: Annotated[Mapping, Node(named=True)] = field(default_factory=dict)
    logger: Annotated[Mapping, Node(named=True, supplied=("name", "tags", "run_config"))] = field(
        default_factory=dict
    )
    verdict: Annotated[Mapping | None, Node(may_be_empty=True)] = None
    # hparams_search=optuna: the study a job reports to (regopt.search.pruning.StudyPruning)
    hparams_search: Annotated[Mapping | None, Node(may_be_empty=True)] = None
    threads: PositiveInt | Literal["auto"] | None = "auto"
    resume: Literal["auto", "newest_readable", "none"] | None = None
    divergence_check: Literal["auto", "step", "deferred"] = "auto"
    # an experiment's own settings, which its configs interpolate (${experiment.switch_epoch}):
    # checked where they land (a schedule's start is an int >= 0)
    experiment: Mapping | None = None

    @classmethod
    def from_config(cls, cfg: DictConfig) -> RunSettings:
        tree = OmegaConf.to_container(cfg, resolve=True)
        assert isinstance(tree, dict)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in tree.items() if k in known})
