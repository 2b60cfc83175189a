"""`hydra/launcher=stacked` end to end: a stacked sweep leaves what the basic launcher leaves, job
by job, and a stack the engine refuses runs its jobs one by one."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, read_metrics, read_summary, run_cli, run_cli_then_sigterm

# A Hydra callback that writes one line per job event: what Hydra hands every callback.
EVENTS = """
import json, os, sys
from hydra.experimental.callback import Callback

class JobEvents(Callback):
    def _write(self, **line):
        with open(os.environ["JOB_EVENTS"], "a") as out:
            out.write(json.dumps(line) + "\\n")

    def on_job_start(self, config, **kwargs):
        self._write(event="start", job=int(config.hydra.job.num))

    def on_job_end(self, config, job_return, **kwargs):
        value = job_return._return_value
        self._write(event="end", job=int(config.hydra.job.num), status=job_return.status.name,
                    value=value if isinstance(value, float) else repr(value),
                    working_dir=job_return.working_dir)

    def on_multirun_end(self, config, **kwargs):  # in the launching process
        from multiprocessing import forkserver
        server = getattr(forkserver._forkserver, "_forkserver_pid", None) is not None
        self._write(event="multirun_end", torch_imported="torch" in sys.modules, server=server)
"""
TIME_COLUMNS = ("time", "wall")  # columns that measure the clock, not the training


def with_events(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    (tmp_path / "site").mkdir(exist_ok=True)
    (tmp_path / "site" / "job_events.py").write_text(EVENTS)
    path = os.pathsep.join([str(tmp_path / "site"), *filter(None, [os.environ.get("PYTHONPATH")])])
    env = {"PYTHONPATH": path, "JOB_EVENTS": str(tmp_path / "events.jsonl")}
    return ["+hydra.callbacks.events._target_=job_events.JobEvents"], env


def events(tmp_path: Path) -> list[dict]:
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def job_dirs(sweep: Path) -> list[Path]:
    return sorted((p for p in sweep.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def same_numbers(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], rel_tol=1e-6, abs_tol=1e-12)
        for k in a
        if not any(word in k for word in TIME_COLUMNS)
    )


# width 64: SGD at lr 1e9 diverges (at width 16 its ReLUs die and the loss stays finite)
SWEEP = [
    "-m",
    "regularizer=none,l2",
    "optimizer=sgd",
    "optimizer.lr=0.05,1e9",
    "model.widths=[64,64]",
    "data.train_fraction=0.1",
    "trainer.max_epochs=3",
    "trainer.precision=64-true",
    "logger=none",
]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_stacked_sweep_leaves_what_the_basic_launcher_leaves_job_by_job(
    tmp_path, workers
) -> None:
    stacked, basic = tmp_path / "stacked", tmp_path / "basic"
    extra, env = with_events(tmp_path)
    launcher = ["hydra/launcher=stacked", f"hydra.launcher.n_jobs={workers}"]
    result = run_cli([*SWEEP, *launcher, *extra, f"hydra.sweep.dir={stacked}"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    if workers == 1:
        assert "jobs 0-3 train as one stack of 4" in result.stdout
    else:  # two stacks for each worker process (of 2 members at least)
        assert "jobs 0-1 train as one stack of 2" in result.stdout
        assert "jobs 2-3 train as one stack of 2" in result.stdout
        assert "2 stacks and 0 single jobs over 2 workers" in result.stdout
    assert "sweep: 4 of 4 jobs done" in result.stderr
    assert f"sweep finished: 4 jobs in {stacked}: 2 completed, 0 failed, 2 diverged" in (
        result.stderr
    )
    reference = run_cli([*SWEEP, f"hydra.sweep.dir={basic}"], tmp_path)
    assert reference.returncode == 0, reference.stderr[-3000:]

    assert [p.name for p in job_dirs(stacked)] == ["0", "1", "2", "3"]
    for ours, theirs in zip(job_dirs(stacked), job_dirs(basic), strict=True):
        for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
            assert (ours / ".hydra" / name).is_file()
        assert (ours / ".hydra/overrides.yaml").read_text() == (
            theirs / ".hydra/overrides.yaml"
        ).read_text()
        mine, reference_summary = read_summary(ours), read_summary(theirs)
        for key in ("status", "overrides", "options", "diverged_at", "epochs", "regularizers"):
            assert mine.get(key) == reference_summary.get(key), (ours.name, key)
        if mine["status"] == "completed":  # lr 0.05; lr 1e9 diverged in both
            rows, reference_rows = read_metrics(ours), read_metrics(theirs)
            assert len(rows) == len(reference_rows) == 3
            assert all(same_numbers(a, b) for a, b in zip(rows, reference_rows, strict=True))
    statuses = [read_summary(job)["status"] for job in job_dirs(stacked)]
    assert statuses == ["completed", "diverged", "completed", "diverged"]

    # every job: on_job_start once, then on_job_end once with its own return value
    seen = events(tmp_path)
    # with workers the launching process plans in one of them: it never imports torch
    ends = [e for e in seen if e["event"] == "multirun_end"]
    assert [(e["torch_imported"], e["server"]) for e in ends] == [(workers == 1, workers == 2)]
    seen = [e for e in seen if e["event"] != "multirun_end"]
    assert sorted((e["event"], e["job"]) for e in seen) == sorted(
        (event, job) for event in ("start", "end") for job in range(4)
    )
    # a stack starts all its members' jobs before it trains (in each worker's order)
    for stack in ([0, 1, 2, 3],) if workers == 1 else ([0, 1], [2, 3]):
        mine = [e["event"] for e in seen if e["job"] in stack]
        assert mine[: len(stack)] == ["start"] * len(stack)
    for end in (e for e in seen if e["event"] == "end"):
        summary = read_summary(stacked / str(end["job"]))
        assert end["status"] == "COMPLETED"
        if summary["status"] == "completed":
            assert end["value"] == summary["best"]["val/loss"]
        else:
            assert math.isnan(end["value"])

    # the report reads the stacked sweep as it reads the basic one
    from regopt.report.collect import load_runs

    def described(root: Path) -> list[tuple]:
        return [(r.name, r.status, r.overrides) for r in load_runs(root)]

    assert described(stacked) == described(basic)
    report = subprocess.run(
        [sys.executable, "-m", "regopt.report.cli", str(stacked)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-2000:]
    assert "4 runs (completed 2, diverged 2)" in (stacked / "report.md").read_text()


REFUSING = """
import sys
import regopt.stacked.engine as engine

