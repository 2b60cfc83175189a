"""Sweeps: failures that do not kill the sweep, a pruned and resumable Optuna study (basic and
joblib launchers, two objectives), other launchers, DDP."""

from __future__ import annotations

import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, read_metrics, read_summary, run_cli, run_cli_then_sigterm


def sweep_jobs(root: Path) -> list[Path]:
    (sweep,) = (root / "logs" / "multiruns").iterdir()
    return sorted(
        (p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)
    )


def test_failed_and_diverged_jobs_are_recorded_and_the_sweep_goes_on(tmp_path) -> None:
    # cnn1d passes the config check and fails while its job builds it (digits are 8x8 images)
    result = run_cli(
        [
            "-m",
            "optimizer=sgd",
            "optimizer.lr=0.05,1e8",
            "model=mlp,cnn1d",
            "trainer.max_epochs=2",
            "logger=none",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = [read_summary(job)["status"] for job in sweep_jobs(tmp_path)]
    # jobs in override order: (lr 0.05, mlp) (0.05, cnn1d) (1e8, mlp) (1e8, cnn1d)
    assert statuses == ["completed", "failed", "diverged", "failed"]
    failed = read_summary(sweep_jobs(tmp_path)[1])
    assert "needs (channels, length)" in failed["error"]
    diverged = read_summary(sweep_jobs(tmp_path)[2])
    assert diverged["diverged_at"]["epoch"] == 0 and diverged["diverged_at"]["step"] >= 1
    assert diverged["epochs"] == 0  # stopped inside epoch 0: no completed epoch to record
    assert not (sweep_jobs(tmp_path)[2] / "checkpoints" / "last.ckpt").exists()


def test_a_bad_value_in_a_sweep_fails_only_its_job(tmp_path) -> None:
    result = run_cli(
        ["-m", "optimizer.lr=0.001,-1", "trainer.max_epochs=1", "logger=none"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (read_summary(job) for job in sweep_jobs(tmp_path))
    assert first["status"] == "completed"
    assert second["status"] == "failed" and "optimizer.lr=-1" in second["error"]


def optuna_trials(storage: Path) -> list:
    import optuna

    study = optuna.load_study(study_name="optuna", storage=f"sqlite:///{storage}")
    return study.get_trials(deepcopy=False)


# a pruned study small enough for a test: the median pruner from the first epoch, once one trial
# has completed
SMALL_JOB = [
    "hparams_search=optuna",
    "trainer.max_epochs=4",
    "model.widths=[32]",
    "logger=none",
    "callbacks=none",
    "diagnostics=none",
]
SMALL_STUDY = [
    *SMALL_JOB,
    "hparams_search.pruner.n_startup_trials=1",
    "hparams_search.pruner.n_warmup_steps=0",
]


def median_rule_epoch(own: dict[int, float], completed: list[dict[int, float]]) -> int | None:
    """Optuna's median rule (no warm-up, one startup trial) written out: prune at the first epoch
    where the trial's best value so far is worse than the median of the completed trials'
    values at that epoch."""
    if not completed:
        return None
    best = math.inf
    for epoch in sorted(own):
        best = min(best, own[epoch])
        at = [values[epoch] for values in completed if epoch in values]
        if at and best > statistics.median(at):
            return epoch
    return None


def check_pruning_decisions(trials: list, sweep_dir: Path) -> None:
    """Each trial of a sequential study against the rule, over the trials completed before it:
    a pruned one at the rule's epoch, a completed one never met it; its record agrees."""
    for trial in trials:
        if trial.state.name not in ("COMPLETE", "PRUNED"):
            continue
        before = [
            t.intermediate_values
            for t in trials
            if t.number < trial.number and t.state.name == "COMPLETE"
        ]
        expected = median_rule_epoch(trial.intermediate_values, before)
        summary = read_summary(sweep_dir / str(trial.number))
        if trial.state.name == "PRUNED":
            assert expected is not None and summary["status"] == "pruned"
            assert summary["pruned_at"]["epoch"] == expected == max(trial.intermediate_values)
            assert summary["epochs"] == expected + 1
        else:
            assert expected is None and summary["status"] == "completed"
            assert trial.value == summary["best"]["val/loss"]


@pytest.mark.slow
def test_a_pruned_optuna_study_resumes_after_a_kill_to_its_total(tmp_path) -> None:
    sweep_dir = tmp_path / "sweep"
    args = [
        sys.executable,
        "-m",
        "regopt.train",
        *SMALL_STUDY,
        "hydra.sweeper.n_trials=6",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    env = {**os.environ, "REGOPT_ROOT": str(tmp_path)}
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    database = sweep_dir / "optuna.db"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if database.exists() and count_finished(database) >= 2:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = optuna_trials(database)
    finished_before = [t for t in before if t.state.is_finished()]
    assert 2 <= len(finished_before) < 6, "the kill should land inside the sweep"
    first_job = (sweep_dir / "0" / "summary.json").read_text()

    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    after = optuna_trials(database)
    ended = [t for t in after if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(ended) == 6  # the study's total, not 6 more
    assert any(t.state.name == "PRUNED" for t in ended)
    interrupted = [t for t in after if t.system_attrs.get("regopt_interrupted")]
    assert len(after) == 6 + len(interrupted) and all(t.state.name == "FAIL" for t in interrupted)
    kept = {t.number: t.params for t in finished_before}
    assert all(after[n].params == params for n, params in kept.items())  # same study, same trials
    job_dirs = {int(p.name) for p in sweep_dir.iterdir() if p.name.isdigit()}
    assert set(range(len(before), len(after))) <= job_dirs  # resumed jobs numbered after the old
    assert (sweep_dir / "0" / "summary.json").read_text() == first_job  # nothing overwritten
    check_pruning_decisions(after, sweep_dir)

    report = subprocess.run(
        [sys.executable, "-m", "regopt.report.cli", str(sweep_dir), "--no-figures"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    markdown = (sweep_dir / "report.md").read_text()
    pruned = [t for t in ended if t.state.name == "PRUNED"]
    assert f"{len(pruned)} pruned" in markdown.split("## Optuna study", 1)[1].splitlines()[0]
    for trial in pruned:  # the study's table: the epoch each trial was pruned at
        row = next(
            line
            for line in markdown.splitlines()
            if line.startswith(f"| {trial.number} | pruned |")
        )
        assert row.split(" | ")[-2] == str(max(trial.intermediate_values))


def four_trials_two_at_a_time(launcher: list[str], tmp_path: Path) -> tuple[Any, list, Path]:
    """A pruned study of 4 trials asked 2 at a time under `launcher`; checks that each trial
    ended in a final state its record agrees with, and returns the run, the trials and the
    sweep dir."""
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            *SMALL_STUDY,
            *launcher,
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.n_trials=4",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = optuna_trials(sweep_dir / "optuna.db")
    assert len(trials) == 4 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    for trial in trials:  # the record of each job says what the study was told
        summary = read_summary(sweep_dir / str(trial.number))
        assert summary["status"] == {"COMPLETE": "completed", "PRUNED": "pruned"}[trial.state.name]
        assert sorted(trial.intermediate_values) == list(range(summary["epochs"]))
    assert "sweep finished: 4 jobs in" in result.stderr
    return result, trials, sweep_dir


@pytest.mark.slow
def test_a_parallel_pruned_study_ends_with_every_trial_in_a_final_state(tmp_path) -> None:
    four_trials_two_at_a_time(["hydra/launcher=parallel"], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_the_trials_of_a_batch_train_as_one_stack_each_told_its_own_result(
    tmp_path, workers
) -> None:
    """Optuna under the stacked launcher: the 2 trials of each batch (`hydra.sweeper.n_jobs`)
    differ only in their sampled lr, weight decay and L2 weight and their trial number, so they
    train as one stack; each member reports to its own trial and is told its own state and
    value, as a trial run alone is. With workers each batch's launch is planned in one of them."""
    launcher = ["hydra/launcher=stacked", f"hydra.launcher.n_jobs={workers}"]
    result, trials, sweep_dir = four_trials_two_at_a_time(launcher, tmp_path)
    log = result.stdout + result.stderr
    assert "jobs 0-1 train as one stack of 2" in log and "jobs 2-3 train as one stack of 2" in log
    assert len({t.params["optimizer.lr"] for t in trials}) == 4
    for trial in trials:
        summary = read_summary(sweep_dir / str(trial.number))
        assert summary["optimizer"]["lr"] == trial.params["optimizer.lr"]
        if trial.state.name == "COMPLETE":
            assert trial.value == summary["best"]["val/loss"]


@pytest.mark.slow
def test_a_two_objective_study_and_its_pareto_front_in_the_report(tmp_path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            *SMALL_JOB,
            "diagnostics=default",
            "hparams_search/pruner=none",
            "hparams_search.objectives=[val/loss,gap/loss]",
            "hydra.sweeper.n_trials=4",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = optuna_trials(sweep_dir / "optuna.db")
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    for trial in trials:  # both objectives at the trial's best epoch, as its record has them
        job = sweep_dir / str(trial.number)
        best = read_summary(job)["best"]["epoch"]
        row = next(r for r in read_metrics(job) if int(r["epoch"]) == best)
        assert trial.values == [row["val/loss"], row["gap/loss"]]
    front = sorted(
        t.number
        for t in trials
        if not any(
            all(o <= v for o, v in zip(other.values, t.values, strict=True))
            and other.values != t.values
            for other in trials
        )
    )
    report = subprocess.run(
        [sys.executable, "-m", "regopt.report.cli", str(sweep_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    section = (sweep_dir / "report.md").read_text().split("### Pareto front", 1)[1]
    table = section.split("\n\n")[1].splitlines()[2:]
    assert [int(line.split(" | ")[0].strip("| ")) for line in table] == front
    assert (sweep_dir / "study_pareto_front.png").is_file()


@pytest.mark.slow
def test_failing_optuna_trials_are_told_fail_and_the_study_goes_on(tmp_path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            "hparams_search=optuna",
            "hydra.sweeper.n_trials=2",
            "data.train_size=5",
            f"hydra.sweep.dir={sweep_dir}",
            "trainer.max_epochs=1",
            "logger=none",
            "callbacks=none",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = optuna_trials(sweep_dir / "optuna.db")
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]  # not COMPLETE, none left RUNNING
    assert all(read_summary(sweep_dir / str(n))["status"] == "failed" for n in (0, 1))
    assert "no trial completed" in result.stdout + result.stderr
    assert "alembic" not in result.stdout + result.stderr  # its migration notices are quiet


def count_finished(database: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(database, timeout=1) as connection:
            rows = connection.execute(
                "SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')"
            )
            return rows.fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_submitit_local_runs_a_two_job_sweep(tmp_path) -> None:
    result = run_cli(
        [
            "-m",
            "hydra/launcher=submitit_local",
            "optimizer=sgd,adam",
            "trainer.max_epochs=2",
            "logger=none",
        ],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sweep_jobs(tmp_path)
    assert [read_summary(j)["optimizer"]["name"] for j in jobs] == ["sgd", "adam"]
    assert all(read_summary(j)["status"] == "completed" for j in jobs)
    # progress, read from the jobs' records: their Hydra hooks run in submitit's processes
    assert "sweep: 2 of 2 jobs done (job " in result.stderr
    assert "sweep finished: 2 jobs in " in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "parallel"])
def test_ddp_cpu_inside_a_multirun(launcher: str, tmp_path) -> None:
    result = run_cli(
        [
            "-m",
            f"hydra/launcher={launcher}",
            "trainer=ddp_cpu",
            "optimizer=sgd,adam",
            "trainer.max_epochs=2",
        ],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sweep_jobs(tmp_path)
    assert len(jobs) == 2
    assert not (tmp_path / "logs" / "runs").exists()  # no stray single-run dirs from children
    # no warning repeated by every rank: the epoch-level logs are synced, the notices quiet
    assert "It is recommended to use" not in result.stderr and "LeafSpec" not in result.stderr
    for job in jobs:
        summary = read_summary(job)
        assert summary["status"] == "completed" and summary["epochs"] == 2
        assert len(list((job / "wandb").glob("offline-run-*"))) == 1
        # batch_size is per process: 359 samples over 2 ranks, batches of 32 -> 6 steps an epoch
        # (`step` is the index of the epoch's last step; one process would give 11, 23)
        assert [row["step"] for row in read_metrics(job)] == [5, 11]


@pytest.mark.parametrize(
    "launcher", ["basic", pytest.param("parallel", marks=pytest.mark.slow)]
)  # parallel: make test-slow
def test_a_sweep_shows_its_progress_and_its_end(launcher: str, tmp_path) -> None:
    sweep = tmp_path / "sweep"
    result = run_cli(
        [
            "-m",
            f"hydra/launcher={launcher}",
            "optimizer.lr=0.001,-1",
            "trainer.max_epochs=1",
            "logger=none",
            "diagnostics=none",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("sweep")]
    assert lines[0] == f"sweep: 2 jobs in {sweep}"
    assert lines[1].startswith("sweep: 1 of 2 jobs done (job ")  # either may end first (joblib)
    assert lines[1].endswith("left")  # an estimate of the time left
    assert lines[2].startswith("sweep: 2 of 2 jobs done (job ")
    assert lines[2].endswith("; 1 completed, 1 failed, 0 diverged")
    assert lines[3] == f"sweep finished: 2 jobs in {sweep}: 1 completed, 1 failed, 0 diverged"
    assert f"regopt-report {sweep}" in result.stderr
    assert "resume it with" not in result.stderr


@pytest.mark.slow
def test_a_stopped_sweep_says_how_to_resume_and_its_report_lists_jobs_never_started(
    tmp_path,
) -> None:
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "optimizer=sgd,adam",
        "trainer.max_epochs=400",
        "logger=none",
        "diagnostics=none",
        f"hydra.sweep.dir={sweep}",
    ]
    last = sweep / "0" / "checkpoints" / "last.ckpt"
    returncode, err = run_cli_then_sigterm(args, tmp_path, last.is_file)
    assert returncode != 0
    summary = read_summary(sweep / "0")
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGTERM", err[-3000:]
    assert not (sweep / "1").exists()
    (line,) = [line for line in err.splitlines() if line.startswith("resume it with: ")]
    command = shlex.split(line.removeprefix("resume it with: "))
    assert command == ["regopt-train", *args, "resume=auto"]

    from regopt.report.collect import load_runs

    runs = load_runs(sweep)
    assert [(r.name, r.status, r.overrides.get("optimizer")) for r in runs] == [
        ("0", "interrupted", "sgd"),
        ("1", "not started", "adam"),
    ]

    # the printed command resumes the sweep (trainer.max_epochs may change on resume)
    shorter = [a if a != "trainer.max_epochs=400" else "trainer.max_epochs=3" for a in command]
    resumed = run_cli(shorter[1:], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [read_summary(sweep / n)["status"] for n in ("0", "1")] == ["completed", "completed"]
    assert read_summary(sweep / "0")["resumed_from"].endswith("last.ckpt")
