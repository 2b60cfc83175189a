"""A running sweep's progress, whatever the launcher; its end; how to resume it if it stops.

A Hydra callback (conf/hydra/default.yaml) in the process that runs the sweep. As each job ends it
prints one line: how many of the sweep's jobs are done, the tally so far and an estimate of the
time left. A finished sweep prints its dir, its tally and the `regopt-report` command; a sweep
that stops before its end (Ctrl-C, SIGTERM, a crash) prints the command that resumes it. With
joblib or submitit the jobs run in other processes, whose Hydra hooks this process never sees, so
a thread reads the jobs' summary.json files instead (each job writes `running`, then how it
ended). Single runs print nothing. Light: no torch.
"""

from __future__ import annotations

import atexit
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from regopt.interrupt import STOP_SIGNALS, SweepStop, resume_command
from regopt.record.run_dir import status_of
from regopt.sweep.plan import planned_jobs

ENDED = ("completed", "pruned", "failed", "diverged", "interrupted")
ALWAYS_SHOWN = ("completed", "failed", "diverged")  # in every tally; other statuses when present
# launchers that run the jobs in this process (the stacked one trains its stacks here too)
IN_PROCESS = (
    "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
    "hydra_plugins.regopt_stacked.stacked_launcher.StackedLauncher",
)
OPTUNA_SWEEPER = "hydra_plugins.regopt_optuna.sweeper.OptunaSweeper"


def tally_text(statuses: list[str]) -> str:
    names = [*ALWAYS_SHOWN, *sorted(set(statuses) - set(ALWAYS_SHOWN))]
    return ", ".join(f"{statuses.count(name)} {name}" for name in names)


def jobs_text(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def job_dirs(sweep_dir: Path) -> list[Path]:
    if not sweep_dir.is_dir():
        return []
    return sorted(
        (p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )


class SweepWatch:
    """The jobs of one sweep start that have ended, read from their summary.json files."""

    def __init__(self, sweep_dir: Path, total: int | None, resume: str) -> None:
        self.sweep_dir, self.total, self.resume = sweep_dir, total, resume
        self.since = time.time()  # a summary older than this is a previous start's
        self.clock = time.monotonic()
        self.ended: dict[str, str] = {}  # job dir name -> how it ended, in this start
        self._seen: dict[str, float] = {}
        self.finished = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="regopt-sweep", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poll(self) -> list[str]:
        """Lines for the jobs that ended since the last poll."""
        lines = []
        for job in job_dirs(self.sweep_dir):
            summary = job / "summary.json"
            try:
                mtime = summary.stat().st_mtime
            except OSError:
                continue
            if mtime < self.since or self._seen.get(job.name) == mtime:
                continue
            self._seen[job.name] = mtime
            status = status_of(job)
            if status in ENDED and job.name not in self.ended:
                self.ended[job.name] = status
                lines.append(self.progress_line(job.name, status))
        return lines

    def progress_line(self, job: str, status: str) -> str:
        done = len(self.ended)
        so_far = tally_text(list(self.ended.values()))
        if self.total is None:
            return f"sweep: {done} jobs done (job {job}: {status}); {so_far}"
        left = max(0, self.total - done)
        eta = (time.monotonic() - self.clock) / done * left
        time_left = f", about {duration_text(eta)} left" if left else ""
        return f"sweep: {done} of {self.total} jobs done (job {job}: {status}); {so_far}{time_left}"

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self._print(self.poll())

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._print(self.poll())

    @staticmethod
    def _print(lines: list[str]) -> None:
        for line in lines:
            print(line, file=sys.stderr, flush=True)

    def on_exit(self) -> None:
        """At interpreter exit: a sweep that never reached its end says how to resume it."""
        if self.finished:
            return
        self.stop()
        done = len(self.ended)
        of = f" of {self.total}" if self.total is not None else ""
        self._print(
            [
                f"sweep stopped before its end: {done}{of} jobs done "
                f"({tally_text(list(self.ended.values()))}) in {self.sweep_dir}",
                f"resume it with: {self.resume}",
            ]
        )

    def finish(self) -> None:
        self.stop()
        self.finished = True
        jobs = job_dirs(self.sweep_dir)
        statuses = [status_of(job) or "no record" for job in jobs]
        self._print(
            [
                f"sweep finished: {jobs_text(len(statuses))} in {self.sweep_dir}: "
                f"{tally_text(statuses)}",
                f"report: regopt-report {self.sweep_dir}",
            ]
        )


_WATCH: SweepWatch | None = None  # module state: the callback itself is pickled to workers


def sweep_total(hydra_cfg: DictConfig, sweep_dir: Path) -> int | None:
    """Jobs this start will run: the basic sweeper's plan, or the trials an Optuna study still
    needs (n_trials counts the whole study; trials that ended on their own are not rerun)."""
    jobs = planned_jobs(hydra_cfg)
    if jobs is not None:
        return len(jobs)
    sweeper = hydra_cfg.get("sweeper") or {}
    if sweeper.get("_target_") == OPTUNA_SWEEPER and sweeper.get("n_trials") is not None:
        ended = [status_of(job) for job in job_dirs(sweep_dir)]
        finished = sum(s in ENDED and s != "interrupted" for s in ended)
        return max(0, int(sweeper.n_trials) - finished)
    return None


def sweep_refused() -> None:
    """The sweep ends on a config error (a launcher or sweeper setting): no resume command, since
    the same command would be refused again; the error's one line says what to change."""
    if _WATCH is not None:
        _WATCH.stop()
        _WATCH.finished = True


class SweepProgress(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        global _WATCH
        hydra_cfg = config.hydra
        sweep_dir = Path(hydra_cfg.sweep.dir)
        # as typed: an override's value may be an interpolation (regopt.per_lr) that only a job
        # resolves
        overrides = OmegaConf.to_container(hydra_cfg.overrides, resolve=False)
        overrides = [*overrides["hydra"], *overrides["task"]]  # type: ignore[index]
        command = resume_command(
            [str(o) for o in overrides], "hydra.sweep.dir", str(sweep_dir), multirun=True
        )
        _WATCH = SweepWatch(sweep_dir, sweep_total(hydra_cfg, sweep_dir), command)
        of = jobs_text(_WATCH.total) if _WATCH.total is not None else "jobs"
        print(f"sweep: {of} in {sweep_dir}", file=sys.stderr, flush=True)
        # Ctrl-C and SIGTERM stop the jobs, which record `interrupted`, then the sweep, which
        # prints the resume command (regopt.interrupt); SIGTERM no longer ends it unannounced
        stop = SweepStop(jobs_elsewhere=hydra_cfg.launcher.get("_target_") not in IN_PROCESS)
        for sig in STOP_SIGNALS:
            signal.signal(sig, stop)
        atexit.register(_WATCH.on_exit)
        _WATCH.start()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if _WATCH is not None:
            _WATCH.finish()
