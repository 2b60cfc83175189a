"""Which jobs of a launch train as stacks and which run on their own, and why (for the log).

Each job's config is composed as Hydra's basic launcher composes it and resolved as its task will
see it (its own run dir included); a job whose config fails regopt's check runs on its own (where
it fails as it would under the basic launcher), so does a job with `resume` set (each continues
its own checkpoint). The others are grouped by regopt.sweep.stacks and each group is cut to the
size regopt.sweep.stack_budget allows. A group that the CPU probe (regopt.sweep.stack_cost) or
memory runs in turn is not checked here: its jobs check themselves when they run, as under the
basic launcher, so the fallback costs what the basic launcher costs. Light at import: torch only
once a stack is planned.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

from regopt.config.task import resolved_task
from regopt.sweep.stack_budget import (
    StackBudget,
    available_memory,
    split_evenly,
    stack_size,
    usable_cpus,
)
from regopt.sweep.stack_cost import accelerator_is_gpu, slower_stacked, uses_gpu
from regopt.sweep.stacks import differing_keys, group_jobs

log = logging.getLogger("regopt")
CONFIG_REFUSED = "the config check refuses it (it fails on its own, as under the basic launcher)"
ALONE = "no other job differs from it in member keys only"
NO_RESUME = (None, "none")


@dataclass
class Unit:
    """Jobs (positions in the launch) that train together, or one job on its own."""

    jobs: list[int]
    why_alone: str | None = None  # for a job on its own: why it is not in a stack


def check_settings(settings: dict[str, Any]) -> None:
    """The launcher's own keys, refused in one line naming the key (Hydra checks their types)."""
    from regopt.config.errors import ConfigError

    members, fraction = settings["max_members"], settings["memory_fraction"]
    probe = settings.get("cpu_probe", True)
    workers = settings.get("n_jobs", 1)
    if workers != "auto" and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(
            f"hydra.launcher.n_jobs={workers!r}: allowed: auto or a whole number >= 1"
        )
    if members < 1:
        raise ConfigError(f"hydra.launcher.max_members={members}: allowed: a whole number >= 1")
    if not 0 < fraction <= 1:
        raise ConfigError(f"hydra.launcher.memory_fraction={fraction}: allowed: a number in (0, 1]")
    if not isinstance(probe, bool):
        raise ConfigError(f"hydra.launcher.cpu_probe={probe!r}: allowed: true or false")
    interval = settings.get("checkpoint_interval_s", 0.0)
    if not (isinstance(interval, int | float) and interval >= 0 and math.isfinite(interval)):
        raise ConfigError(
            f"hydra.launcher.checkpoint_interval_s={interval!r}: allowed: seconds >= 0"
        )


def job_config(sweep_config: DictConfig) -> tuple[DictConfig, Any]:
    """The job's task config, resolved as `run_job` will give it, and Hydra's config as the
    job's run sees it (`HydraConfig.instance().cfg`, kept for its check). Its output dir is set
    on the sweep config as run_job sets it (no copy of the whole config: a third of the plan's
    time); Hydra's config is the job's while it resolves, and put back after."""
    hydra_config = HydraConfig.instance()
    previous = hydra_config.cfg
    try:
        hydra_config.set_config(sweep_config)
        output_dir = os.path.join(
            str(OmegaConf.select(sweep_config, "hydra.sweep.dir")),
            str(OmegaConf.select(sweep_config, "hydra.sweep.subdir")),
        )
        for runtime in (sweep_config.hydra.runtime, HydraConfig.get().runtime):
            with read_write(runtime), open_dict(runtime):
                runtime.output_dir = os.path.abspath(output_dir)
        return resolved_task(sweep_config), hydra_config.cfg
    finally:
        hydra_config.cfg = previous


def fails_check(task: DictConfig, job_hydra: Any) -> bool:
    """Whether regopt's config check refuses the job (checked under the job's Hydra config, as
    job_config returned it)."""
    from regopt.config.errors import ConfigError
    from regopt.config.validate import validate_config

    hydra_config = HydraConfig.instance()
    previous = hydra_config.cfg
    try:
        hydra_config.cfg = job_hydra
        validate_config(task)
    except ConfigError:
        return True
    finally:
        hydra_config.cfg = previous
    return False


def worker_count(setting: Any, first: DictConfig, jobs: int) -> int:
    """Worker processes for a launch of `jobs` jobs: `n_jobs` as set, or for `auto` one per CPU
    this process may use when the jobs train on the CPU (a stack keeps one core busy) and one
    when the `first` job trains on an accelerator (its stacks share the device), never more than
    the jobs. Known once the first job is composed, so that the workers' server starts then;
    settle_workers caps either at the planned units."""
    if jobs < 2:
        return 1
    if setting != "auto":
        return int(setting)
    try:
        accelerator = OmegaConf.select(first, "trainer.accelerator", default="cpu")
    except OmegaConfBaseException:  # the plan says why this job runs on its own
        accelerator = "cpu"
    if str(accelerator) != "cpu" and (accelerator != "auto" or accelerator_is_gpu("auto")):
        return 1
    return max(1, min(usable_cpus(), jobs))


