"""Several optimiser steps per training_step call change the speed, never the result."""

from __future__ import annotations

import pytest
import torch
from pytorch_lightning.callbacks import Callback

from conftest import compose_config, fit_watched, read_metrics, run_job
from regopt.config.cli_errors import ConfigError
from regopt.config.validate import validate_config
from regopt.data.tensor_loader import BatchRun, TensorLoader
from regopt.data.tensor_module import batches_per_call

JOB = ["data=synthetic", "data.n_train=600", "data.n_val=200", "data.batch_size=64",
       "model.widths=[32]", "regularizer=[l2,dropout]", "optimizer=adam", "scheduler=cosine",
       "trainer.max_epochs=3", "trainer.gradient_clip_val=0.5"]  # fmt: skip


def test_a_whole_epoch_per_call_and_one_batch_per_call_give_identical_records(tmp_path) -> None:
    run_job([*JOB, "steps_per_call=epoch"], tmp_path / "epoch")
    run_job([*JOB, "steps_per_call=1"], tmp_path / "one")
    run_job([*JOB, "steps_per_call=4"], tmp_path / "four")  # 10 batches: runs of 4, 4 and 2
    keep = ("train/loss", "train/acc", "val/loss", "val/acc", "opt/lr", "weights/l2")
    records = {}
    for name in ("epoch", "one", "four"):
        rows = read_metrics(tmp_path / name)
        assert len(rows) == 3
        records[name] = [{k: row[k] for k in keep} for row in rows]
    # the same batches, updates, dropout masks, clipping and lr schedule: bit for bit
    assert records["epoch"] == records["one"] == records["four"]
    assert records["one"][0]["opt/lr"] > records["one"][-1]["opt/lr"]  # the schedule stepped
    # each row holds the lr its epoch trained with: the base lr in epoch 0, stepped after it
    assert records["one"][0]["opt/lr"] == pytest.approx(1e-3)


class CountSteps(Callback):
    def __init__(self) -> None:
        self.steps = 0

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.steps += 1


def test_max_steps_is_exact_because_it_falls_back_to_one_batch_per_call(tmp_path) -> None:
    counter = CountSteps()
    trainer, _ = fit_watched([*JOB, "trainer.max_epochs=5", "+trainer.max_steps=13"], [counter],
                             tmp_path)  # fmt: skip
    assert counter.steps == trainer.global_step == 13  # 10 per epoch: 3 steps into epoch 2


class _Trainer:
    def __init__(self, **settings: object) -> None:
        defaults = {"world_size": 1, "max_steps": -1, "limit_train_batches": 1.0,
                    "val_check_interval": 1.0}  # fmt: skip
        self.__dict__.update(defaults | settings)


@pytest.mark.parametrize(
    ("requested", "settings", "expected"),
    [
        ("epoch", {}, 12),
        (5, {}, 5),
        (1, {}, 1),
        ("epoch", {"world_size": 2}, 1),  # DDP: every backward needs its own forward
        ("epoch", {"max_steps": 100}, 1),
        ("epoch", {"limit_train_batches": 1}, 1),  # an int 1 is one batch, not the whole epoch
        ("epoch", {"limit_train_batches": 0.5}, 1),
        ("epoch", {"val_check_interval": 0.25}, 1),
    ],
)
def test_when_runs_of_batches_are_used(requested, settings, expected) -> None:
    assert batches_per_call(requested, _Trainer(**settings), epoch_batches=12) == expected


def test_runs_cover_the_epoch_in_order_and_gather_lazily() -> None:
    x, y = torch.arange(50.0).unsqueeze(1), torch.arange(50)
    single = TensorLoader(x, y, batch_size=8, shuffle=True, seed=3)
    runs = TensorLoader(x, y, batch_size=8, shuffle=True, seed=3, batches_per_item=3)
    assert len(single) == 7 and len(runs) == 3
    items = list(runs)
    assert all(isinstance(item, BatchRun) for item in items)
    assert [len(item) for item in items] == [3, 3, 1]
    flattened = [batch for item in items for batch in item]
    for (xa, ya), (xb, yb) in zip(list(single), flattened, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert sorted(torch.cat([b[1] for b in flattened]).tolist()) == list(range(50))


def test_the_default_run_records_the_steps_it_took(tmp_path) -> None:
    summary = run_job(["data=synthetic", "data.n_train=300", "data.batch_size=32",
                       "model.widths=[16]", "trainer.max_epochs=2"], tmp_path)  # fmt: skip
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 2 * 10  # every optimiser step counted, 10 per epoch
    assert summary["epochs"] == 2


@pytest.mark.parametrize("bad", ["0", "-2", "all", "1.5", "true"])
def test_a_bad_steps_per_call_is_refused_before_training(bad: str) -> None:
    cfg = compose_config([f"steps_per_call={bad}"])
    with pytest.raises(
        ConfigError, match=r"steps_per_call=.*allowed: epoch or a whole number >= 1"
    ):
        validate_config(cfg)


class CountBatchHooks(Callback):
    """A user's per-batch callback: it expects on_train_batch_end once per batch."""

    def __init__(self) -> None:
        self.calls = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.calls += 1
        assert not isinstance(batch, BatchRun)


def test_a_callback_with_per_batch_hooks_sees_every_batch(tmp_path) -> None:
    counter = CountBatchHooks()
    trainer, _ = fit_watched([*JOB, "steps_per_call=epoch"], [counter], tmp_path)
    assert counter.calls == trainer.global_step == 3 * 10  # 600 samples / 64: 10 batches an epoch


def test_default_callbacks_keep_whole_epochs_per_call(tmp_path) -> None:
    """ModelCheckpoint overrides on_train_batch_end only for every_n_train_steps: no fallback."""
    from hydra.utils import instantiate

    cfg = compose_config([*JOB, "callbacks=default"], tmp_path)
    checkpoints = [instantiate(cfg.callbacks.model_checkpoint)]
    assert checkpoints[0].__class__.__name__ == "ModelCheckpoint"
    assert batches_per_call("epoch", _Trainer(callbacks=checkpoints), epoch_batches=12) == 12
    every_step = instantiate(cfg.callbacks.model_checkpoint, every_n_train_steps=5)
    assert batches_per_call("epoch", _Trainer(callbacks=[every_step]), epoch_batches=12) == 1
    assert batches_per_call("epoch", _Trainer(callbacks=[CountBatchHooks()]), epoch_batches=12) == 1


def test_the_default_job_keeps_whole_epochs_per_call(tmp_path, caplog) -> None:
    """None of the callbacks and diagnostics a default run attaches needs every batch."""
    caplog.set_level("INFO", logger="regopt")
    run_job(["trainer.max_epochs=1"], tmp_path / "default")
    assert not [r for r in caplog.records if "one batch per call" in r.getMessage()]
    caplog.clear()
    run_job(["trainer.max_epochs=1", "trainer.enable_progress_bar=true"], tmp_path / "bar")
    assert [r for r in caplog.records if "one batch per call" in r.getMessage()]
