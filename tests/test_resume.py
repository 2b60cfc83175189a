"""A killed run resumes to exactly where it would have been; checkpoints are data, never code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from conftest import ROOT, read_metrics, read_summary, run_cli

ARGS = [
    "trainer.max_epochs=8",
    "logger=none",
    "regularizer=[l1,l2]",
    "data.label_noise=0.2",
    "model.dropout=0.3",
]  # dropout: the random stream must resume too


def test_sigkill_then_resume_gives_the_uninterrupted_metrics(tmp_path) -> None:
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    result = run_cli([*ARGS, f"hydra.run.dir={straight}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    env = {**os.environ, "REGOPT_ROOT": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "regopt.train", *ARGS, f"hydra.run.dir={killed}",
         "trainer.max_epochs=400"],  # long enough that the kill lands mid-training
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
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
    result = run_cli(["trainer.max_epochs=1", "logger=none", f"hydra.run.dir={run_dir}",
                      "resume=auto"], tmp_path)  # fmt: skip
    assert result.returncode != 0
    assert "weights_only" in result.stderr or "Unpickl" in result.stderr
    assert not marker.exists()
    assert read_summary(run_dir)["status"] == "failed"


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path) -> None:
    """A sweep rerun in its sweep dir with other values: job 1 is now another job, and must not
    continue job 1's old checkpoint (weights and optimiser state of the old config)."""
    sweep = tmp_path / "sweep"
    common = ["-m", f"hydra.sweep.dir={sweep}", "logger=none", "diagnostics=none"]
    first = run_cli([*common, "optimizer.lr=0.001,0.002", "trainer.max_epochs=1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    again = run_cli([*common, "optimizer.lr=0.001,0.005", "trainer.max_epochs=2", "resume=auto"],
                    tmp_path)  # fmt: skip
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
