"""One W&B run per job across `resume=auto`: one id in every process's record, each epoch once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, read_metrics, read_summary, run_cli
from regopt.tracking.offline_records import read_run
from regopt.tracking.wandb_resume import ID_FILE, EpochStepWandbLogger, logged_before
from test_resume import checkpoint_epoch

TIME_KEYS = {"_step", "_runtime", "_timestamp"}


def records_in_start_order(run_dir: Path) -> list[dict]:
    # offline-run-<time>-<id>, then -<id>-1 when a second process starts within the same second
    paths = sorted(
        run_dir.glob("wandb/offline-run-*/run-*.wandb"),
        key=lambda p: (p.parent.name.split("-")[2], len(p.parent.name)),
    )
    return [read_run(p) for p in paths]


@pytest.mark.slow
def test_resumed_job_continues_its_wandb_run_with_every_epoch_once(tmp_path) -> None:
    run_dir = tmp_path / "job"
    common = ["regularizer=none", "optimizer=sgd", f"hydra.run.dir={run_dir}"]
    first = run_cli([*common, "trainer.max_epochs=3"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    wandb_id = (run_dir / ID_FILE).read_text().strip()
    again = run_cli([*common, "trainer.max_epochs=5", "resume=auto"], tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert read_summary(run_dir)["resumed_from"].endswith("last.ckpt")
    assert (run_dir / ID_FILE).read_text().strip() == wandb_id

    # wandb 0.31 offline: one offline-run dir per process, both holding the one run id
    runs = records_in_start_order(run_dir)
    assert len(runs) == 2
    assert [r["run"]["id"] for r in runs] == [wandb_id, wandb_id]
    assert all(
        p.name.endswith(wandb_id) or p.name.endswith(f"{wandb_id}-1")
        for p in run_dir.glob("wandb/offline-run-*")
    )
    epochs = [[row["epoch"] for row in r["history"]] for r in runs]
    assert epochs == [[0, 1, 2], [3, 4]]  # one row per epoch, the resumed record goes on
    rows = [row for r in runs for row in r["history"]]
    assert [row["_step"] for row in rows] == list(range(5))  # W&B's step is the epoch
    pairs = [(row["epoch"], key) for row in rows for key in row if key not in TIME_KEYS]
    assert len(pairs) == len(set(pairs))
    # the values are the local record's (metrics.csv rows, rewritten whole by the resumed run)
    local = read_metrics(run_dir)
    assert [r["epoch"] for r in local] == list(range(5))
    assert [row["gap/loss"] for row in rows] == [r["gap/loss"] for r in local]
    assert [row["val/loss"] for row in rows] == [r["val/loss"] for r in local]
    assert runs[1]["finished"] and runs[1]["summary"]["status"] == "completed"
    assert runs[1]["config"]["choices/optimizer"] == "sgd"

    # a third process (say, after a kill mid-epoch) skips what the two records already hold
    seen = logged_before(run_dir, wandb_id)
    assert sorted(seen) == list(range(5)) and "gap/loss" in seen[3]

    # a new job in the same dir (no resume=auto) is a new W&B run, with all of its own epochs
    fresh = run_cli([*common, "trainer.max_epochs=2"], tmp_path)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    new_id = (run_dir / ID_FILE).read_text().strip()
    assert new_id != wandb_id
    (record,) = run_dir.glob(f"wandb/offline-run-*-{new_id}/run-{new_id}.wandb")
    assert [row["epoch"] for row in read_run(record)["history"]] == [0, 1]


class FakeRun:
    def __init__(self) -> None:
        self.logged: list[tuple[dict, int]] = []

    def log(self, row: dict, step: int) -> None:
        self.logged.append((row, step))


def test_an_epoch_partly_logged_before_a_kill_is_completed_not_repeated() -> None:
    logger = EpochStepWandbLogger(logged={2: {"epoch", "val/loss"}}, mode="offline")
    logger._experiment = FakeRun()
    logger.log_metrics({"epoch": 2, "val/loss": 0.5}, step=10)  # already in an earlier record
    logger.log_metrics({"epoch": 2, "val/loss": 0.5, "train/loss": 0.4}, step=10)
    logger.log_metrics({"opt/lr": 0.1}, step=10)  # no epoch: joins the latest one
    logger.log_metrics({"epoch": 3, "val/loss": 0.6}, step=15)
    assert logger._experiment.logged == [
        ({"epoch": 2, "train/loss": 0.4, "trainer/global_step": 10}, 2),
        ({"epoch": 2, "opt/lr": 0.1, "trainer/global_step": 10}, 2),
        ({"epoch": 3, "val/loss": 0.6, "trainer/global_step": 15}, 3),
    ]


def test_a_record_torn_by_a_kill_is_read_up_to_its_last_whole_chunk(tmp_path) -> None:
    run_dir = tmp_path / "job"
    result = run_cli(
        ["trainer.max_epochs=4", "diagnostics=none", f"hydra.run.dir={run_dir}"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    wandb_id = (run_dir / ID_FILE).read_text().strip()
    (record,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    whole = logged_before(run_dir, wandb_id)
    assert sorted(whole) == [0, 1, 2, 3]
    data = record.read_bytes()
    record.write_bytes(data[: len(data) * 2 // 3])  # cut mid-chunk, as a SIGKILL can
    torn = logged_before(run_dir, wandb_id)
    assert torn and set(torn) <= set(whole)
    assert all(torn[e] <= whole[e] for e in torn)


@pytest.mark.slow
@pytest.mark.parametrize("parent_service", [False, True])
def test_a_killed_job_resumed_leaves_every_epoch_once_across_its_records(
    tmp_path, parent_service: bool
) -> None:
    """SIGKILL mid-training, then resume=auto: whatever the kill interrupted (with wandb 0.31 the
    killed record often holds nothing), each epoch's keys are in exactly one of the run's
    records, with the value of the local record. Also when both processes are started by one
    that runs W&B itself (they inherit its service's address, and must not join it)."""
    run_dir = tmp_path / "job"
    args = [
        "regularizer=none",
        "diagnostics.gradients.every_n_epochs=1",
        f"hydra.run.dir={run_dir}",
    ]
    env = {**os.environ, "REGOPT_ROOT": str(tmp_path)}
    if parent_service:
        import wandb

        wandb.init(project="parent", dir=str(tmp_path), mode="offline").finish()
        env["WANDB_SERVICE"] = os.environ["WANDB_SERVICE"]  # the address wandb saved
    proc = subprocess.Popen(
        [sys.executable, "-m", "regopt.train", *args, "trainer.max_epochs=400"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and checkpoint_epoch(last) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed_at = checkpoint_epoch(last)
    assert resumed_at >= 2
    time.sleep(2)  # W&B's own service process notices its parent is gone
    result = subprocess.run(
        [sys.executable, "-m", "regopt.train", *args, f"trainer.max_epochs={resumed_at + 2}"]
        + ["resume=auto"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "W&B could not start" not in result.stderr, result.stderr[-3000:]

    wandb_id = (run_dir / ID_FILE).read_text().strip()
    dirs = list(run_dir.glob("wandb/offline-run-*"))
    assert len(dirs) == 2 and all(d.name.split("-")[3] == wandb_id for d in dirs)
    runs = records_in_start_order(run_dir)
    # the killed process's record may hold nothing, or be missing (wandb had not written it yet)
    # (under load the killed one's may be torn anywhere, its run record included)
    assert 1 <= len(runs) <= 2 and wandb_id in {r["run"].get("id") for r in runs}
    assert all(r["run"].get("id") in (None, wandb_id) for r in runs)
    rows = [row for r in runs for row in r["history"]]
    pairs = [(row["epoch"], key) for row in rows for key in row if key not in TIME_KEYS]
    assert len(pairs) == len(set(pairs))
    local = {r["epoch"]: r for r in read_metrics(run_dir)}
    assert sorted(local) == list(range(resumed_at + 2))
    assert {row["epoch"] for row in rows} == set(local)
    for row in rows:  # W&B holds what metrics.csv holds, epoch by epoch
        for key in ("val/loss", "gap/loss", "train/loss"):
            if key in row:
                assert row[key] == pytest.approx(local[row["epoch"]][key], rel=1e-6)
    steps = [row["_step"] for r in runs for row in r["history"]]
    assert steps == sorted(steps)  # rising across the two records
