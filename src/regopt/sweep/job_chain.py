"""The members of one stack as Hydra jobs: each through Hydra's own `run_job`, one inside another.

`run_job` is what gives a job its dir, its `.hydra/` files (config.yaml, hydra.yaml,
overrides.yaml), the callbacks' `on_job_start` and `on_job_end`, and its `JobReturn`; here every
member gets them from it. A stack must see all its members' configs before it trains, so member
k's task starts member k+1's `run_job`, and the innermost task trains the whole stack; then each
task, from the innermost out, returns its own member's result, which its `run_job` hands to
`on_job_end` and into its JobReturn. The engine gets each member's whole config, its Hydra node
included, so it builds each member under the member's own Hydra config (its group choices and
overrides in its summary.json). Each `run_job` restores Hydra's config of the job around it when
it ends. Light: Hydra and OmegaConf only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from hydra.core.utils import JobReturn, run_job
from hydra.types import HydraContext
from omegaconf import DictConfig

LogFiles = list[tuple[str, logging.Formatter | None]]
Fit = Callable[[list[DictConfig]], Sequence[float]]


class Unstacked(BaseException):
    """The engine refused the stack before training (NotStackable). A BaseException, so it passes
    through every `run_job` (which turns a task's Exception into a failed job) to the launcher,
    which then runs the members one by one."""


class SkipJobStart:
    """Hydra's callbacks without `on_job_start`: for the members of a refused stack, run on their
    own after their `on_job_start` was called once already."""

    def __init__(self, callbacks: Any) -> None:
        self.callbacks = callbacks

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.callbacks, name)


def log_files() -> LogFiles:
    """The files the root logger writes to now (a job's `<job name>.log`)."""
    return [
        (h.baseFilename, h.formatter)
        for h in logging.getLogger().handlers
        if isinstance(h, logging.FileHandler)
    ]


class JobChain:
    def __init__(self, context: HydraContext, configs: Sequence[DictConfig], fit: Fit) -> None:
        self.context, self.configs, self.fit = context, list(configs), fit
        self.members: list[DictConfig] = []
        self.logs: list[LogFiles] = []
        self.returns: dict[int, JobReturn] = {}
        self.results: list[float] | None = None
        self.error: Exception | None = None

    def run(self) -> list[JobReturn]:
        """Every member's JobReturn, in member order; raises Unstacked when refused."""
        self.returns[0] = self._run_job(0)
        return [self.returns[k] for k in range(len(self.configs))]

    def _run_job(self, k: int) -> JobReturn:
        return run_job(
            hydra_context=self.context,
            task_function=self._task(k),
            config=self.configs[k],
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )

    def _task(self, k: int) -> Callable[[DictConfig], float]:
        def task(_: DictConfig) -> float:
            # with its Hydra node (its run dir set by run_job): the engine builds each member
            # under its own Hydra config, as run_job runs a job
            self.members.append(self.configs[k])
            self.logs.append(log_files())
            if k + 1 < len(self.configs):
                self.returns[k + 1] = self._run_job(k + 1)
            else:
                self._fit_all()
            if self.results is None:
                assert self.error is not None
                raise self.error  # the stack failed as a whole: so did each member's job
            return self.results[k]

        return task

    def _fit_all(self) -> None:
        """The whole stack, with every member's log file receiving the log (run_job set up the
        innermost member's only)."""
        root = logging.getLogger()
        extra = []
        for files in self.logs[:-1]:
            for filename, formatter in files:
                handler = logging.FileHandler(filename)
                handler.setFormatter(formatter)
                root.addHandler(handler)
                extra.append(handler)
        try:
            results = list(self.fit(self.members))
            if len(results) != len(self.members):
                raise RuntimeError(
                    f"the stack returned {len(results)} results for {len(self.members)} members"
                )
            self.results = results
        except Exception as error:  # a failed stack fails each member's job, as run_job would
            self.error = error
            raise
        finally:
            for handler in extra:
                root.removeHandler(handler)
                handler.close()
