"""Readable W&B run names and tags, from what the user changed on the command line."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from regopt.config.cli_errors import CONFIG_DIR
from regopt.report.collect import short_key
from regopt.tracking.keys import OPTION_GROUPS, option_key

HIDDEN_PREFIXES = ("experiment", "hydra", "paths", "logger")


@cache
def config_groups() -> frozenset[str]:
    return frozenset(path.name for path in CONFIG_DIR.iterdir() if path.is_dir())


def override_label(override: str) -> str | None:
    """`optimizer=sgd` -> `sgd`; `regularizer=[l1,l2]` -> `l1+l2`; `data.label_noise=0.2` ->
    `label_noise=0.2`; `regularizer.l2.weight=1e-3` -> `l2.weight=1e-3`; a root key keeps its
    name (`seed=2`), and so does an experiment's own (`experiment.switch_epoch=10` ->
    `switch_epoch=10`; its group `experiment/sequential_vs_joint/arm=ramp` -> `ramp`); the
    experiment, hydra, paths and logger overrides -> None (the group, job type and run dir
    already say them)."""
    key, sep, value = override.lstrip("+~").partition("=")
    if sep and key.startswith("experiment."):
        key = short_key(key)
    elif not sep or key.split(".")[0] in HIDDEN_PREFIXES:
        return None
    if key in config_groups() or key.startswith("experiment/"):  # a group: its option names it
        return "+".join(v.strip() for v in value.strip("[]").split(",")) or "none"
    short = key.split(".", 1)[1] if "." in key else key
    return f"{short}={value}"


def run_name(overrides: Sequence[str], fallback: str) -> str:
    labels = [label for label in map(override_label, overrides) if label]
    return " ".join(labels) or fallback


def run_tags(static: dict[str, Any]) -> list[str]:
    """The regularisers' names (`none` when there is none) and the optimiser's."""
    regularizers = [r["name"] for r in static.get("regularizers", [])] or ["none"]
    return [*regularizers, static["optimizer"]["name"]]


def chosen_options(choices: dict[str, Any], regularizers: Sequence[str]) -> dict[str, str]:
    """The option picked in each group of OPTION_GROUPS (`optimizer: nesterov`, `experiment:
    none`). The regularisers are named from the run itself (`l2+dropout`, `none`): Hydra records
    no single choice for a list of them."""
    picked = {group: choices.get(group) for group in OPTION_GROUPS}
    picked["regularizer"] = "+".join(regularizers) or "none"
    return {group: "none" if value is None else str(value) for group, value in picked.items()}


def option_config(options: dict[str, str]) -> dict[str, str]:
    """The options as flat W&B config keys (`choices/optimizer`), to group and plot runs by."""
    return {option_key(group): value for group, value in options.items()}
