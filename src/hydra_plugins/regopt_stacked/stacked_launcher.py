"""`hydra/launcher=stacked`: a sweep's jobs that differ only in member keys (seed, optimiser,
regularisers and their strengths, label noise, data seed) train as one stacked model, in
`n_jobs` worker processes (auto: one per CPU on a CPU, regopt.sweep.stack_plan.worker_count;
forked with the training code imported, regopt.sweep.worker_pool; the first of them plans the
launch, so this process never imports torch), a stack or a job at a time in each, as Hydra's joblib
launcher runs jobs; with one worker, in this process. Every other job runs
exactly as Hydra's basic launcher runs it.

Every job, stacked or not, gets its own job dir numbered as Hydra numbers it, its `.hydra/` files,
the callbacks' on_job_start and on_job_end, and a JobReturn with its own return value, all from
Hydra's `run_job` (regopt.sweep.job_chain). Which jobs stack, and why the others
do not: regopt.sweep.stack_plan, regopt.sweep.stacks (the grouping), regopt.sweep.stack_budget
(`max_members`, memory) and regopt.stacked.probe (on a CPU, whether a stack would be faster). A
stack the engine refuses before training (NotStackable) runs one job after another; the log says
why. Jobs are composed once per set of config-group choices (regopt.sweep.compose). docs/scale.md.
"""

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from regopt.sweep.compose import GroupedConfigLoader
from regopt.sweep.job_chain import JobChain, SkipJobStart, Unstacked
from regopt.sweep.stack_plan import (
    check_settings,
    numbers_text,
    plan,
    settle_workers,
    worker_count,
)
from regopt.sweep.worker_pool import (
    logged_here,
    run_in_workers,
    run_on_a_worker,
    stop_server,
    worker_context,
)

log = logging.getLogger("regopt")


@dataclass
class StackedLauncherConf:
    _target_: str = "hydra_plugins.regopt_stacked.stacked_launcher.StackedLauncher"
    # the most jobs one stack trains at once (a larger group is cut into even stacks)
    max_members: int = 32
    # a stack may take this fraction of the memory available when it is planned (GPU or RAM)
    memory_fraction: float = 0.5
    # on a CPU, time a few forward and backward passes of a would-be stack against one of its
    # members first, and run the jobs in turn when the stack would be slower (regopt.stacked.probe);
    # false: stack whatever the size
    cpu_probe: bool = True
    # worker processes, each training one stack (or one job) at a time, as the joblib launcher's
    # n_jobs; auto: one per CPU the process may use when the jobs train on the CPU, one when they
    # train on an accelerator; `threads: auto` gives each job the CPUs divided by n_jobs
    n_jobs: Any = "auto"
    # a member's checkpoints are written at most this often (and when it ends, stops or fails);
    # killed without warning a member's last.ckpt may be this much older than a separate run's
    # (regopt.stacked.checkpoint_writes); 0: every save when it is made
    checkpoint_interval_s: float = 10.0


ConfigStore.instance().store(
    group="hydra/launcher", name="stacked", node=StackedLauncherConf, provider="regopt"
)


class StackedLauncher(Launcher):
    def __init__(
        self,
        max_members: int = 32,
        memory_fraction: float = 0.5,
        cpu_probe: bool = True,
        n_jobs: Any = "auto",
        checkpoint_interval_s: float = 10.0,
    ) -> None:
        super().__init__()
        self.settings = {
            "max_members": max_members,
            "memory_fraction": memory_fraction,
            "cpu_probe": cpu_probe,
            "n_jobs": n_jobs,
            "checkpoint_interval_s": checkpoint_interval_s,
        }
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.server_started = False  # the workers' server, by setup (regopt.sweep.worker_pool)
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function
        self.server_started = may_use_workers(self.settings["n_jobs"], config)
        if self.server_started:
            # the workers' server imports the training code (5 s of a core) from now on, while
            # the sweeper checks and this launcher composes the jobs, and runs the plan
            worker_context(config)
        # the context is the sweeper's too: its check that each job composes shares the cache
        loader = hydra_context.config_loader
        if not isinstance(loader, GroupedConfigLoader):
            hydra_context.config_loader = GroupedConfigLoader(loader)  # type: ignore[arg-type]

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        check_settings(self.settings)  # here, so a bad value ends in one line, exit code 2
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info(f"Launching {len(job_overrides)} jobs locally, stacked where they can be")
        if not job_overrides:
            return []
        configs = [self._compose(initial_job_idx, job_overrides[0])]
        workers = worker_count(self.settings["n_jobs"], configs[0], len(job_overrides))
        context = worker_context(configs[0]) if workers > 1 else None  # started by setup
        if workers == 1 and self.server_started:
            stop_server()  # one job needs none
            self.server_started = False
        for position, overrides in enumerate(job_overrides[1:], start=1):
            configs.append(self._compose(initial_job_idx + position, overrides))
        settings = {**self.settings, "n_jobs": workers}
        if context is None:
            units = [unit.jobs for unit in plan(configs, settings, initial_job_idx)]
        else:  # where the engine is imported: this process never imports torch or Lightning
            state = Singleton.get_state()
            args = (configs, settings, initial_job_idx, state)
            units, records = run_on_a_worker(plan_in_worker, args, workers, context)
            for record in records:
                logging.getLogger(record.name).handle(record)
        workers = settle_workers(self.settings["n_jobs"], workers, len(units), configs)
        interval = float(self.settings["checkpoint_interval_s"])
        work = [
            (self.hydra_context, self.task_function, [configs[p] for p in jobs], jobs, interval)
            for jobs in units
        ]
        if workers == 1:
            done = [run_unit(*unit, first=initial_job_idx) for unit in work]
        else:
            stacks = sum(len(jobs) > 1 for jobs in units)
            alone = len(units) - stacks
            log.info(f"stacked: {stacks} stacks and {alone} single jobs over {workers} workers")
            state = Singleton.get_state()
            tasks = [(*unit, initial_job_idx, state) for unit in work]
            done = run_in_workers(run_unit_in_worker, tasks, workers, context)
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        returns = {
            p: ret
            for jobs, rets in zip(units, done, strict=True)
            for p, ret in zip(jobs, rets, strict=True)
        }
        return [returns[position] for position in range(len(configs))]

    def _compose(self, idx: int, overrides: Sequence[str]) -> DictConfig:
        assert self.config is not None and self.hydra_context is not None
        log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
        config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(config):
            config.hydra.job.id = idx
            config.hydra.job.num = idx
        return config


