"""regopt trains in Lightning's own loop: one batch per training_step, automatic optimisation, and
the Trainer's keys doing what Lightning documents them to do, through the whole pipeline (record,
callbacks and diagnostics attached)."""

from __future__ import annotations

import io

import pytest
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.profilers import SimpleProfiler

from conftest import read_metrics, run_job
from regopt import scale

# 600 training samples in batches of 64: 10 batches (optimiser steps) an epoch
JOB = [
    "data=synthetic",
    "data.n_train=600",
    "data.n_val=200",
    "data.batch_size=64",
    "model.widths=[32]",
    "regularizer=[l2,dropout]",
    "optimizer=adam",
    "trainer.max_epochs=2",
]
BATCHES = 10


class Watch(Callback):
    """The training batches Lightning hands over, and how many validations and batches it runs."""

    def __init__(self) -> None:
        self.train_targets: list[torch.Tensor] = []
        self.validations = 0
        self.val_batches = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.train_targets.append(batch[1].clone())

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *_) -> None:
        self.val_batches += 1

    def on_validation_end(self, trainer, pl_module) -> None:
        self.validations += 1


def fit_whole(overrides: list[str], tmp_path, monkeypatch, extra: tuple[Callback, ...] = ()):
    """run_job, keeping the Trainer the pipeline built (with a Watch and `extra` callbacks
    added): (trainer, watch, summary)."""
    from regopt import pipeline

    watch, built = Watch(), []
    original = pipeline.build_trainer

    def keep(cfg, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), watch, *extra]
        built.append(original(cfg, **kwargs))
        return built[-1]

    monkeypatch.setattr(pipeline, "build_trainer", keep)
    summary = run_job([*JOB, *overrides], tmp_path)
    return built[0], watch, summary


def test_every_batch_is_one_training_step_and_one_optimiser_step(tmp_path, monkeypatch) -> None:
    trainer, watch, summary = fit_whole([], tmp_path, monkeypatch)
    assert summary["status"] == "completed" and summary["epochs"] == 2
    assert trainer.lightning_module.automatic_optimization
    assert len(watch.train_targets) == trainer.global_step == 2 * BATCHES
    assert all(len(targets) <= 64 for targets in watch.train_targets)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 2 * BATCHES
    assert [row["step"] for row in read_metrics(tmp_path)] == [BATCHES - 1, 2 * BATCHES - 1]


def test_fast_dev_run_trains_and_validates_one_batch(tmp_path, monkeypatch) -> None:
    trainer, watch, summary = fit_whole(["+trainer.fast_dev_run=true"], tmp_path, monkeypatch)
    assert trainer.global_step == 1 and len(watch.train_targets) == 1
    assert watch.validations == 1 and watch.val_batches == 1
    assert summary["status"] == "completed"
    # a truthful summary: Lightning turned the loggers off, regopt's own record still holds the
    # one epoch that ran, and the verdict says what the run was
    rows = read_metrics(tmp_path)
    assert len(rows) == 1 and summary["epochs"] == 1 and summary["fast_dev_run"] == 1
    assert summary["final"]["val/loss"] == rows[0]["val/loss"]
    assert summary["verdict"].startswith("fast_dev_run: 1 batch of training and of validation")


def test_limit_train_batches_takes_that_fraction_of_each_epoch(tmp_path, monkeypatch) -> None:
    trainer, _, summary = fit_whole(["trainer.limit_train_batches=0.5"], tmp_path, monkeypatch)
    assert trainer.global_step == 2 * BATCHES // 2
    assert summary["status"] == "completed" and len(read_metrics(tmp_path)) == 2


def test_max_steps_stops_at_that_optimiser_step(tmp_path, monkeypatch) -> None:
    trainer, watch, summary = fit_whole(["trainer.max_steps=5"], tmp_path, monkeypatch)
    assert trainer.global_step == len(watch.train_targets) == 5  # inside epoch 0
    assert summary["status"] == "completed"
    assert [row["epoch"] for row in read_metrics(tmp_path)] == [0]


def test_val_check_interval_validates_twice_an_epoch(tmp_path, monkeypatch) -> None:
    trainer, watch, summary = fit_whole(["trainer.val_check_interval=0.5"], tmp_path, monkeypatch)
    assert trainer.global_step == 2 * BATCHES
    assert watch.validations == 2 * 2
    assert summary["status"] == "completed" and len(read_metrics(tmp_path)) == 2


def test_overfit_batches_trains_on_the_same_first_batch_every_epoch(tmp_path, monkeypatch) -> None:
    trainer, watch, summary = fit_whole(["+trainer.overfit_batches=1"], tmp_path, monkeypatch)
    assert trainer.global_step == 2 and len(watch.train_targets) == 2
    first = trainer.datamodule.y_train[:64]  # unshuffled: the training set's first batch
    assert all(torch.equal(targets, first) for targets in watch.train_targets)
    assert watch.val_batches == 2  # one validation batch per epoch
    assert summary["status"] == "completed"


