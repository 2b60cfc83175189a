"""Per-epoch diagnostics: pure functions against hand computations, then a real run's columns."""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from conftest import read_metrics, run_job
from regopt.data.digits import DigitsDataModule
from regopt.diagnostics.best import update_best
from regopt.diagnostics.gradients import eval_mode, gradient_norms
from regopt.diagnostics.subset import evaluate, train_eval_batches
from regopt.diagnostics.train_eval import gaps
from regopt.diagnostics.weights import weight_stats
from regopt.models.mlp import MLP
from regopt.params import select_parameters
from regopt.tasks import Classification


def test_weight_stats_match_hand_computation() -> None:
    a = nn.Parameter(torch.tensor([[3.0, -4.0], [0.0, 1e-4]]))
    b = nn.Parameter(torch.tensor([[1.0, 0.0, -2.0]]))
    stats = weight_stats([("net.1.weight", a), ("net.4.weight", b)], tol=1e-3)
    assert stats["weights/l2/net.1"].item() == pytest.approx(5.0)
    assert stats["weights/l1/net.4"].item() == pytest.approx(3.0)
    assert stats["weights/sparsity/net.1"].item() == pytest.approx(0.5)  # 0 and 1e-4
    assert stats["weights/l2"].item() == pytest.approx(math.sqrt(25 + 1e-8 + 5))
    assert stats["weights/l1"].item() == pytest.approx(7.0001 + 3.0)
    assert stats["weights/sparsity"].item() == pytest.approx(3 / 7)
    assert weight_stats([], 1e-3) == {}


def test_gradient_norms_of_data_loss_and_l2_penalty() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    x, y = torch.randn(8, 3), torch.randn(8, 2)
    data = nn.functional.mse_loss(layer(x), y)
    penalty = 0.1 * 0.5 * layer.weight.pow(2).sum()  # gradient: 0.1 * W, none for the bias
    out = gradient_norms(list(layer.parameters()), data, {"l2": penalty, "l1": 0.0 * data.detach()})
    grads = torch.autograd.grad(nn.functional.mse_loss(layer(x), y), list(layer.parameters()))
    expected_data = torch.sqrt(sum(g.pow(2).sum() for g in grads)).item()
    assert out["grad/data"].item() == pytest.approx(expected_data, rel=1e-5)
    assert out["grad/penalty/l2"].item() == pytest.approx(
        0.1 * layer.weight.norm().item(), rel=1e-5
    )
    assert "grad/penalty/l1" not in out  # a constant term pulls on nothing
    assert out["grad/ratio"].item() == pytest.approx(
        0.1 * layer.weight.norm().item() / expected_data, rel=1e-5
    )
    assert layer.weight.grad is None  # .grad untouched: the optimiser never sees these


def test_eval_mode_restores_each_submodule_mode() -> None:
    model = MLP(4, 2, widths=[3], dropout=0.5)
    model.train()
    model.net[3].eval()  # a submodule deliberately in eval mode
    with eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert model.training and model.net[1].training and not model.net[3].training


def test_best_tracking_and_gaps() -> None:
    best, epoch = torch.tensor(math.inf), torch.tensor(-1)
    for e, value in enumerate([0.5, 0.4, math.nan, 0.45, 0.3]):
        best, epoch = update_best(best, epoch, torch.tensor(value), e)
        if e == 3:
            assert (best.item(), epoch.item()) == (pytest.approx(0.4), 1)
    assert (best.item(), epoch.item()) == (pytest.approx(0.3), 4)
    out = gaps(
        {"loss": torch.tensor(0.1), "acc": torch.tensor(0.99)},
        {"val/loss": torch.tensor(0.4), "val/acc": torch.tensor(0.9)},
    )
    assert out["gap/loss"].item() == pytest.approx(0.3)
    assert out["gap/acc"].item() == pytest.approx(0.09)
    assert set(gaps({"loss": torch.tensor(0.1)}, {"val/loss": torch.tensor(0.2)})) == {"gap/loss"}


