"""Whether a would-be stack runs at all on a CPU: the launcher's side of regopt.stacked.probe.

Light at import (the probe, and torch with it, are imported once a stack is planned on a CPU).
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from regopt.sweep.stack_budget import usable_cpus


def uses_gpu(task: DictConfig) -> bool:
    return accelerator_is_gpu(str(task.trainer.get("accelerator", "cpu")))


def accelerator_is_gpu(accelerator: str) -> bool:
    if accelerator in ("gpu", "cuda"):
        return True
    if accelerator == "auto":
        import torch

        return torch.cuda.is_available()
    return False


def probe_threads(task: DictConfig, workers: int) -> int | None:
    """The torch threads each job will run with (regopt.scale.threads_for_job, this launcher's)."""
    setting = task.get("threads")
    if setting is None or setting == "none":
        return None
    return max(1, usable_cpus() // workers) if setting == "auto" else int(setting)


def slower_stacked(members: list[DictConfig], size: int, settings: dict[str, Any]) -> str | None:
    """Why a stack of `size` such members would be slower than running them in turn on this CPU
    (the probe's timing), or None: on a GPU, with `cpu_probe=false`, when the stack is faster, or
    when the probe cannot run the model (random inputs of the batch's shape): the engine then
    trains the stack or refuses it, saying why."""
    if uses_gpu(members[0]) or not settings.get("cpu_probe", True):
        return None
    from regopt.stacked.probe import MIN_SPEEDUP, probe_stack

    threads = probe_threads(members[0], int(settings.get("n_jobs", 1)))
    try:
        probe = probe_stack(members[0], size, threads)
    except Exception:  # noqa: BLE001 - a model the probe cannot run: the engine decides
        return None
    if probe.speedup >= MIN_SPEEDUP:
        return None
    return f"stacking would be slower than running them in turn on this CPU: {probe.text()}"
