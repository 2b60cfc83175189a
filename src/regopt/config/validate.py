"""Check the composed config before any heavy import: types, keys, ranges, then a few rules that
tie two keys together.

Hydra's struct mode already rejects unknown keys and options; the typed schemas
(regopt.config.schemas, one dataclass per `_target_`) reject values of the wrong type or out of
range, and keys added with `+` that nothing reads. Each failure is one ConfigError line naming the
key, the value and what is allowed.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from regopt.config.cli_errors import ConfigError
from regopt.config.consistency import check_consistency, check_option_pairs
from regopt.config.schema import show
from regopt.config.schemas import check_tree


def validate_config(cfg: DictConfig) -> None:
    tree = resolved(cfg)
    check_option_pairs(tree)
    check_tree(tree)
    check_consistency(tree)
    _check_label_options(tree.get("data") or {})
    _check_ramp(tree.get("schedule"), "schedule")
    for name, spec in (tree.get("regularizer") or {}).items():
        _check_ramp(spec.get("schedule"), f"regularizer.{name}.schedule")


def resolved(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain data, every interpolation resolved (as the run itself will)."""
    try:
        tree = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as ex:
        where = getattr(ex, "full_key", None) or "?"
        message = " ".join(str(ex).split("\n")[0].split())
        raise ConfigError(f"{where}: cannot be resolved: {message}") from ex
    assert isinstance(tree, dict)
    return tree


def _check_ramp(schedule: Any, key: str) -> None:
    """A linear or cosine ramp needs an end after its start."""
    if not isinstance(schedule, dict) or schedule.get("kind") not in ("linear", "cosine"):
        return
    start = schedule.get("start") or 0
    end = schedule.get("end")
    if end is None or end <= start:
        raise ConfigError(
            f"{key}.end={show(end)} with {key}.kind={schedule['kind']}; allowed: a whole number > "
            f"{key}.start ({start})"
        )


def _check_label_options(data: dict[str, Any]) -> None:
    noise = data.get("label_noise") or 0
    if data.get("random_labels") and noise:
        raise ConfigError(
            f"data.label_noise={noise!r} with data.random_labels=true: random labels replace "
            "every training label; allowed: data.label_noise=0 when data.random_labels=true"
        )
