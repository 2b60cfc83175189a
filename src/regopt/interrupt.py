"""Ctrl-C and SIGTERM end a job as `interrupted`, and the user is told how to resume it.

Python's default SIGTERM ends the process at once, leaving summary.json at `running`; Lightning's
own handler only stops at the end of the current batch and raises an exception with no message.
Here SIGTERM raises `Interrupted`, a KeyboardInterrupt, so every layer stops as for Ctrl-C:
Lightning calls its callbacks' `on_exception` (RunRecord writes `interrupted` with the signal), and
the process exits non-zero. Neither signal may land inside a file being written (`shielded`): it
waits for the write to end.
"""

from __future__ import annotations

import os
import shlex
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A signal that asks the job to stop (SIGINT, SIGTERM), raised where the main thread is."""

    def __init__(self, signum: int) -> None:
        self.signal = signal.Signals(signum).name
        super().__init__(self.signal)


def signal_name(exception: BaseException) -> str:
    """The signal behind an interruption: SIGTERM for Interrupted and Lightning's own
    SIGTERMException, SIGINT for a plain KeyboardInterrupt (Ctrl-C)."""
    if isinstance(exception, KeyboardInterrupt):
        return getattr(exception, "signal", "SIGINT")
    return "SIGTERM"


_state: dict[str, Any] = {"shielded": 0, "pending": None, "raised": False}


def raise_interrupted(signum: int, frame: FrameType | None) -> None:
    """A signal handler: stop the main thread as Ctrl-C would, once; inside `shielded()` the
    stop waits for the block's end."""
    if _state["raised"]:
        return  # stopping already (a terminal's Ctrl-C and a forwarded one, say)
    if _state["shielded"]:
        _state["pending"] = signum
        return
    _state["raised"] = True
    raise Interrupted(signum)


@contextmanager
def shielded() -> Iterator[None]:
    """A block a stop signal must not cut in two (a checkpoint or a record being written: torch's
    zip writer turns an exception inside it into its own RuntimeError)."""
    _state["shielded"] += 1
    try:
        yield
    finally:
        _state["shielded"] -= 1
        if not _state["shielded"] and _state["pending"] is not None:
            signum, _state["pending"] = _state["pending"], None
            raise_interrupted(signum, None)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted while inside (outside `shielded()` blocks); the
    previous handlers are restored after (a joblib worker runs other jobs, and its pool stops
    idle workers with SIGTERM)."""
    try:
        previous = {sig: signal.signal(sig, raise_interrupted) for sig in STOP_SIGNALS}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    _state["raised"] = False
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def child_pids() -> list[int]:
    """This process's child processes (from /proc; none found where there is no /proc)."""
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:  # the field after the state is the parent's pid
            found.append(int(stat.parent.name))
    return found


_workers: list[tuple[Callable[[], Iterable[int]], Callable[[int], None]]] = []


@contextmanager
def signals_reach(
    workers: Callable[[], Iterable[int]], stop: Callable[[int], None]
) -> Iterator[None]:
    """While inside, SweepStop passes Ctrl-C and SIGTERM on to these processes too (a launcher's
    own workers, which need not be this process's children: the stacked launcher's are forked by
    a forkserver) and calls `stop` with the signal, so the launcher starts nothing more."""
    entry = (workers, stop)
    _workers.append(entry)
    try:
        yield
    finally:
        _workers.remove(entry)


class SweepStop:
    """Ctrl-C or SIGTERM in the process that runs a sweep whose jobs run in child processes
    (joblib, submitit): the signal is passed on to them, so each job records `interrupted`
    before the launcher ends (joblib would kill its workers with SIGKILL, leaving them
    `running`), and to a launcher's workers (`signals_reach`); the sweep then stops on its jobs'
    exits. When the jobs run here (the basic and stacked launchers: their other children are
    helpers, W&B's service), with no worker, or at a second signal, it raises Interrupted."""

    def __init__(self, jobs_elsewhere: bool) -> None:
        self.jobs_elsewhere = jobs_elsewhere
        self.forwarded = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        children = []
        if not self.forwarded:
            children = child_pids() if self.jobs_elsewhere else []
            for workers, stop in _workers:
                children += list(workers())
                stop(signum)
        if not children:
            raise_interrupted(signum, frame)
            return
        self.forwarded = True
        for pid in children:
            with suppress(ProcessLookupError):
                os.kill(pid, signum)


def resume_command(overrides: Sequence[str], dir_key: str, run_dir: str, multirun: bool) -> str:
    """The command that continues this run or sweep: the same overrides, the same dir, and
    `resume=auto` (a sweep's finished jobs then train nothing and keep their numbers)."""
    dropped = (f"{dir_key}=", "resume=", "hydra.mode=")  # hydra.mode: Hydra adds it itself
    kept = [o for o in overrides if not o.lstrip("+~").startswith(dropped)]
    args = ["-m"] if multirun else []
    args += [*kept, f"{dir_key}={run_dir}", "resume=auto"]
    return shlex.join(["regopt-train", *args])
