"""The jobs a sweep will run, known before the first starts.

Hydra's basic sweeper runs every combination of its overrides (`hydra.sweeper.params`, then the
command line's), numbering the jobs in that order; the same expansion here gives `k of n` while
the sweep runs and, from the multirun.yaml the sweeper writes into the sweep dir, the jobs that a
report must list as never started. Other sweepers (Optuna) choose their jobs as they go: no plan.
Light: Hydra's override parser only, no torch.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
JOB_SUBDIR = "${hydra.job.num}"  # job dirs named by number, as conf/hydra/default.yaml sets


def planned_jobs(hydra_cfg: DictConfig) -> list[list[str]] | None:
    """Each job's overrides, in job-number order; None when the sweeper plans none ahead."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweeper = hydra_cfg.get("sweeper") or {}
    if sweeper.get("_target_") != BASIC_SWEEPER:
        return None
    try:
        params = [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]
        # as typed: a value may be an interpolation that only a job resolves (regopt.per_lr)
        typed = OmegaConf.to_container(hydra_cfg.overrides.task)
        task = [str(item) for item in typed]  # type: ignore[union-attr]
        overrides = OverridesParser.create().parse_overrides([*params, *task])
        (jobs,) = BasicSweeper.split_arguments(overrides, None)
    except Exception:  # noqa: BLE001 - a plan is a convenience: the sweep decides, not this
        return None
    return [list(job) for job in jobs]


def sweep_dir_plan(sweep_dir: Path) -> list[list[str]] | None:
    """The plan of a sweep dir, from its multirun.yaml; None when it has none or its job dirs
    are not named by job number."""
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return None
    try:
        hydra_cfg = OmegaConf.load(path).hydra
        subdir = OmegaConf.to_container(hydra_cfg.sweep, resolve=False).get("subdir")
    except Exception:  # noqa: BLE001 - not a multirun.yaml this can read
        return None
    return planned_jobs(hydra_cfg) if subdir == JOB_SUBDIR else None
