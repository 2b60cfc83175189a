"""The stacked launcher's worker processes (`hydra.launcher.n_jobs` > 1): forked from one process
that has imported the training code once, given one unit of work each at a time, and stopped
with the sweep.

A new Python process spends about 5 s of a core importing torch, Lightning and regopt. Started by
loky's own method, every worker paid that, and on 2 cores the two workers' imports and the
launcher's own (its plan needs the engine) were 3 x 5 s of CPU before the first step. With the
standard library's forkserver one server process imports the training code, from the launcher's
setup on (while the sweeper checks the jobs and the launcher composes them), and each worker is
forked from it with all of it imported; the launch is planned in the first worker
(`run_on_a_worker`), so the launching process never imports torch. loky still runs the pool: its
cloudpickle carries Hydra's task function, as under Hydra's joblib launcher.

A unit goes to a worker only when one is free, so Ctrl-C or SIGTERM (passed on to the workers by
regopt.interrupt.SweepStop) ends the running units, whose members record `interrupted`, and
starts no other: the sweep then stops as an in-process one does, with Interrupted.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from regopt.interrupt import Interrupted, signals_reach

# what the workers need before their first step, done once in the server (regopt.sweep.server); a
# module that does not import is left to the workers (the forkserver skips it)
PRELOAD = ("regopt.sweep.server",)


def worker_context(config: Any = None) -> Any:
    """The workers' start method: the forkserver, its server started now (once per process)
    importing PRELOAD (regopt.sweep.server) and the modules of `config`'s data and model
    classes, where the platform has one; else None (loky's own)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    preload = [*PRELOAD, *target_modules(config)]
    context.set_forkserver_preload(preload)  # no effect once a server runs: it is reused
    forkserver.ensure_running()  # starts the server and returns: the imports run beside us
    return context


def stop_server() -> None:
    """Stop the workers' server when a launch needs no workers (one job): started by the
    launcher's setup, it may still be importing, and would outlive this process by up to 5 s
    (it reads its pipe only after its imports), or sit idle beside a long job. Killed, then
    reaped by the standard library's own stop, so a later launch starts a new one."""
    from multiprocessing import forkserver

    server = forkserver._forkserver  # type: ignore[attr-defined]
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None or not hasattr(server, "_stop"):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    server._stop()


def target_modules(config: Any) -> list[str]:
    """The modules of a job's data and model classes (their `_target_`s): what they import
    (scikit-learn for the digits, 0.3 s) is otherwise each worker's cost in its first job."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    modules: list[str] = []
    if config is None:
        return modules
    for key in ("data", "model"):
        try:
            target = OmegaConf.select(config, f"{key}._target_", default=None)
        except OmegaConfBaseException:  # the plan says why this job runs on its own
            continue
        if isinstance(target, str) and "." in target:
            modules.append(target.rsplit(".", 1)[0])
    return modules


@contextlib.contextmanager
def logged_here(logger: logging.Logger) -> Iterator[list[logging.LogRecord]]:
    """The records `logger` (INFO and above) makes meanwhile, kept for another process to emit,
    and not given to this process's handlers."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep, level, propagate = Keep(), logger.level, logger.propagate
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield records
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)
        logger.propagate = propagate


def run_on_a_worker(
    task: Callable[..., Any], args: tuple[Any, ...], workers: int, context: Any
) -> Any:
    """`task(*args)` on one worker of the pool `run_in_workers` will use (made for `workers`):
    for work before the first unit that needs the training code (the launch's plan)."""
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=workers, context=context).submit(task, *args).result()


def run_in_workers(
    task: Callable[..., Any], units: Sequence[tuple[Any, ...]], workers: int, context: Any
) -> list[Any]:
    """`task(*unit)` for each unit on `workers` processes, results in the units' order; raises
    Interrupted (after the running units end) when a stop signal came."""
    from joblib.externals.loky import get_reusable_executor

    pool = get_reusable_executor(max_workers=workers, context=context)
    results: dict[int, Any] = {}
    running: dict[Future[Any], int] = {}
    stopped: list[int] = []
    waiting = list(range(len(units)))
    with signals_reach(lambda: list(getattr(pool, "_processes", {})), stopped.append):
        while waiting or running:
            while waiting and len(running) < workers and not stopped:
                index = waiting.pop(0)
                running[pool.submit(task, *units[index])] = index
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future)] = future.result()
    if stopped:
        raise Interrupted(stopped[0])
    return [results[index] for index in range(len(units))]
