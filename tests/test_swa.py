"""callbacks=swa: from its start epoch, validation, the training subset, the checkpoints and the
final weights are torch.optim.swa_utils.AveragedModel's equal average of the end-of-epoch
weights, as a plain loop computes it; before, the trained weights; a stopped run resumes to the
uninterrupted run's record and average; the record says what was validated."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from conftest import read_metrics, read_summary, run_job
from regopt.callbacks.swa import SWAWeightAveraging
from regopt.data.gaussian import gaussian_classes
from regopt.models.mlp import MLP

N_TRAIN, N_VAL, BATCH, EPOCHS, START = 300, 100, 64, 4, 2  # START: the first averaged, from 1
JOB = [
    "data=synthetic",
    f"data.n_train={N_TRAIN}",
    f"data.n_val={N_VAL}",
    f"data.batch_size={BATCH}",
    "model.widths=[16]",
    "optimizer=sgd",
    "optimizer.lr=0.1",
    "regularizer=none",
    "callbacks=[default,swa]",
    f"callbacks.swa.swa_epoch_start={START}",
    "diagnostics=default",
    "~diagnostics.gradients",
    "threads=1",
]


def plain_swa_loop() -> tuple[list[tuple[float, float, float]], dict[str, torch.Tensor]]:
    """SGD in a plain loop (same data, init and batch order as data=synthetic); from epoch START
    (counted from 1) AveragedModel.update_parameters after each epoch's last step. Per epoch:
    the val and train loss of the weights validated (the average once it holds any), and the
    trained weights' val loss; and the final average's parameters."""
    x, y = gaussian_classes(N_TRAIN + N_VAL, 64, 10, 4.0, 0)
    torch.manual_seed(0)
    model = MLP(64, 10, widths=[16])
    average = AveragedModel(model)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn, out = nn.CrossEntropyLoss(), []
    for epoch in range(EPOCHS):
        order = torch.randperm(N_TRAIN, generator=torch.Generator().manual_seed(epoch))
        for start in range(0, N_TRAIN, BATCH):
            index = order[start : start + BATCH]
            sgd.zero_grad()
            loss_fn(model(x[index]), y[index]).backward()
            sgd.step()
        if epoch + 1 >= START:
            average.update_parameters(model)
        validated = average.module if epoch + 1 >= START else model
        with torch.no_grad():
            out.append(
                (
                    loss_fn(validated(x[N_TRAIN:]), y[N_TRAIN:]).item(),
                    loss_fn(validated(x[:N_TRAIN]), y[:N_TRAIN]).item(),
                    loss_fn(model(x[N_TRAIN:]), y[N_TRAIN:]).item(),
                )
            )
    return out, dict(average.module.named_parameters())


def last_checkpoint(run_dir) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory):
    """The uninterrupted run's dir (one run for both tests)."""
    run_dir = tmp_path_factory.mktemp("straight")
    run_job([*JOB, f"trainer.max_epochs={EPOCHS}"], run_dir)
    return run_dir


def test_swa_is_validated_on_the_average_from_its_start_epoch(straight) -> None:
    expected, average = plain_swa_loop()
    summary, tmp_path = read_summary(straight), straight
    assert summary["status"] == "completed"
    assert summary["weight_averaging"]["type"] == "SWAWeightAveraging"
    assert summary["weight_averaging"]["swa_epoch_start"] == START
    assert summary["weight_averaging"]["validated_on"].startswith("trained weights until")
    rows = read_metrics(tmp_path)
    assert len(rows) == EPOCHS
    for epoch, (row, (val, train, val_trained)) in enumerate(zip(rows, expected, strict=True)):
        assert row["val/loss"] == pytest.approx(val, rel=1e-5)
        assert row["train_eval/loss"] == pytest.approx(train, rel=1e-5)  # the same weights
        if epoch + 1 > START:  # two or more epochs averaged: not the trained weights
            assert abs(val - val_trained) > 1e-3
    saved = last_checkpoint(tmp_path)["state_dict"]  # the average, as the run ends with it
    for name, value in average.items():
        torch.testing.assert_close(saved[f"model.{name}"], value, rtol=1e-5, atol=1e-6)


# stopped after the first update, and (slow) before it
@pytest.mark.parametrize("stop", [START, pytest.param(START - 1, marks=pytest.mark.slow)])
def test_swa_resumes_exactly(stop: int, straight, tmp_path) -> None:
    stopped = tmp_path / "stopped"
    assert run_job([*JOB, f"trainer.max_epochs={stop}"], stopped)["epochs"] == stop
    resumed = run_job([*JOB, f"trainer.max_epochs={EPOCHS}", "resume=auto"], stopped)
    assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("last.ckpt")
    assert read_metrics(stopped) == read_metrics(straight)
    assert resumed["best"] == read_summary(straight)["best"]
    ends = last_checkpoint(straight), last_checkpoint(stopped)
    for key in ("state_dict", "current_model_state", "averaging_state"):
        assert ends[0][key].keys() == ends[1][key].keys()
        for name, value in ends[0][key].items():
            assert torch.equal(value, ends[1][key][name]), (key, name)


@pytest.mark.slow
@pytest.mark.parametrize("check", ["step", "deferred"])
def test_a_diverged_run_keeps_the_last_finite_average(check: str, tmp_path) -> None:
    """Averaged from the first epoch, diverging in the second (lr x 1e9): the run is recorded as
    diverged and its last checkpoint is the first epoch's end, average and trained weights
    finite (the deferred check finds the bad loss after the update that may have taken the bad
    weights in, but before any checkpoint)."""
    job = [*JOB, "callbacks.swa.swa_epoch_start=1", "trainer.max_epochs=4"]
    job += ["scheduler=step", "scheduler.step_size=1", "scheduler.gamma=1e9"]
    summary = run_job([*job, f"divergence_check={check}"], tmp_path)
    assert summary["status"] == "diverged" and summary["diverged_at"]["epoch"] == 1
    checkpoint = last_checkpoint(tmp_path)
    assert checkpoint["epoch"] == 0
    for key in ("state_dict", "current_model_state"):
        assert all(torch.isfinite(t).all() for t in checkpoint[key].values())


def test_the_start_epoch_is_an_epoch_number_or_a_fraction_of_max_epochs() -> None:
    assert SWAWeightAveraging(3).first_epoch == 2  # the third epoch, 0-based: 2
    assert SWAWeightAveraging(0.8, max_epochs=200).first_epoch == 159  # epoch 160 of 200
    assert SWAWeightAveraging(0.01, max_epochs=10).first_epoch == 0  # at least the first
    with pytest.raises(ValueError, match=r"swa_epoch_start=0.8 is a fraction of .* which is -1"):
        SWAWeightAveraging(0.8, max_epochs=-1)  # trainer.max_steps ends such a run
    assert SWAWeightAveraging(0).first_epoch == 0  # 0 (a fraction too): from the first epoch
    with pytest.raises(ValueError, match="swa_epoch_start=-1 is not allowed"):
        SWAWeightAveraging(-1)
