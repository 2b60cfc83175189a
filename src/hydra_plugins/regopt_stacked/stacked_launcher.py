"""`hydra/launcher=stacked`: a sweep's jobs that differ only in member keys (seed, optimiser,
regularisers and their strengths, label noise, data seed) train as one stacked model in this
process; every other job runs exactly as Hydra's basic launcher runs it.

Every job, stacked or not, gets its own job dir numbered as Hydra numbers it, its `.hydra/` files,
the callbacks' on_job_start and on_job_end, and a JobReturn with its own return value, all from
Hydra's `run_job` (regopt.sweep.job_chain). Which jobs stack, and why the others
do not: regopt.sweep.stack_plan, regopt.sweep.stacks (the grouping) and
regopt.sweep.stack_budget (`max_members`, memory, the CPU cost rule). A stack the engine refuses
before training (NotStackable) runs one job after another; the log says why. docs/scale.md.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from regopt.sweep.job_chain import JobChain, SkipJobStart, Unstacked
from regopt.sweep.stack_plan import check_settings, numbers_text, plan

log = logging.getLogger("regopt")


@dataclass
class StackedLauncherConf:
    _target_: str = "hydra_plugins.regopt_stacked.stacked_launcher.StackedLauncher"
    # the most jobs one stack trains at once (a larger group is cut into even stacks)
    max_members: int = 32
    # a stack may take this fraction of the memory available when it is planned (GPU or RAM)
    memory_fraction: float = 0.5
    # on a CPU, jobs whose members each need more than this (weights, gradients, optimiser
    # state, one batch) run in turn, as stacking them would be slower; auto: one core's L2
    # cache; null: stack whatever the size
    cpu_cache_bytes: Any = "auto"


ConfigStore.instance().store(
    group="hydra/launcher", name="stacked", node=StackedLauncherConf, provider="regopt"
)


class StackedLauncher(Launcher):
    def __init__(
        self, max_members: int = 32, memory_fraction: float = 0.5, cpu_cache_bytes: Any = "auto"
    ) -> None:
        super().__init__()
        self.settings = {
            "max_members": max_members,
            "memory_fraction": memory_fraction,
            "cpu_cache_bytes": cpu_cache_bytes,
        }
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        check_settings(self.settings)  # here, so a bad value ends in one line, exit code 2
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info(f"Launching {len(job_overrides)} jobs locally, stacked where they can be")
        configs = []
        for position, overrides in enumerate(job_overrides):
            idx = initial_job_idx + position
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            loader = self.hydra_context.config_loader
            config = loader.load_sweep_config(self.config, list(overrides))
            with open_dict(config):
                config.hydra.job.id = idx
                config.hydra.job.num = idx
            configs.append(config)
        returns: dict[int, JobReturn] = {}
        for unit in plan(configs, self.settings, initial_job_idx):
            if len(unit.jobs) > 1:
                stacked = self._run_stack(
                    [configs[p] for p in unit.jobs], unit.jobs, initial_job_idx
                )
                if stacked is not None:
                    returns.update(zip(unit.jobs, stacked, strict=True))
                    continue
            for position in unit.jobs:  # alone, or the members of a refused stack
                returns[position] = self._run_one(configs[position], len(unit.jobs) > 1)
        return [returns[position] for position in range(len(configs))]

    def _run_stack(
        self, configs: list[DictConfig], positions: list[int], first: int
    ) -> list[JobReturn] | None:
        """The stack's JobReturns, or None when the engine refused it before training."""
        assert self.hydra_context is not None and self.config is not None
        try:
            return JobChain(self.hydra_context, configs, fit_stack).run()
        except Unstacked as refused:
            numbers = numbers_text([first + p for p in positions])
            log.warning(
                f"stacked: {numbers} run one by one: the engine refused the stack: {refused}"
            )
            return None
        finally:
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)

    def _run_one(self, config: DictConfig, started: bool) -> JobReturn:
        """As the basic launcher runs a job; `started`: its on_job_start was called already."""
        assert self.hydra_context is not None and self.config is not None
        assert self.task_function is not None
        context = self.hydra_context
        if started:
            context = HydraContext(context.config_loader, SkipJobStart(context.callbacks))
        ret = run_job(
            hydra_context=context,
            task_function=self.task_function,
            config=config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return ret


def fit_stack(cfgs: list[DictConfig]) -> list[float]:
    """The engine's fit, stopped by Ctrl-C or SIGTERM as a single job is (regopt.interrupt); a
    refusal before training leaves through every run_job as Unstacked."""
    from regopt.interrupt import stop_signals_interrupt
    from regopt.stacked.engine import NotStackable
    from regopt.stacked.engine import fit_stack as fit

    try:
        with stop_signals_interrupt():
            return fit(cfgs)
    except NotStackable as refused:
        raise Unstacked(str(refused)) from refused
