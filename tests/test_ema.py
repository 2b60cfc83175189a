"""callbacks=ema: validation, the training subset and the final weights are those of an
exponential moving average of the weights, as a plain loop computes it, and the record says so."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import read_metrics, run_job
from regopt.data.gaussian import gaussian_classes
from regopt.models.mlp import MLP

N_TRAIN, N_VAL, BATCH, EPOCHS, DECAY = 300, 100, 64, 2, 0.8
JOB = [
    "data=synthetic",
    f"data.n_train={N_TRAIN}",
    f"data.n_val={N_VAL}",
    f"data.batch_size={BATCH}",
    "model.widths=[16]",
    "optimizer=sgd",
    "optimizer.lr=0.1",
    "regularizer=none",
    f"trainer.max_epochs={EPOCHS}",
    "callbacks=ema",
    f"callbacks.ema.decay={DECAY}",
    "diagnostics=default",
    "~diagnostics.gradients",
]


def plain_ema_loop() -> list[tuple[float, float, float]]:
    """SGD in a plain loop (same data, init and batch order as data=synthetic) with
    ema <- DECAY * ema + (1 - DECAY) * w after every step (the first step copies w): per epoch,
    the validation loss of the average, its training loss, and the trained weights' val loss."""
    x, y = gaussian_classes(N_TRAIN + N_VAL, 64, 10, 4.0, 0)
    torch.manual_seed(0)
    model = MLP(64, 10, widths=[16])
    average = MLP(64, 10, widths=[16])
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn, steps, out = nn.CrossEntropyLoss(), 0, []
    for epoch in range(EPOCHS):
        order = torch.randperm(N_TRAIN, generator=torch.Generator().manual_seed(epoch))
        for start in range(0, N_TRAIN, BATCH):
            index = order[start : start + BATCH]
            sgd.zero_grad()
            loss_fn(model(x[index]), y[index]).backward()
            sgd.step()
            with torch.no_grad():
                for a, w in zip(average.parameters(), model.parameters(), strict=True):
                    a.copy_(w if steps == 0 else DECAY * a + (1 - DECAY) * w)
            steps += 1
        with torch.no_grad():
            out.append(
                (
                    loss_fn(average(x[N_TRAIN:]), y[N_TRAIN:]).item(),
                    loss_fn(average(x[:N_TRAIN]), y[:N_TRAIN]).item(),
                    loss_fn(model(x[N_TRAIN:]), y[N_TRAIN:]).item(),
                )
            )
    return out


def test_ema_is_validated_on_the_averaged_weights(tmp_path) -> None:
    expected = plain_ema_loop()
    summary = run_job(JOB, tmp_path)
    assert summary["status"] == "completed"
    assert summary["weight_averaging"]["type"] == "EMAWeightAveraging"
    assert summary["weight_averaging"]["decay"] == DECAY
    rows = read_metrics(tmp_path)
    for row, (val_average, train_average, val_trained) in zip(rows, expected, strict=True):
        assert row["val/loss"] == pytest.approx(val_average, rel=1e-5)
        assert row["train_eval/loss"] == pytest.approx(train_average, rel=1e-5)  # same weights
        assert abs(val_average - val_trained) > 1e-3  # the average is not the trained weights