def test_a_data_module_without_a_subset_or_accuracy_is_skipped_not_fatal(caplog) -> None:
    trainer = SimpleNamespace(datamodule=object())
    with caplog.at_level(logging.WARNING, logger="regopt"):
        assert train_eval_batches(trainer, None, 10) is None
    assert "train_eval_dataloader" in caplog.text
    batches = [(torch.randn(5, 3), torch.randint(0, 2, (5,)))]
    module = nn.Linear(3, 2)
    module.task = Classification(num_classes=2)  # what evaluate asks of a module
    out = evaluate(module, batches, with_metrics=False)
    assert set(out) == {"loss"}
    expected = nn.functional.cross_entropy(module(batches[0][0]), batches[0][1])
    assert out["loss"].item() == pytest.approx(expected.item())
    assert set(evaluate(module, batches)) == {"loss", "acc"}


def test_real_run_logs_every_diagnostic_consistently(tmp_path) -> None:
    summary = run_job(
        [
            "data.label_noise=0.2",
            "model.dropout=0.5",
            "trainer.max_epochs=5",
            "diagnostics.gradients.every_n_epochs=2",
            "diagnostics.train_eval.max_samples=200",
        ],
        tmp_path,
    )
    rows = read_metrics(tmp_path)
    assert len(rows) == 5
    best = math.inf
    for row in rows:
        assert row["gap/loss"] == pytest.approx(row["val/loss"] - row["train_eval/loss"], abs=1e-6)
        assert row["gap/acc"] == pytest.approx(row["train_eval/acc"] - row["val/acc"], abs=1e-6)
        best = min(best, row["val/loss"])
        assert row["val/loss_best"] == pytest.approx(best)
        assert row["val/epochs_since_best"] == row["epoch"] - row["val/best_epoch"]
        assert ("grad/data" in row) == (row["epoch"] % 2 == 0)
        assert ("grad/ratio" in row) == (row["epoch"] % 2 == 0)  # the default l2 penalty
        assert 0 <= row["weights/sparsity"] <= 1
    for key in ("train_eval/loss", "train_eval/acc", "gap/loss", "gap/acc"):
        assert summary["final"][key] == rows[-1][key]

    # train_eval/* are the eval-mode (no dropout) loss and accuracy of the fixed subset at the
    # final weights; weights/l2 is their norm
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    model = MLP(64, 10, dropout=0.5)
    model.load_state_dict({k.removeprefix("model."): v for k, v in state.items()})
    model.eval()
    data = DigitsDataModule(label_noise=0.2, seed=0)
    data.setup()
    x, y = (torch.cat(t) for t in zip(*data.train_eval_dataloader(200), strict=True))
    with torch.no_grad():
        outputs = model(x)
    loss = nn.functional.cross_entropy(outputs, y).item()
    acc = (outputs.argmax(-1) == y).float().mean().item()
    assert rows[-1]["train_eval/loss"] == pytest.approx(loss, rel=1e-4)
    assert rows[-1]["train_eval/acc"] == pytest.approx(acc)
    norm = torch.sqrt(sum(p.pow(2).sum() for _, p in select_parameters(model, "weights")))
    assert rows[-1]["weights/l2"] == pytest.approx(norm.item(), rel=1e-5)


def test_no_accuracy_task_and_no_diagnostics(tmp_path) -> None:
    run_job(
        ["model=vae", "regularizer=kl", "trainer.max_epochs=2", "callbacks=none"], tmp_path / "a"
    )  # the VAE reconstructs: a task with no accuracy
    columns = set(read_metrics(tmp_path / "a")[-1])
    assert {"train_eval/loss", "gap/loss"} <= columns
    assert not {"train_eval/acc", "gap/acc"} & columns
    summary = run_job(
        [
            "trainer.max_epochs=4",
            "diagnostics=none",
            "callbacks=none",
            "verdict.min_epochs=4",
            "verdict.patience=2",
        ],
        tmp_path / "b",
    )
    columns = set(read_metrics(tmp_path / "b")[-1])
    assert not any(c.startswith(("train_eval/", "gap/", "weights/", "grad/")) for c in columns)
    assert summary["verdict"] and summary["diagnosis"]["kind"] != "too_short"


def test_best_validation_resumes_from_its_checkpoint_state() -> None:
    from regopt.diagnostics.best import BestValidation

    first = BestValidation()
    module = SimpleNamespace(device=torch.device("cpu"))
    first.on_fit_start(None, module)
    first._best, first._best_epoch = torch.tensor(0.25), torch.tensor(7)
    resumed = BestValidation()
    resumed.load_state_dict(first.state_dict())
    resumed.on_fit_start(None, module)
    assert (resumed._best.item(), resumed._best_epoch.item()) == (0.25, 7)