def test_gradient_clip_val_is_lightnings_own_clipping(tmp_path, monkeypatch) -> None:
    class ClippedNorms(Callback):
        """The gradient's global norm before Lightning's clip and as the optimiser step saw it."""

        def __init__(self) -> None:
            self.before: list[float] = []
            self.norms: list[float] = []

        @staticmethod
        def _norm(pl_module) -> float:
            grads = [p.grad.flatten() for p in pl_module.parameters() if p.grad is not None]
            return torch.cat(grads).norm().item()

        def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
            self.before.append(self._norm(pl_module))

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.norms.append(self._norm(pl_module))

    norms = ClippedNorms()
    clip = ["trainer.gradient_clip_val=1.0", "optimizer.lr=0.5"]
    trainer, _, summary = fit_whole(clip, tmp_path, monkeypatch, extra=(norms,))
    assert trainer.gradient_clip_val == 1.0 and summary["status"] == "completed"
    assert len(norms.norms) == 2 * BATCHES
    assert max(norms.norms) <= 1.0 + 1e-5
    assert max(norms.before) > 1.5  # the clip bound
    for before, after in zip(norms.before, norms.norms, strict=True):
        assert after == pytest.approx(min(before, 1.0), rel=1e-4)


def test_the_simple_profiler_times_every_training_batch(tmp_path, monkeypatch) -> None:
    trainer, _, summary = fit_whole(["+trainer.profiler=simple"], tmp_path, monkeypatch)
    assert isinstance(trainer.profiler, SimpleProfiler)
    assert len(trainer.profiler.recorded_durations["run_training_batch"]) == 2 * BATCHES
    assert summary["status"] == "completed"


def test_bf16_mixed_precision_trains_on_the_cpu(tmp_path, monkeypatch) -> None:
    trainer, _, summary = fit_whole(["trainer.precision=bf16-mixed"], tmp_path, monkeypatch)
    assert trainer.precision == "bf16-mixed" and trainer.global_step == 2 * BATCHES
    rows = read_metrics(tmp_path)
    assert summary["status"] == "completed" and len(rows) == 2
    assert all(torch.isfinite(torch.tensor(row["train/loss"])) for row in rows)
    assert rows[-1]["train/loss"] < rows[0]["train/loss"]


def test_max_norm_projects_once_after_every_optimiser_step_under_accumulation(
    tmp_path, monkeypatch
) -> None:
    from regopt.regularizers.constraints import MaxNorm

    class Steps(Callback):
        def __init__(self) -> None:
            self.count = 0
            self.projections_before: list[int] = []

        def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
            self.count += 1
            self.projections_before.append(len(projections))

    projections: list[int] = []
    original = MaxNorm.after_step

    def counting(self) -> None:
        projections.append(1)
        original(self)

    monkeypatch.setattr(MaxNorm, "after_step", counting)
    steps = Steps()
    job = [
        "regularizer=max_norm",
        "regularizer.max_norm.bound=0.3",
        "trainer.accumulate_grad_batches=3",
    ]
    trainer, _, summary = fit_whole(job, tmp_path, monkeypatch, extra=(steps,))
    per_epoch = -(-BATCHES // 3)  # windows of 3 and a partial one at the epoch's end
    assert trainer.global_step == steps.count == 2 * per_epoch
    assert len(projections) == steps.count  # once per optimiser step, not per batch
    assert steps.projections_before == list(range(steps.count))  # each after its own step
    weights = [p for p in trainer.lightning_module.model.parameters() if p.ndim == 2]
    assert max(w.norm(dim=1).max().item() for w in weights) <= 0.3 + 1e-6
    assert summary["status"] == "completed"


def test_the_progress_bar_is_on_only_in_a_single_run_at_a_terminal(monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert scale.progress_bar(True) is True and scale.progress_bar(False) is False
    monkeypatch.setattr("sys.stdout", io.StringIO())  # a file, a pipe, CI
    assert scale.progress_bar(None) is False
    monkeypatch.setattr("sys.stdout", Terminal())
    assert scale.progress_bar(None) is True
    assert scale.progress_bar(False) is False  # the user's choice wins
    monkeypatch.setattr(scale, "is_multirun", lambda: True)
    assert scale.progress_bar(None) is False  # a sweep's jobs
    assert scale.progress_bar(True) is True


@pytest.mark.parametrize(("setting", "bar"), [("true", True), ("false", False), ("null", False)])
def test_the_trainer_gets_the_resolved_progress_bar(tmp_path, monkeypatch, setting, bar) -> None:
    """Under pytest stdout is not a terminal: null (the default) means no bar."""
    job = ["trainer.max_epochs=1", f"trainer.enable_progress_bar={setting}"]
    trainer, _, _ = fit_whole(job, tmp_path, monkeypatch)
    assert (trainer.progress_bar_callback is not None) is bar
