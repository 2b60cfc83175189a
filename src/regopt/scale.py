"""Settings that depend on how a job was launched: threads per job, the DDP launch method, the
progress bar, resuming a job that SLURM requeued."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, open_dict

log = logging.getLogger("regopt")


def _hydra() -> Any | None:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def is_multirun() -> bool:
    from hydra.types import RunMode

    hydra = _hydra()
    return hydra is not None and hydra.mode == RunMode.MULTIRUN


def threads_for_job(setting: int | str | None, cpu_count: int | None = None) -> int | None:
    """Torch threads for this job: a number, or `auto` = the CPUs divided among concurrent jobs.

    Oversubscribing 2 cores with 2 jobs x 2 threads slowed small fits 20-40x (field notes).
    """
    if setting is None or setting == "none":
        return None
    if setting != "auto":
        return int(setting)
    cpus = cpu_count or os.cpu_count() or 1
    hydra = _hydra()
    launcher = hydra.launcher if hydra is not None else {}
    concurrent = 1
    if "n_jobs" in launcher:  # joblib, or the stacked launcher's workers (auto: one per CPU)
        n_jobs = -1 if launcher.n_jobs == "auto" else int(launcher.n_jobs)
        concurrent = cpus if n_jobs < 0 else n_jobs
    elif launcher.get("cpus_per_task") or launcher.get("cpus_per_gpu"):  # submitit: per process
        return int(launcher.get("cpus_per_task") or launcher.cpus_per_gpu)
    elif "ray" in launcher:  # hydra-ray-launcher: the CPUs Ray reserves for each job's task
        return int((launcher.ray.get("remote") or {}).get("num_cpus") or 1)
    return max(1, cpus // max(1, concurrent))


def configure_threads(setting: int | str | None) -> None:
    threads = threads_for_job(setting)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def restore_start_method() -> None:
    """A joblib (loky) worker sets multiprocessing's start method to 'loky', which processes that
    torch spawns (ddp_spawn) cannot resolve; put back the standard 'spawn' for them."""
    import multiprocessing

    if multiprocessing.get_start_method(allow_none=True) == "loky":
        multiprocessing.set_start_method("spawn", force=True)


def slurm_tasks() -> int:
    """The processes srun started for this job (0 outside SLURM)."""
    return int(os.environ.get("SLURM_NTASKS", "0") or 0)


def adapt_strategy_for_sweeps(trainer_cfg: DictConfig) -> None:
    """In a multirun, Lightning's `ddp` re-runs the whole command (the sweep) in each child process:
    extra output dirs and jobs run twice. `ddp_spawn` starts its workers from the job itself, so it
    is used instead there. Under SLURM with several tasks the processes come from srun, one per
    task, and Lightning's SLURM environment joins them: `ddp` is kept, and `ddp_spawn` (which would
    spawn more in every task) becomes `ddp`."""
    strategy, tasks = trainer_cfg.get("strategy"), slurm_tasks()
    if strategy == "ddp" and is_multirun() and not tasks:
        log.info("multirun: using strategy=ddp_spawn instead of ddp (one output dir per job)")
        with open_dict(trainer_cfg):
            trainer_cfg.strategy = "ddp_spawn"
    elif strategy == "ddp_spawn" and tasks > 1:
        log.info(
            f"SLURM: {tasks} tasks, using strategy=ddp instead of ddp_spawn (srun's processes)"
        )
        with open_dict(trainer_cfg):
            trainer_cfg.strategy = "ddp"


def requeued_resume(setting: str | None) -> str | None:
    """`resume` for this start: a SLURM job that was requeued (preempted, or signalled before its
    time limit: Lightning's auto-requeue, submitit's) continues its run as `resume=auto` would,
    with no flag from the user; an explicit setting is kept."""
    restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)
    if setting is None and restarts > 0:
        log.info(f"SLURM requeued this job (restart {restarts}): resume=auto")
        return "auto"
    return setting


def progress_bar(setting: bool | None, callbacks: Sequence[Any] = ()) -> bool:
    """`trainer.enable_progress_bar`: a user's true or false wins; null (auto) shows Lightning's bar
    in a single run at a terminal, and wherever the callbacks bring a bar of their own (a
    RichProgressBar: asked for by name). A sweep's jobs would each draw one, and a file or CI log
    (stdout not a TTY) would fill with its redraws: there regopt's one-line progress reports."""
    from pytorch_lightning.callbacks import ProgressBar

    if setting is not None:
        return bool(setting)
    if any(isinstance(callback, ProgressBar) for callback in callbacks):
        return True
    return sys.stdout.isatty() and not is_multirun()
