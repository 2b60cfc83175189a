"""The root of conf/train.yaml: its own keys, and which schema each config group's nodes get."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from regopt.config.cli_errors import ConfigError
from regopt.config.rules import (
    FRACTION_CLOSED,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    ODD_POSITIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    SEED,
    THREADS,
)
from regopt.config.schema import check_node, key, show
from regopt.config.schemas.base import REGISTRY, Schedule, Target

# groups whose node is one instantiated object ({} allowed where the group has a `none` option)
SINGLE = {"data": False, "model": False, "optimizer": False, "trainer": False, "scheduler": True}
# groups whose node maps names to instantiated objects (several at once, or none)
NAMED = ("regularizer", "callbacks", "diagnostics", "logger")


@dataclass
class Verdict(Target):
    smooth_window: int = key(ODD_POSITIVE_INT)
    min_rise: float = key(POSITIVE)
    patience: int = key(POSITIVE_INT)
    min_epochs: int = key(POSITIVE_INT)
    min_train_fall: float = key(FRACTION_CLOSED)


@dataclass
class Paths:
    root_dir: str = key()
    log_dir: str = key()
    output_dir: str | None = key()  # null outside a Hydra job (the compose API)
    data_dir: str = key()  # generated and downloaded data sets (MNIST-1D, vision sets)


@dataclass
class Root:
    """conf/train.yaml's own keys, and the root keys experiments add."""

    name: str = key()
    seed: int = key(SEED)
    threads: int | Literal["auto"] | None = key(THREADS)
    resume: Literal["auto", "newest_readable", "none"] | None = key()
    divergence_check: Literal["auto", "step", "deferred"] = key()
    verdict: Verdict = key()
    schedule: Schedule = key()
    paths: Paths = key()
    l2_strength: float | None = key(NON_NEGATIVE)  # experiment=l2_vs_weight_decay
    switch_epoch: int | None = key(NON_NEGATIVE_INT)  # experiment=sequential_vs_joint
    ramp_end: int | None = key(NON_NEGATIVE_INT)  # experiment=sequential_vs_joint


def check_tree(tree: dict[str, Any]) -> None:
    """Check a whole resolved config (Hydra's own `hydra` node excepted)."""
    own = {k: v for k, v in tree.items() if k not in SINGLE and k not in NAMED and k != "hydra"}
    check_node(own, Root, "", "the config root")
    for group, may_be_empty in SINGLE.items():
        if group in tree:
            node = tree[group]
            if not (may_be_empty and node in ({}, None)):
                check_target(node, group, group)
    for group in NAMED:
        entries = tree.get(group) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"{group}={show(entries)} is not allowed; allowed: a mapping")
        for name, node in entries.items():
            check_target(node, group, f"{group}.{name}")


def check_target(node: Any, group: str, where: str) -> None:
    """Check a node against the schema registered for its `_target_`."""
    known = REGISTRY.get(group, {})
    if not isinstance(node, dict) or "_target_" not in node:
        raise ConfigError(
            f"{where}={show(node)} is not allowed; allowed: a mapping with a _target_ "
            f"({', '.join(sorted(known))})"
        )
    target = node["_target_"]
    if target not in known:
        raise ConfigError(
            f"{where}._target_={show(target)} has no schema; allowed: {', '.join(sorted(known))} "
            f"(a new one: @schema('{group}', '{target}') in regopt/config/schemas/)"
        )
    check_node(node, known[target], where, f"{where} ({target.rsplit('.', 1)[-1]})")
