"""OmegaConf resolvers the config tree uses; registered before Hydra composes anything."""

from __future__ import annotations

import secrets
from pathlib import Path

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


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("regopt.uid"):
        OmegaConf.register_new_resolver("regopt.uid", lambda: _PROCESS_UID)
    if not OmegaConf.has_resolver("regopt.sweep_group"):
        OmegaConf.register_new_resolver("regopt.sweep_group", sweep_group)
