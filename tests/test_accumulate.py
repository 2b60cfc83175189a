"""Lightning's `trainer.accumulate_grad_batches` and `trainer.gradient_clip_val` in regopt's fit do
what a plain PyTorch loop does with them: each batch's loss divided by the window, one optimiser
step per window and one at the epoch's last batch (a partial window); the gradient clipped by
`torch.nn.utils.clip_grad_norm_` just before each step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import read_metrics, run_job
from regopt.data.gaussian import gaussian_classes
from regopt.models.mlp import MLP

N_TRAIN, N_VAL, BATCH, EPOCHS, WINDOW = 1000, 300, 64, 2, 3  # 16 batches: 5 windows + 1 batch
JOB = [
    "data=synthetic",
    f"data.n_train={N_TRAIN}",
    f"data.n_val={N_VAL}",
    f"data.batch_size={BATCH}",
    "model.widths=[32,32]",
    "optimizer=sgd",
    "optimizer.lr=0.1",
    "regularizer=none",
    f"trainer.max_epochs={EPOCHS}",
    "callbacks=none",
    "diagnostics=none",
]


def plain_accumulating_loop(window: int, clip: float | None = None) -> tuple[float, int]:
    """A plain PyTorch loop written out here (same data, init and batch order as data=synthetic):
    the final val loss and the number of optimiser steps."""
    x, y = gaussian_classes(N_TRAIN + N_VAL, 64, 10, 4.0, 0)
    x_train, y_train, x_val, y_val = x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
    torch.manual_seed(0)
    model = MLP(64, 10, widths=[32, 32])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn, steps = nn.CrossEntropyLoss(), 0
    for epoch in range(EPOCHS):
        order = torch.randperm(N_TRAIN, generator=torch.Generator().manual_seed(epoch))
        starts = list(range(0, N_TRAIN, BATCH))
        for i, start in enumerate(starts):
            index = order[start : start + BATCH]
            if i % window == 0:
                optimizer.zero_grad()
            (loss_fn(model(x_train[index]), y_train[index]) / window).backward()
            if i % window == window - 1 or i == len(starts) - 1:
                if clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                steps += 1
    with torch.no_grad():
        return loss_fn(model(x_val), y_val).item(), steps


def test_accumulation_matches_a_plain_accumulating_loop(tmp_path) -> None:
    expected_loss, expected_steps = plain_accumulating_loop(WINDOW)
    summary = run_job([*JOB, f"trainer.accumulate_grad_batches={WINDOW}"], tmp_path)
    assert summary["status"] == "completed"
    last = read_metrics(tmp_path)[-1]
    assert last["val/loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert expected_steps == EPOCHS * 6  # ceil(16 / 3) optimiser steps per epoch
    assert last["step"] == expected_steps - 1  # the index of the last optimiser step


def test_accumulation_changes_the_updates(tmp_path) -> None:
    """The window is not ignored: without it the run ends elsewhere, as the plain loop does."""
    with_window = run_job([*JOB, f"trainer.accumulate_grad_batches={WINDOW}"], tmp_path / "a")
    without = run_job(JOB, tmp_path / "b")
    assert with_window["status"] == without["status"] == "completed"
    accumulated, plain = read_metrics(tmp_path / "a")[-1], read_metrics(tmp_path / "b")[-1]
    assert plain["val/loss"] == pytest.approx(plain_accumulating_loop(1)[0], rel=1e-5)
    assert abs(accumulated["val/loss"] - plain["val/loss"]) > 1e-3


def test_clipping_matches_clip_grad_norm_in_a_plain_loop(tmp_path) -> None:
    clipped, _ = plain_accumulating_loop(1, clip=0.1)
    assert abs(clipped - plain_accumulating_loop(1)[0]) > 1e-3  # the clip binds on this job
    summary = run_job([*JOB, "trainer.gradient_clip_val=0.1"], tmp_path / "norm")
    assert summary["status"] == "completed"
    assert read_metrics(tmp_path / "norm")[-1]["val/loss"] == pytest.approx(clipped, rel=1e-5)
    both, _ = plain_accumulating_loop(WINDOW, clip=0.1)  # clipped once per window, when it steps
    run_job(
        [*JOB, "trainer.gradient_clip_val=0.1", f"trainer.accumulate_grad_batches={WINDOW}"],
        tmp_path / "both",
    )
    assert read_metrics(tmp_path / "both")[-1]["val/loss"] == pytest.approx(both, rel=1e-5)
