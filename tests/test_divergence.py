"""A non-finite training loss stops the run at that step: recorded as diverged, with the
completed epochs' metrics and the last good (finite) checkpoint."""

from __future__ import annotations

import pytest
import torch

from conftest import read_metrics, read_summary, run_cli, run_job

# SGD at lr 0.05 trains normally in epoch 0; StepLR then multiplies lr by 1e9 for epoch 1, where
# the loss stops being finite within a few steps. 359 training samples, batches of 32: 12 steps
# an epoch, so epoch 1 starts at global step 12.
DIVERGES_IN_EPOCH_1 = [
    "optimizer=sgd",
    "scheduler=step",
    "scheduler.step_size=1",
    "scheduler.gamma=1e9",
    "trainer.max_epochs=4",
]


def test_a_non_finite_loss_stops_the_run_keeping_record_and_last_good_checkpoint(
    tmp_path, monkeypatch
):
    from regopt.module import RegOptModule

    steps, modules = [], []  # the optimiser steps taken, and the module that took them
    original = RegOptModule.optimizer_step  # Lightning's step; its closure raises Diverged

    def counting(self, *args, **kwargs):
        modules[:] = [self]
        original(self, *args, **kwargs)
        steps.append(self.global_step)

    monkeypatch.setattr(RegOptModule, "optimizer_step", counting)
    summary = run_job(DIVERGES_IN_EPOCH_1, tmp_path)
    assert summary["status"] == "diverged"
    at = summary["diverged_at"]
    assert at["epoch"] == 1 and 12 <= at["step"] < 24  # inside epoch 1, stopped at once
    assert at["loss"] in ("nan", "inf", "-inf")
    assert summary["verdict"].startswith(f"diverged at epoch 1, step {at['step']}")
    # the bad step was never applied: `step` optimiser steps, and the weights they left are finite
    assert len(steps) == at["step"]
    assert all(torch.isfinite(p).all() for p in modules[0].parameters())
    rows = read_metrics(tmp_path)
    assert [row["epoch"] for row in rows] == [0]  # the completed epoch only
    assert all(torch.isfinite(torch.tensor(v)) for v in rows[0].values())
    assert summary["epochs"] == 1 and summary["best"]["epoch"] == 0
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert (checkpoint["epoch"], checkpoint["global_step"]) == (0, 12)  # end of epoch 0
    tensors = list(checkpoint["state_dict"].values())
    assert tensors and all(torch.isfinite(t).all() for t in tensors)
    assert (tmp_path / "curves.png").is_file()


def test_a_diverged_single_run_exits_zero_with_its_record(tmp_path):
    result = run_cli(
        [*DIVERGES_IN_EPOCH_1, "logger=none", f"hydra.run.dir={tmp_path}/run"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "run diverged: the training loss is" in result.stderr + result.stdout
    assert read_summary(tmp_path / "run")["status"] == "diverged"


@pytest.mark.slow
@pytest.mark.parametrize("check", ["step", "deferred"])
def test_ddp_cpu_divergence_is_recorded_by_rank_zero(tmp_path, check):
    """Under ddp_spawn the child processes die with the exception: the record is written when
    the loss is found, and the parent keeps it. The deferred check gathers every rank's first
    bad step once per epoch."""
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            *DIVERGES_IN_EPOCH_1,
            "trainer=ddp_cpu",
            "logger=none",
            f"divergence_check={check}",
            f"hydra.run.dir={run_dir}",
        ],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = read_summary(run_dir)
    assert summary["status"] == "diverged" and summary["diverged_at"]["epoch"] == 1
    assert [row["epoch"] for row in read_metrics(run_dir)] == [0]


def test_the_deferred_check_finds_the_same_step_reading_once_per_epoch(tmp_path, monkeypatch):
    """`divergence_check=deferred` (the default on an accelerator) reads the device once per
    epoch, not once per step, and stops with the same record as the per-step check."""
    from regopt.module import RegOptModule

    reads = []  # the global step at each read of the device
    original = RegOptModule._check_deferred

    def counting(self):
        if self._watch.unread:  # a read of the device follows
            reads.append(self.global_step)
        original(self)

    monkeypatch.setattr(RegOptModule, "_check_deferred", counting)
    reference = run_job([*DIVERGES_IN_EPOCH_1, "divergence_check=step"], tmp_path / "step")
    assert reference["status"] == "diverged" and reads == []
    summary = run_job([*DIVERGES_IN_EPOCH_1, "divergence_check=deferred"], tmp_path / "deferred")
    assert summary["status"] == "diverged"
    assert summary["diverged_at"] == reference["diverged_at"]  # the same first bad step and loss
    assert reads == [12, 24]  # the ends of epochs 0 and 1 (12 steps each), nothing in between
    rows = read_metrics(tmp_path / "deferred")
    assert rows == read_metrics(tmp_path / "step")  # epoch 0 only, identical
    checkpoint = torch.load(tmp_path / "deferred" / "checkpoints" / "last.ckpt", weights_only=True)
    assert (checkpoint["epoch"], checkpoint["global_step"]) == (0, 12)
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())


def test_a_bad_divergence_check_is_refused_before_training() -> None:
    from conftest import compose_config
    from regopt.config.errors import ConfigError
    from regopt.config.validate import validate_config

    cfg = compose_config(["divergence_check=sometimes"])
    with pytest.raises(ConfigError, match=r"divergence_check='?sometimes'?.*auto, step, deferred"):
        validate_config(cfg)
