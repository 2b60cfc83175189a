"""The stacked launcher's worker processes (`hydra.launcher.n_jobs` > 1): forked from one process
that has imported the training code once, given one unit of work each at a time, and stopped
with the sweep.

A new Python process spends about 5 s of a core importing torch, Lightning and regopt. Started by
loky's own method, every worker paid that, and on 2 cores the two workers' imports and the
launcher's own (its plan needs the engine) were 3 x 5 s of CPU before the first step. With the
standard library's forkserver one server process imports the training code as the launch is
planned, and each worker is forked from it with all of it imported. loky still runs the pool: its
cloudpickle carries Hydra's task function, as under Hydra's joblib launcher.

A unit goes to a worker only when one is free, so Ctrl-C or SIGTERM (passed on to the workers by
regopt.interrupt.SweepStop) ends the running units, whose members record `interrupted`, and
starts no other: the sweep then stops as an in-process one does, with Interrupted.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from regopt.interrupt import Interrupted, signals_reach

# what the workers need before their first step: the engine (torch, Lightning, regopt) and what
# curves.png draws with; a module that does not import is left to the workers (forkserver skips it)
PRELOAD = (
    "regopt.quick_exit",  # first, so its handler runs last: the server ends in 0.1 s, not 1.2 s
    "regopt.stacked.engine",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
)


def worker_context() -> Any:
    """The workers' start method: the forkserver, its server started now (once per process)
    importing PRELOAD, where the platform has one; else None (loky's own)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))  # no effect once a server runs: it is reused
    forkserver.ensure_running()  # starts the server and returns: the imports run beside us
    return context


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
