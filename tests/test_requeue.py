"""Which checkpoint a requeued SLURM job continues (the whole path, on a real cluster, is in
tests/test_slurm.py, slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from regopt.pipeline import resume_checkpoint
from regopt.scale import requeued_resume


def checkpoint(path: Path, epoch: int, step: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "global_step": step}, path)
    return path


@pytest.fixture
def under_slurm(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    monkeypatch.setenv("SLURM_NTASKS", "1")
    return monkeypatch


def test_a_requeued_job_resumes_unless_told_otherwise(under_slurm: pytest.MonkeyPatch) -> None:
    assert requeued_resume(None) is None  # the first start
    under_slurm.setenv("SLURM_RESTART_COUNT", "1")
    assert requeued_resume(None) == "auto"
    assert requeued_resume("newest_readable") == "newest_readable"


def test_last_ckpt_wins_over_a_newer_mid_epoch_hpc_checkpoint(
    under_slurm: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    last = checkpoint(tmp_path / "checkpoints" / "last.ckpt", epoch=3, step=48)
    checkpoint(tmp_path / "hpc_ckpt_1.ckpt", epoch=4, step=55)
    assert resume_checkpoint("auto", tmp_path) == last


def test_with_no_epoch_ended_the_newest_hpc_checkpoint_is_continued(
    under_slurm: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checkpoint(tmp_path / "hpc_ckpt_2.ckpt", epoch=0, step=3)
    newest = checkpoint(tmp_path / "hpc_ckpt_10.ckpt", epoch=0, step=9)  # by number, not by name
    assert resume_checkpoint("auto", tmp_path) == newest
    under_slurm.delenv("SLURM_NTASKS")  # outside SLURM Lightning never looks there: neither do we
    assert resume_checkpoint("auto", tmp_path) is None
