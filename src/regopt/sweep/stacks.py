"""Which jobs of a sweep can train as one stack: those whose configs are equal apart from the keys
in which a stack's members may differ.

A stack trains its members side by side in one model (regopt.stacked.engine), so they must share
everything that shapes the computation: data set and split, model, trainer, callbacks, schedule of
the epochs. What each member keeps for itself (`MEMBER_KEYS`, the engine's own list): its seed, its
optimiser (choice and hyperparameters), its regularisers (choice and strengths), its label noise and
data seed, its Optuna trial (`hparams_search.trial`), and its own run dir (and every path derived
from it). A regulariser at zero strength is no regulariser, so `regularizer=none`, `regularizer=l2`
and `regularizer=dropout` are members of one stack, and `member_view` shows `l2` at weight 0 as
`none`.

Pure functions of the jobs' composed, resolved configs; light (no torch until a regulariser's
class is asked for its strength).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from omegaconf import DictConfig, OmegaConf

# The keys (dotted) in which a stack's members may differ: the engine's (seed, optimizer,
# regularizer, data.label_noise, data.seed, paths), which refuses a stack that differs elsewhere.
from regopt.stacked.check import MEMBER_KEYS

RUN_DIR = "<run dir>"
# l2's prior_std, when set, decides its weight (the weight key is then ignored)
STRENGTH_GIVEN_BY = ("prior_std",)


def _as_dict(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        tree = OmegaConf.to_container(cfg, resolve=True)
        assert isinstance(tree, dict)
        return tree
    return cfg


def _pop(tree: dict[str, Any], dotted: str) -> Any:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.get(key)
        if not isinstance(tree, dict):
            return None
    return tree.pop(leaf, None)


def _masked(value: Any, run_dir: str) -> Any:
    """`value` with the job's run dir replaced by a placeholder (checkpoint dirs, W&B dirs)."""
    if isinstance(value, dict):
        return {k: _masked(v, run_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, run_dir) for v in value]
    if isinstance(value, str) and run_dir:
        return value.replace(run_dir, RUN_DIR)
    return value


def shared_part(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    """The config without its member keys: what every member of a stack must share."""
    tree = json.loads(json.dumps(_as_dict(cfg)))  # a deep copy of plain data
    run_dir = (tree.get("paths") or {}).get("output_dir")
    for key in MEMBER_KEYS:
        _pop(tree, key)
    return _masked(tree, str(run_dir or ""))


def group_jobs(cfgs: Sequence[DictConfig | dict[str, Any]]) -> list[list[int]]:
    """Indices of the jobs that may share a stack, in job order; groups ordered by their first
    job (a group of one is a job that runs on its own)."""
    groups: dict[str, list[int]] = {}
    for index, cfg in enumerate(cfgs):
        key = json.dumps(shared_part(cfg), sort_keys=True, default=str)
        groups.setdefault(key, []).append(index)
    return sorted(groups.values(), key=lambda group: group[0])


@cache
def strength_key(target: str) -> str | None:
    """The config key of a regulariser's strength: its class's `strength_attr` when that is a
    parameter, else its first parameter (kl's `beta` sets its penalty weight); None when it has
    no strength (max_norm, a constraint)."""
    from hydra.utils import get_class

    cls = get_class(target)
    attr = getattr(cls, "strength_attr", None)
    if attr is None:
        return None
    parameters = list(inspect.signature(cls).parameters)
    return attr if attr in parameters else (parameters[0] if parameters else None)


def is_zero_strength(node: dict[str, Any]) -> bool:
    """A regulariser that does nothing at this setting: its strength is 0 (and no other key,
    such as l2's prior_std, decides the strength)."""
    key = strength_key(node["_target_"]) if "_target_" in node else None
    if key is None or node.get(key) != 0:
        return False
    return all(node.get(other) is None for other in STRENGTH_GIVEN_BY)


def member_view(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    """What is a job's own within its stack: its member keys, with the regularisers at zero
    strength left out (`regularizer=none` and `l2` at weight 0 give the same view), its paths
    (its run dir) left out."""
    tree = _as_dict(cfg)
    view: dict[str, Any] = {}
    for dotted in (key for key in MEMBER_KEYS if key != "paths"):
        value: Any = tree
        for key in dotted.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        view[dotted] = value
    regularizers = view["regularizer"] or {}
    view["regularizer"] = {
        name: node for name, node in regularizers.items() if not is_zero_strength(node)
    }
    return view


def differing_keys(cfgs: Sequence[DictConfig | dict[str, Any]]) -> list[str]:
    """The member keys in which the members of a stack differ, for the log."""
    views = [member_view(cfg) for cfg in cfgs]
    return [key for key in views[0] if len({json.dumps(v[key], sort_keys=True) for v in views}) > 1]