def settle_workers(setting: Any, workers: int, units: int, sweep_configs: list[DictConfig]) -> int:
    """The workers the launch runs: `workers` (worker_count's), no more than its planned units.
    Under `auto` the number is written into each job's `hydra.launcher.n_jobs`, so that each
    job's hydra.yaml records it and `threads: auto` divides the CPUs among the workers that run
    (regopt.scale: 4 workers for 4 jobs on 16 CPUs get 4 threads each, a GPU's one worker all)."""
    workers = max(1, min(workers, units))
    if setting == "auto":
        for config in sweep_configs:
            with read_write(config.hydra.launcher):
                config.hydra.launcher.n_jobs = workers
    return workers


def budget_for(task: DictConfig, settings: dict[str, Any]) -> StackBudget:
    workers = int(settings.get("n_jobs", 1))
    memory = int(available_memory(uses_gpu(task)) * float(settings["memory_fraction"]) / workers)
    return StackBudget(int(settings["max_members"]), memory, workers)


def numbers_text(numbers: list[int]) -> str:
    """`jobs 3-8` for consecutive job numbers, `jobs 0, 2, 4` otherwise, `job 5` for one."""
    if len(numbers) == 1:
        return f"job {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"jobs {numbers[0]}-{numbers[-1]}"
    return "jobs " + ", ".join(map(str, numbers))


def _engine() -> tuple[type[Exception], Callable[[list[DictConfig]], int]]:
    from regopt.stacked.engine import NotStackable
    from regopt.stacked.memory import estimate_bytes

    return NotStackable, estimate_bytes


def stacks_of(
    group: list[int], tasks: list[DictConfig], settings: dict[str, Any], first: int
) -> tuple[list[list[int]], str | None]:
    """A group of 2+ jobs cut into stacks, or no stack and why its jobs run one by one."""
    try:
        not_stackable, estimate_bytes = _engine()
    except ImportError as error:
        return [], f"no stacking engine ({error})"
    members = [tasks[p] for p in group]
    try:
        per_member = estimate_bytes(members) / len(members)
    except not_stackable as refused:
        return [], f"not stackable: {refused}"
    size, why = stack_size(per_member, len(group), budget_for(members[0], settings))
    if size < 2:
        return [], why
    if why is not None:
        log.info(
            f"stacked: {numbers_text([first + p for p in group])} in stacks of at most "
            f"{size}: {why}"
        )
    return split_evenly(group, size), None


def in_turn(group: list[int], tasks: list[DictConfig], settings: dict[str, Any]) -> str | None:
    """Why a group's jobs run in turn whatever their configs' checks say (the CPU probe, or
    memory for fewer than two), or None. Decided before the checks, which cost a fallback job
    what its own run pays again (about 0.2 s a job): the fallback then costs what the basic
    launcher costs. A config whose estimate fails is left to the checks (None)."""
    try:
        _, estimate_bytes = _engine()
        members = [tasks[p] for p in group]
        per_member = estimate_bytes(members) / len(members)
    except Exception:  # noqa: BLE001 - a refused config: the checks and the stack report it
        return None
    size, why = stack_size(per_member, len(group), budget_for(members[0], settings))
    return why if size < 2 else slower_stacked(members, size, settings)


def plan(sweep_configs: list[DictConfig], settings: dict[str, Any], first: int) -> list[Unit]:
    """Stacks and single jobs, ordered by their first job; `first` is the first job's number."""
    tasks: list[Any] = []
    job_hydra: list[Any] = []
    alone: dict[str, list[int]] = {}
    for position, config in enumerate(sweep_configs):
        try:
            task, hydra = job_config(config)
        except OmegaConfBaseException:  # an interpolation that does not resolve: the check's
            task, hydra = None, None
            alone.setdefault(CONFIG_REFUSED, []).append(position)
        tasks.append(task)
        job_hydra.append(hydra)
    resumed = [p for p, t in enumerate(tasks) if t is not None and t.get("resume") not in NO_RESUME]
    if resumed:
        alone[f"resume={tasks[resumed[0]].resume}: each job continues its own checkpoint"] = resumed
    candidates = [p for p, t in enumerate(tasks) if t is not None and p not in resumed]
    units = []
    for found in group_jobs([tasks[p] for p in candidates]):
        group = [candidates[i] for i in found]
        stacks: list[list[int]] = []
        why = in_turn(group, tasks, settings) if len(group) > 1 else None
        if len(group) > 1 and why is None:  # only a would-be stack is checked here; a job
            refused = [p for p in group if fails_check(tasks[p], job_hydra[p])]  # alone
            if refused:  # checks itself, as under the basic launcher
                alone.setdefault(CONFIG_REFUSED, []).extend(refused)
            group = [p for p in group if p not in refused]
            stacks, why = stacks_of(group, tasks, settings, first) if len(group) > 1 else ([], None)
        if not stacks:
            alone.setdefault(why or ALONE, []).extend(group)
        for stack in stacks:
            differ = ", ".join(differing_keys([tasks[p] for p in stack])) or "nothing"
            log.info(
                f"stacked: {numbers_text([first + p for p in stack])} train as one stack "
                f"of {len(stack)} (members differ in {differ})"
            )
            units.append(Unit(stack))
    for why, positions in alone.items():
        if positions:
            numbers = numbers_text([first + p for p in sorted(positions)])
            verb = "runs on its own" if len(positions) == 1 else "run one by one"
            log.info(f"stacked: {numbers} {verb}: {why}")
            units.extend(Unit([p], why) for p in positions)
    return sorted(units, key=lambda unit: unit.jobs[0])
