"""OmegaConf resolvers the config tree uses; registered before Hydra composes anything."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

# One random tag per process: two jobs started in the same second (or on two nodes) never share a
# run dir, and every resolution inside one process agrees on the same value.
_PROCESS_UID = secrets.token_hex(3)


def sweep_group(name: str) -> str:
    """`<name>/<multirun dir name>` in a Hydra multirun (one W&B group per sweep), else `name`."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return name
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return name
    return f"{name}/{Path(hydra_cfg.sweep.dir).name}"


def per_lr(rate: str, *, _parent_: Any) -> float | str:
    """`${regopt.per_lr:d}` = d / the lr beside it. Decoupled decay shrinks w by lr * weight_decay
    a step, so `optimizer.weight_decay=${regopt.per_lr:1e-4}` shrinks it by 1e-4 a step (times
    the schedule's factor) whatever the lr: the decay of Loshchilov and Hutter's SGDW and AdamW,
    independent of the learning rate (experiment=adamw_decoupling)."""
    if "lr" not in _parent_:  # Hydra's sweeper reading its params: each job resolves it
        return f"${{regopt.per_lr:{rate}}}"
    return float(rate) / float(_parent_.lr)


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("regopt.uid"):
        OmegaConf.register_new_resolver("regopt.uid", lambda: _PROCESS_UID)
    if not OmegaConf.has_resolver("regopt.sweep_group"):
        OmegaConf.register_new_resolver("regopt.sweep_group", sweep_group)
    if not OmegaConf.has_resolver("regopt.per_lr"):
        OmegaConf.register_new_resolver("regopt.per_lr", per_lr)
