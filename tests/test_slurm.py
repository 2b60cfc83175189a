"""The slurm launcher on a real one-node SLURM cluster (scripts/slurm_local.sh): sbatch through
submitit, failures, preemption with requeue and resume, DDP over srun's tasks."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, read_metrics, read_summary, run_cli
from test_resume import checkpoint_epoch

pytestmark = pytest.mark.slow
SCRIPT = ROOT / "scripts" / "slurm_local.sh"
SLURM = ["-m", "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1"]  # 2 jobs on 2 CPUs


def cluster(command: str, directory: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SLURM_LOCAL_DIR": str(directory), "SLURM_LOCAL_CPUS": "2"}
    return subprocess.run(
        [str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=600
    )


def scratch_dir() -> Path:
    """Outside pytest's private tmp dirs: munged, run as the munge user, must reach its socket."""
    directory = Path(tempfile.mkdtemp(prefix="regopt-slurm-"))
    directory.chmod(0o755)
    return directory


@pytest.fixture(scope="session")
def slurm_env() -> Iterator[dict[str, str]]:
    """A cluster for the session; stopped at its end, also when a test (or `up`) failed."""
    directory = scratch_dir()
    try:
        started = cluster("up", directory)
        assert started.returncode == 0, started.stderr[-3000:]
        yield {"SLURM_CONF": str(directory / "slurm.conf")}
    finally:
        stopped = cluster("down", directory)
        left = processes_in(directory)
        shutil.rmtree(directory, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr[-3000:]
        assert not left, f"processes left after down: {left}"


def processes_in(directory: Path) -> list[int]:
    """Processes whose command line names `directory` (the daemons of that cluster)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(directory) in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def slurm(env: dict[str, str], *args: str) -> str:
    full_env = {**os.environ, **env}
    done = subprocess.run(list(args), env=full_env, capture_output=True, text=True, timeout=60)
    return done.stdout


def job_state(env: dict[str, str], job: str) -> dict[str, str]:
    """`scontrol show job` as key=value pairs (the cluster keeps ended jobs for MinJobAge)."""
    text = slurm(env, "scontrol", "show", "job", "--oneliner", job)
    return dict(re.findall(r"(\w+)=(\S*)", text))


def ended_job_state(env: dict[str, str], job: str, timeout: float = 60) -> dict[str, str]:
    """The job's state once it has ended: submitit reads a job's result as soon as the job has
    written it, while its process may still be exiting."""
    deadline = time.monotonic() + timeout
    while (state := job_state(env, job)).get("JobState") in ("RUNNING", "COMPLETING"):
        assert time.monotonic() < deadline, f"job {job} still {state['JobState']}"
        time.sleep(0.5)
    return state


def sweep_jobs(sweep: Path) -> list[Path]:
    return sorted(
        (p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)
    )


def wandb_run_ids(job: Path) -> set[str]:
    return {p.name.rsplit("-", 1)[1] for p in (job / "wandb").glob("offline-run-*")}


def slurm_job_id(summary: dict) -> str:
    ids = summary["slurm"]
    if "array_job_id" in ids:
        return f"{ids['array_job_id']}_{ids['array_task_id']}"
    return ids["job_id"]


def slurm_ports(directory: Path) -> list[int]:
    conf = (directory / "slurm.conf").read_text()
    return [int(p) for p in re.findall(r"^Slurm(?:ctld|d)Port=(\d+)$", conf, re.M)]


def test_up_and_down_leave_nothing_running_even_after_a_half_failed_start() -> None:
    directory = scratch_dir()
    try:
        assert cluster("up", directory).returncode == 0
        ports = slurm_ports(directory)
        pids = dict(line.split() for line in cluster("status", directory).stdout.splitlines())
        assert set(pids) == {"munged", "slurmctld", "slurmd"}
        os.kill(int(pids["slurmctld"]), 9)  # half up: the controller gone, the others running
        time.sleep(0.5)
        assert cluster("up", directory).returncode == 0  # starts again from nothing
        ports += slurm_ports(directory)
        assert len(cluster("status", directory).stdout.splitlines()) == 3
    finally:
        stopped = cluster("down", directory)
        again = cluster("down", directory)  # idempotent
        status = cluster("status", directory).stdout
        left = processes_in(directory)
        shutil.rmtree(directory, ignore_errors=True)
    assert stopped.returncode == 0 and again.returncode == 0
    assert status == "" and not left
    assert all(not Path(f"/proc/{pid}").exists() for pid in map(int, pids.values()))
    for port in ports:  # freed: no one listens there (connections in TIME_WAIT may remain)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))


def test_a_sweep_runs_one_slurm_job_per_job_with_its_record_and_wandb_run(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    result = run_cli(
        [*SLURM, "seed=0,1", "trainer.max_epochs=2", f"hydra.sweep.dir={sweep}"],
        tmp_path,
        env=slurm_env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sweep_jobs(sweep)
    assert [read_summary(job)["seed"] for job in jobs] == [0, 1]
    ids = [slurm_job_id(read_summary(job)) for job in jobs]
    # submitit names each job's folder after the job id it got from sbatch
    assert sorted(ids) == sorted(
        p.name for p in (sweep / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", p.name)
    )
    for job, job_id in zip(jobs, ids, strict=True):
        summary = read_summary(job)
        assert summary["status"] == "completed" and summary["epochs"] == 2
        assert (
            len(wandb_run_ids(job)) == 1 and len(list((job / "wandb").glob("offline-run-*"))) == 1
        )
        state = ended_job_state(slurm_env, job_id)  # what SLURM itself says of that job
        assert state["JobState"] == "COMPLETED" and state["ExitCode"] == "0:0"
        assert state["WorkDir"] == str(ROOT)
    assert not (tmp_path / "logs" / "runs").exists()


def test_failed_and_diverged_slurm_jobs_are_recorded_and_the_sweep_goes_on(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    # cnn1d fails while its job builds it (digits are 8x8 images); lr 1e8 diverges
    result = run_cli(
        [
            *SLURM,
            "optimizer=sgd",
            "optimizer.lr=0.05,1e8",
            "model=mlp,cnn1d",
            "trainer.max_epochs=2",
            "logger=none",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
        env=slurm_env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summaries = [read_summary(job) for job in sweep_jobs(sweep)]
    assert [s["status"] for s in summaries] == ["completed", "failed", "diverged", "failed"]
    assert "needs (channels, length)" in summaries[1]["error"]
    assert "sweep finished: 4 jobs in " in result.stderr


PREEMPTED = [
    "trainer.max_epochs=60",
    "regularizer=[l1,l2]",
    "data.label_noise=0.2",
    "model.dropout=0.3",
]  # dropout: the random stream must resume too


def test_a_signalled_job_saves_is_requeued_and_resumes_to_the_uninterrupted_metrics(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    """SLURM's warning signal before a time limit (`--signal=USR1@...`; here `scancel --signal`):
    Lightning's SLURMEnvironment(auto_requeue=True) saves hpc_ckpt_1.ckpt and requeues the job;
    the new start resumes by itself (SLURM_RESTART_COUNT) from last.ckpt.

    Checked to fail without either half: with Lightning's auto-requeue handler not registered
    (its `environment.auto_requeue` test in signal_connector.py made false) USR1 kills the job,
    which is never requeued (the loop below fails); with `requeued_resume` returning the setting
    unchanged, Lightning continues its mid-epoch hpc checkpoint by itself and the metrics differ
    from the uninterrupted run's from the signalled epoch on.
    """
    straight = tmp_path / "straight"
    result = run_cli(
        [*PREEMPTED, "threads=1", "logger=none", f"hydra.run.dir={straight}"], tmp_path
    )  # threads: as the SLURM job's cpus_per_task=1
    assert result.returncode == 0, result.stderr[-3000:]

    sweep = tmp_path / "sweep"
    log = (tmp_path / "sweep.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "regopt.train", *SLURM, *PREEMPTED, f"hydra.sweep.dir={sweep}"],
        cwd=ROOT,
        env={**os.environ, "REGOPT_ROOT": str(tmp_path), **slurm_env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    job_dir = sweep / "0"
    last = job_dir / "checkpoints" / "last.ckpt"
    try:
        deadline = time.monotonic() + 300
        while checkpoint_epoch(last) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, "the job never trained"
            time.sleep(0.05)
        job = slurm_job_id(read_summary(job_dir))
        slurm(slurm_env, "scancel", "--signal=USR1", job)
        signalled_at = checkpoint_epoch(last)
        # requeued jobs wait ~120 s before they may start again (EligibleTime): release at once
        while proc.poll() is None:
            assert time.monotonic() < deadline, "the job was not requeued and finished"
            state = job_state(slurm_env, job).get("JobState")
            assert state in ("RUNNING", "COMPLETING", "PENDING", "REQUEUED", "COMPLETED"), (
                f"job {job} ended {state}, not requeued"
            )  # a job killed before its result is written: submitit would wait for ever
            if state == "PENDING":
                slurm(slurm_env, "scontrol", "update", f"JobId={job}", "StartTime=now")
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    assert proc.returncode == 0, (tmp_path / "sweep.log").read_text()[-3000:]
    assert signalled_at < 59, "the signal must land before the run's end"
    assert (job_dir / "hpc_ckpt_1.ckpt").is_file()  # Lightning's save at the signal
    # CPU, one thread, same seed: bit-exact (the partial epoch after last.ckpt is trained again)
    assert read_metrics(job_dir) == read_metrics(straight)
    resumed = read_summary(job_dir)
    assert resumed["slurm"]["restart_count"] == "1"
    assert resumed["status"] == "completed" and resumed["resumed_from"] == str(last)
    assert resumed["best"] == read_summary(straight)["best"]
    assert len(wandb_run_ids(job_dir)) == 1  # the requeued start continued the job's W&B run


def test_ddp_cpu_runs_on_two_slurm_tasks_with_one_record_per_job(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    """Lightning's SLURM environment joins srun's 2 tasks. Checked to fail when ddp_spawn is
    kept (regopt.scale.adapt_strategy_for_sweeps): each task spawns ranks of its own and the
    job hangs."""
    sweep = tmp_path / "sweep"
    result = run_cli(
        [
            *SLURM,
            "hydra.launcher.tasks_per_node=2",
            "trainer=ddp_cpu",
            "optimizer=sgd,adam",
            "trainer.max_epochs=2",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
        env=slurm_env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sweep_jobs(sweep)
    assert len(jobs) == 2 and not (tmp_path / "logs" / "runs").exists()
    for job in jobs:
        summary = read_summary(job)
        assert summary["status"] == "completed" and summary["slurm"]["tasks"] == "2"
        assert len(list((job / "wandb").glob("offline-run-*"))) == 1
        # two ranks (srun's tasks, not spawned ones): 359 samples, batches of 32 -> 6 steps an epoch
        assert [row["step"] for row in read_metrics(job)] == [5, 11]
        assert "using strategy=ddp instead of ddp_spawn" in (job / "train.log").read_text()


def test_a_pruned_optuna_study_runs_its_trials_as_slurm_jobs_through_a_journal_file(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    """Each trial is a SLURM job that reports to the study through Optuna's journal file (the
    storage for a cluster without a database); the sweeper tells the study what each record says."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from test_sweeps import SMALL_STUDY

    sweep, journal = tmp_path / "sweep", tmp_path / "study.log"
    result = run_cli(
        [
            *SMALL_STUDY,
            *SLURM[1:],
            f"hparams_search.storage=journal://{journal}",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.n_trials=4",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
        env=slurm_env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    storage = JournalStorage(JournalFileBackend(str(journal)))
    trials = optuna.load_study(study_name="optuna", storage=storage).get_trials(deepcopy=False)
    assert len(trials) == 4 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    for trial in trials:  # each trial ran as its own SLURM job and its record says what it told
        summary = read_summary(sweep / str(trial.number))
        assert summary["status"] == {"COMPLETE": "completed", "PRUNED": "pruned"}[trial.state.name]
        assert sorted(trial.intermediate_values) == list(range(summary["epochs"]))
        assert ended_job_state(slurm_env, slurm_job_id(summary))["JobState"] == "COMPLETED"
