"""A killed run resumes to exactly where it would have been; checkpoints are data, never code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import (
    ROOT,
    read_metrics,
    read_summary,
    regularizer_overrides,
    regularizers,
    run_cli,
    run_job,
)

ARGS = [
    "trainer.max_epochs=8",
    "logger=none",
    "regularizer=[l1,l2]",
    "data.label_noise=0.2",
    "model.dropout=0.3",
]  # dropout: the random stream must resume too


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_metrics(tmp_path) -> None:
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    result = run_cli([*ARGS, f"hydra.run.dir={straight}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    env = {**os.environ, "REGOPT_ROOT": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regopt.train",
            *ARGS,
            f"hydra.run.dir={killed}",
            "trainer.max_epochs=400",
        ],  # long enough that the kill lands mid-training
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = killed / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        # the checkpoint, not metrics.csv (rewritten at most every 2 s: on a fast machine the kill
        # then landed past epoch 8, which the resumed run below would never reach back)
        if checkpoint_epoch(last) >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert 2 <= checkpoint_epoch(last) < 8, "the kill must land inside the 8 epochs compared"
    assert read_summary(killed)["status"] == "running"  # what a killed run leaves behind

    result = run_cli([*ARGS, f"hydra.run.dir={killed}", "resume=auto"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming from" in result.stdout + result.stderr
    resumed = read_summary(killed)
    assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("last.ckpt")
    # CPU, same threads, same seed: bit-exact (data order from (seed, epoch), RNG in checkpoints)
    assert read_metrics(killed) == read_metrics(straight)
    assert resumed["best"] == read_summary(straight)["best"]


SHORT = ["data.train_fraction=0.1", "model.widths=[32]", "diagnostics=none", "threads=1"]


@pytest.mark.parametrize("name", regularizers())
def test_every_regularizer_resumes_exactly(name: str, tmp_path) -> None:
    """The in-process variant, for every regulariser in conf/regularizer/: a run stopped after
    2 of 4 epochs and resumed from its last checkpoint ends with the uninterrupted run's record
    (its random stream included: dropout masks, noise, mixup's lam and pairing)."""
    args = [*SHORT, *regularizer_overrides(name)]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    run_job([*args, "trainer.max_epochs=4"], straight)
    assert run_job([*args, "trainer.max_epochs=2"], stopped)["epochs"] == 2
    resumed = run_job([*args, "trainer.max_epochs=4", "resume=auto"], stopped)
    assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("last.ckpt")
    assert len(read_metrics(stopped)) == 4
    assert read_metrics(stopped) == read_metrics(straight)
    assert resumed["best"] == read_summary(straight)["best"]


def checkpoint_epoch(path: Path) -> int:
    """The epoch a checkpoint resumes at; -1 while it is missing or half-written."""
    try:
        return int(torch.load(path, weights_only=True, map_location="cpu")["epoch"])
    except Exception:  # noqa: BLE001 - not there yet, or being written
        return -1


class Malicious:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_checkpoint_is_refused_not_executed(tmp_path) -> None:
    run_dir = tmp_path / "run"
    marker = tmp_path / "pwned"
    payload = Malicious()
    payload.marker = marker
    (run_dir / "checkpoints").mkdir(parents=True)
    torch.save({"state_dict": payload}, run_dir / "checkpoints" / "last.ckpt")
    result = run_cli(
        ["trainer.max_epochs=1", "logger=none", f"hydra.run.dir={run_dir}", "resume=auto"], tmp_path
    )
    assert result.returncode == 2  # refused before anything is written, in one line
    (line,) = result.stderr.strip().splitlines()
    assert "UnpicklingError" in line and "last.ckpt is unreadable" in line
    assert not marker.exists()
    assert sorted(p.name for p in run_dir.iterdir()) == [".hydra", "checkpoints", "train.log"]


@pytest.mark.slow
def test_resume_refuses_a_checkpoint_of_another_config(tmp_path) -> None:
    """A sweep rerun in its sweep dir with other values: job 1 is now another job, and must not
    continue job 1's old checkpoint (weights and optimiser state of the old config)."""
    sweep = tmp_path / "sweep"
    common = ["-m", f"hydra.sweep.dir={sweep}", "logger=none", "diagnostics=none"]
    first = run_cli([*common, "optimizer.lr=0.001,0.002", "trainer.max_epochs=1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    again = run_cli(
        [*common, "optimizer.lr=0.001,0.005", "trainer.max_epochs=2", "resume=auto"], tmp_path
    )
    assert again.returncode == 0, again.stderr[-3000:]
    same, changed = read_summary(sweep / "0"), read_summary(sweep / "1")
    assert same["status"] == "completed" and same["epochs"] == 2  # max_epochs may change
    assert same["resumed_from"].endswith("last.ckpt")
    assert changed["status"] == "failed"
    assert "another config" in changed["error"]
    assert "optimizer.lr: 0.002 -> 0.005" in changed["error"]

    rows = read_metrics(sweep / "0")  # a completed run, resumed as it is: nothing more trained
    done = run_cli([*common, "optimizer.lr=0.001", "trainer.max_epochs=2", "resume=auto"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert read_metrics(sweep / "0") == rows
    assert read_summary(sweep / "0")["status"] == "completed"
    assert read_summary(sweep / "0")["best"] == same["best"]


def cut(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def record_bytes(run_dir: Path) -> dict[str, bytes]:
    return {
        name: (run_dir / name).read_bytes()
        for name in ("summary.json", "metrics.csv", "config.yaml")
    }


@pytest.mark.slow
def test_an_unreadable_last_checkpoint_is_refused_leaving_the_record_as_it_was(tmp_path) -> None:
    run_dir = tmp_path / "run"
    args = ["logger=none", f"hydra.run.dir={run_dir}"]
    assert run_cli([*args, "trainer.max_epochs=3"], tmp_path).returncode == 0
    checkpoints = run_dir / "checkpoints"
    (checkpoints / "epoch_2.ckpt").write_bytes((checkpoints / "last.ckpt").read_bytes())
    args.append("trainer.max_epochs=5")
    extended = run_cli([*args, "resume=auto"], tmp_path)
    assert extended.returncode == 0, extended.stderr[-3000:]
    before, rows = record_bytes(run_dir), read_metrics(run_dir)
    assert len(rows) == 5
    cut(checkpoints / "last.ckpt", 1000)

    refused = run_cli([*args, "resume=auto"], tmp_path)
    assert refused.returncode == 2, refused.stderr[-3000:]
    (line,) = refused.stderr.strip().splitlines()  # one line, no traceback
    assert str(checkpoints / "last.ckpt") in line and "unreadable" in line
    assert "resume=newest_readable" in line
    assert record_bytes(run_dir) == before  # byte for byte

    # the explicit fallback: with best.ckpt unreadable too, the newest that loads is the end of
    # epoch 2; epochs 3 and 4 are trained again, to the same numbers (batch order, RNG resume)
    cut(checkpoints / "best.ckpt", 1000)
    fallback = run_cli([*args, "resume=newest_readable"], tmp_path)
    assert fallback.returncode == 0, fallback.stderr[-3000:]
    assert "epoch_2.ckpt" in fallback.stdout + fallback.stderr
    summary = read_summary(run_dir)
    assert summary["status"] == "completed" and summary["resumed_from"].endswith("epoch_2.ckpt")
    assert read_metrics(run_dir) == rows
    assert summary["best"] == json.loads(before["summary.json"])["best"]
    assert checkpoint_epoch(checkpoints / "last.ckpt") == 4  # readable again: the end of epoch 4


@pytest.mark.slow
def test_newest_readable_refuses_when_no_checkpoint_loads(tmp_path) -> None:
    run_dir = tmp_path / "run"
    args = ["trainer.max_epochs=2", "logger=none", "diagnostics=none", f"hydra.run.dir={run_dir}"]
    assert run_cli(args, tmp_path).returncode == 0
    before = record_bytes(run_dir)
    for checkpoint in (run_dir / "checkpoints").glob("*.ckpt"):
        cut(checkpoint, 1000)
    refused = run_cli([*args, "resume=newest_readable"], tmp_path)
    assert refused.returncode == 2, refused.stderr[-3000:]
    (line,) = refused.stderr.strip().splitlines()
    assert "no readable checkpoint" in line and "best.ckpt" in line and "last.ckpt" in line
    assert record_bytes(run_dir) == before


@pytest.mark.slow
def test_resuming_a_finished_run_keeps_its_wall_time(tmp_path) -> None:
    run_dir = tmp_path / "run"
    args = ["trainer.max_epochs=5", "logger=none", "diagnostics=none", f"hydra.run.dir={run_dir}"]
    assert run_cli(args, tmp_path).returncode == 0
    trained = read_summary(run_dir)["wall_time_s"]
    again = run_cli([*args, "resume=auto"], tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = read_summary(run_dir)
    assert resumed["resumed_from"].endswith("last.ckpt") and resumed["epochs"] == 5
    # the time up to the last checkpoint (the end of the last epoch) plus this start's
    assert resumed["wall_time_s"] >= 0.9 * trained


def start_long_run(run_dir: Path, root: Path, extra: list[str] = ()) -> subprocess.Popen:
    env = {**os.environ, "REGOPT_ROOT": str(root)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "regopt.train",
            "logger=none",
            "diagnostics=none",
            "trainer.max_epochs=400",
            f"hydra.run.dir={run_dir}",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_epoch(proc: subprocess.Popen, last: Path, epoch: int = 1) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and checkpoint_epoch(last) < epoch:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"


@pytest.mark.slow
def test_ctrl_c_and_sigterm_record_an_interrupted_run(tmp_path) -> None:
    for sent in (signal.SIGINT, signal.SIGTERM):
        run_dir = tmp_path / sent.name
        proc = start_long_run(run_dir, tmp_path)
        wait_for_epoch(proc, run_dir / "checkpoints" / "last.ckpt")
        proc.send_signal(sent)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0
        summary = read_summary(run_dir)
        assert summary["status"] == "interrupted", err[-3000:]
        assert summary["signal"] == sent.name and "error" not in summary
        assert summary["epochs"] >= 1
        assert f"hydra.run.dir={run_dir} resume=auto" in err  # how to continue it
        assert "sweep" not in err  # a sweep's progress lines: none for a single run