def may_use_workers(setting: Any, config: DictConfig) -> bool:
    """Whether a launch with `hydra.launcher.n_jobs` = `setting` may run worker processes (a
    sweep of two or more jobs); a setting check_settings refuses runs none."""
    if setting != "auto" and not (isinstance(setting, int) and setting > 1):
        return False
    return worker_count(setting, config, jobs=2) > 1


def plan_in_worker(
    configs: list[DictConfig], settings: dict[str, Any], first: int, singleton_state: dict
) -> tuple[list[list[int]], list[logging.LogRecord]]:
    """The launch's plan (its units' job positions) in a worker, its log lines emitted again by
    this process's handlers (the launcher's log; the worker's own may be a job's)."""
    setup_globals()
    Singleton.set_state(singleton_state)
    with logged_here(logging.getLogger("regopt")) as records:
        units = [unit.jobs for unit in plan(configs, settings, first)]
    return units, records


def run_unit_in_worker(
    context: HydraContext,
    task_function: TaskFunction,
    configs: list[DictConfig],
    positions: list[int],
    checkpoint_interval_s: float,
    first: int,
    singleton_state: dict[Any, Any],
) -> list[JobReturn]:
    """`run_unit` in a joblib worker process, with Hydra's state as the launcher holds it (as
    Hydra's joblib launcher runs a job)."""
    setup_globals()
    Singleton.set_state(singleton_state)
    return run_unit(context, task_function, configs, positions, checkpoint_interval_s, first=first)


def run_unit(
    context: HydraContext,
    task_function: TaskFunction,
    configs: list[DictConfig],
    positions: list[int],
    checkpoint_interval_s: float,
    first: int,
) -> list[JobReturn]:
    """A planned stack's JobReturns (its members one by one when the engine refuses it before
    training), or a single job's, run as the basic launcher runs it."""
    hydra_logging, verbose = configs[0].hydra.hydra_logging, configs[0].hydra.verbose
    if len(configs) > 1:
        try:
            fit = functools.partial(fit_stack, checkpoint_interval_s=checkpoint_interval_s)
            return JobChain(context, configs, fit).run()
        except Unstacked as refused:
            numbers = numbers_text([first + p for p in positions])
            log.warning(
                f"stacked: {numbers} run one by one: the engine refused the stack: {refused}"
            )
        finally:
            configure_log(hydra_logging, verbose)
        # their on_job_start was called already
        context = HydraContext(context.config_loader, SkipJobStart(context.callbacks))
    returns = []
    for config in configs:
        returns.append(
            run_job(
                hydra_context=context,
                task_function=task_function,
                config=config,
                job_dir_key="hydra.sweep.dir",
                job_subdir_key="hydra.sweep.subdir",
            )
        )
        configure_log(hydra_logging, verbose)
    return returns


def fit_stack(cfgs: list[DictConfig], checkpoint_interval_s: float) -> list[float]:
    """The engine's fit, stopped by Ctrl-C or SIGTERM as a single job is (regopt.interrupt); a
    refusal before training leaves through every run_job as Unstacked."""
    from regopt.interrupt import stop_signals_interrupt
    from regopt.stacked.engine import NotStackable
    from regopt.stacked.engine import fit_stack as fit

    try:
        with stop_signals_interrupt():
            return fit(cfgs, checkpoint_interval_s)
    except NotStackable as refused:
        raise Unstacked(str(refused)) from refused
