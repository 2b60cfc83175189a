"""What a run was: code version, package versions, overrides. Gathered once, at the start."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "regopt",
    "torch",
    "pytorch-lightning",
    "hydra-core",
    "omegaconf",
    "wandb",
    "torchmetrics",
    "scikit-learn",
    "numpy",
)


def package_versions() -> dict[str, str | None]:
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(directory: str | Path = ".") -> dict[str, Any]:
    """The commit of `directory`'s repository and whether tracked files differ from it, asked
    once per process and directory: the code a process runs is the code it imported, and a
    sweep's jobs in one process (the basic launcher, a stack) paid 15-35 ms of two git commands
    each."""
    return dict(_git_state(str(Path(directory).resolve())))


@functools.cache
def _git_state(directory: str) -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=directory, capture_output=True, text=True, timeout=5, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def hydra_runtime() -> tuple[dict[str, Any], list[str]]:
    """Hydra's group choices and the command-line overrides; empty outside a Hydra app."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    if not HydraConfig.initialized():
        return {}, []
    hydra_cfg = HydraConfig.get()
    choices = OmegaConf.to_container(hydra_cfg.runtime.choices, resolve=True)
    return dict(choices), list(hydra_cfg.overrides.task)


SLURM_KEYS = {
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
    "restart_count": "SLURM_RESTART_COUNT",
    "tasks": "SLURM_NTASKS",
    "nodes": "SLURM_JOB_NUM_NODES",
    "partition": "SLURM_JOB_PARTITION",
}


def slurm_job() -> dict[str, str] | None:
    """The SLURM job that runs this one (its ids: `scontrol show job`, `sacct -j`), or None."""
    if "SLURM_JOB_ID" not in os.environ:
        return None
    return {key: os.environ[name] for key, name in SLURM_KEYS.items() if name in os.environ}
