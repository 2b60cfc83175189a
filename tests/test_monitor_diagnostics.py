"""The diagnostics' keys (gap/*, train_eval/*, weights/*, ...) bypass `self.log` but can still be
monitored by Lightning's early stopping and checkpointing, epoch by epoch."""

from __future__ import annotations

import pytest
import torch

from conftest import read_metrics, read_summary, run_job
from regopt.diagnostics.epoch_log import EpochDiagnostic, flush

SHORT = ["trainer.max_epochs=40", "data.batch_size=64"]


def early_stopping_epoch(values: list[float], patience: int) -> int | None:
    """Lightning's rule (mode min, min_delta 0), written out: the epoch at which it stops."""
    best, waited = float("inf"), 0
    for epoch, value in enumerate(values):
        if value < best:
            best, waited = value, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch
    return None


def test_early_stopping_on_the_generalisation_gap(tmp_path) -> None:
    summary = run_job(
        [
            *SHORT,
            "callbacks=early_stopping",
            "callbacks.early_stopping.monitor=gap/loss",
            "callbacks.early_stopping.patience=3",
        ],
        tmp_path,
    )
    rows = read_metrics(tmp_path)
    gaps = [row["gap/loss"] for row in rows]
    assert summary["status"] == "completed"
    stop = early_stopping_epoch(gaps, patience=3)
    assert stop is not None and stop < 39, gaps  # the gap stopped falling within the 40 epochs
    assert rows[-1]["epoch"] == stop and summary["epochs"] == stop + 1


def test_the_best_checkpoint_can_follow_a_diagnostic(tmp_path) -> None:
    run_job(
        [*SHORT, "trainer.max_epochs=12", "callbacks.model_checkpoint.monitor=train_eval/loss"],
        tmp_path,
    )
    rows = read_metrics(tmp_path)
    best_row = min(rows, key=lambda row: row["train_eval/loss"])
    checkpoint = torch.load(tmp_path / "checkpoints" / "best.ckpt", weights_only=True)
    state = next(v for k, v in checkpoint["callbacks"].items() if k.startswith("ModelCheckpoint"))
    assert float(state["best_model_score"]) == pytest.approx(best_row["train_eval/loss"], rel=1e-6)
    assert checkpoint["epoch"] == best_row["epoch"]
    assert read_summary(tmp_path)["status"] == "completed"


class _Trainer:
    """What `flush` reads of a trainer."""

    def __init__(self) -> None:
        self.callback_metrics: dict[str, torch.Tensor] = {"val/loss": torch.tensor(0.5)}
        self.loggers: list = []
        self.is_global_zero, self.global_step, self.current_epoch = True, 10, 0


def test_a_key_measured_in_one_epoch_is_not_monitorable_in_the_next() -> None:
    trainer, diagnostic = _Trainer(), EpochDiagnostic()
    diagnostic.record(trainer, {"gap/loss": torch.tensor(0.25), "grad/data": torch.tensor(3.0)})
    assert flush(trainer) == {"gap/loss": 0.25, "grad/data": 3.0}
    assert float(trainer.callback_metrics["grad/data"]) == 3.0
    trainer.current_epoch = 1
    diagnostic.record(trainer, {"gap/loss": torch.tensor(0.125)})  # no gradient norms this epoch
    flush(trainer)
    assert "grad/data" not in trainer.callback_metrics
    assert float(trainer.callback_metrics["gap/loss"]) == 0.125
    assert float(trainer.callback_metrics["val/loss"]) == 0.5  # Lightning's own keys untouched
    flush(trainer)  # an epoch with nothing recorded
    assert set(trainer.callback_metrics) == {"val/loss"}