def refuse(cfgs, checkpoint_interval_s):
    raise engine.NotStackable("a refusal for the test")

engine.fit_stack = refuse
from regopt.train import main
sys.argv = ["regopt-train", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
def test_a_stack_the_engine_refuses_runs_its_jobs_one_by_one(tmp_path) -> None:
    sweep = tmp_path / "sweep"
    extra, env = with_events(tmp_path)
    args = [
        "-m",
        "seed=0,1",
        "model.widths=[16,16]",
        "data.train_fraction=0.1",
        "trainer.max_epochs=1",
        "logger=none",
        "hydra/launcher=stacked",
        *extra,
        f"hydra.sweep.dir={sweep}",
    ]
    result = subprocess.run(
        [sys.executable, "-c", REFUSING, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "REGOPT_ROOT": str(tmp_path), **env},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jobs 0-1 train as one stack of 2" in result.stdout
    assert "jobs 0-1 run one by one: the engine refused the stack: a refusal for the test" in (
        result.stdout
    )
    assert [read_summary(job)["status"] for job in job_dirs(sweep)] == ["completed"] * 2
    assert "sweep: 2 of 2 jobs done" in result.stderr
    # on_job_start once per job (when the stack was tried), on_job_end once, after its own run
    assert [(e["event"], e.get("job")) for e in events(tmp_path)] == [
        ("start", 0),
        ("start", 1),
        ("end", 0),
        ("end", 1),
        ("multirun_end", None),
    ]


def test_a_bad_launcher_setting_ends_the_sweep_in_one_line_without_a_resume_command(
    tmp_path,
) -> None:
    """Resuming with the same command would be refused again: the error says what to change."""
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=stacked", "hydra.launcher.n_jobs=0", "seed=0,1"]
    result = run_cli([*args, "logger=none", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "config error: hydra.launcher.n_jobs=0" in result.stderr
    assert "resume it with" not in result.stderr
    assert "Traceback" not in result.stderr


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds `marker` (the test's own REGOPT_ROOT)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_sigterm_stops_the_workers_stacks_and_starts_no_other(tmp_path) -> None:
    """8 jobs in 4 stacks of 2 over 2 workers: SIGTERM to the sweep reaches the workers (forked
    by the forkserver, not the sweep's children), the 4 running members record `interrupted`,
    the other 2 stacks never start, the sweep prints how to resume it, and no worker is left.
    Each interrupted member's last.ckpt is the one its separate run would hold, though the
    launcher writes checkpoints behind (hydra.launcher.checkpoint_interval_s, 10 s: the signal
    comes before the first write)."""
    import time

    import torch

    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "hydra/launcher=stacked",
        "hydra.launcher.n_jobs=2",
        "optimizer=sgd,adam",
        "seed=0,1,2,3",
        "trainer.max_epochs=400",
        "model.widths=[32,32]",
        "logger=none",
        "diagnostics=none",
        f"hydra.sweep.dir={sweep}",
    ]
    started = [sweep / str(job) / "metrics.csv" for job in range(4)]  # two epochs' rows

    def training() -> bool:
        return all(path.is_file() and len(path.read_text().splitlines()) > 2 for path in started)

    returncode, err = run_cli_then_sigterm(args, tmp_path, training)
    assert returncode != 0, err[-3000:]
    for job in range(4):
        summary = read_summary(sweep / str(job))
        assert (summary["status"], summary["signal"]) == ("interrupted", "SIGTERM"), err[-3000:]
        last = torch.load(sweep / str(job) / "checkpoints" / "last.ckpt", weights_only=True)
        finished = [r for r in read_metrics(sweep / str(job)) if "train/loss" in r]
        # the last finished epoch's end; or the next one's, when the signal came between that
        # epoch end's checkpoints and its metrics reaching the loggers (the order a separate
        # run's epoch end has too: its last.ckpt then holds that epoch's rows for resume=auto)
        assert last["epoch"] - finished[-1]["epoch"] in (0, 1) and finished[-1]["epoch"] > 0
    assert [p.name for p in job_dirs(sweep)] == ["0", "1", "2", "3"]
    assert any(line.startswith("resume it with: ") for line in err.splitlines())
    deadline = time.monotonic() + 30
    while processes_with(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(str(tmp_path)) == []


def test_a_one_job_sweep_leaves_no_worker_server_behind(tmp_path) -> None:
    """The launcher's setup starts the workers' server before it knows the sweep's size; a launch
    of one job needs no workers and stops it (it could outlive the process by the rest of its
    imports, or sit idle beside a long job)."""
    extra, env = with_events(tmp_path)
    args = ["-m", "seed=0", "hydra/launcher=stacked", "hydra.launcher.n_jobs=2", "logger=none"]
    args += ["model.widths=[16]", "data.train_fraction=0.1", "trainer.max_epochs=1", *extra]
    result = run_cli([*args, f"hydra.sweep.dir={tmp_path / 'sweep'}"], tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sweep finished: 1 job" in result.stderr
    assert [e["server"] for e in events(tmp_path) if e["event"] == "multirun_end"] == [False]
    assert processes_with(str(tmp_path)) == []
