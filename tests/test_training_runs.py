"""Short real runs: every optimiser with no, L1 and L2 penalties, and what their records hold."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import optimizers, read_metrics, run_job
from regopt.params import select_parameters

SUMMARY_FIELDS = {
    "status",
    "seed",
    "epochs",
    "wall_time_s",
    "final",
    "best",
    "regularizers",
    "optimizer",
    "overrides",
    "git",
    "versions",
}
FINAL_FIELDS = {"train/loss", "train/acc", "val/loss", "val/acc"}
BEST_FIELDS = {"val/loss", "val/acc", "epoch"}


@pytest.mark.parametrize("regularizer", ["none", "l1", "l2"])
@pytest.mark.parametrize("optimizer", optimizers())
def test_training_loss_falls_and_record_is_complete(optimizer, regularizer, tmp_path) -> None:
    summary = run_job(
        [f"optimizer={optimizer}", f"regularizer={regularizer}", "trainer.max_epochs=3"], tmp_path
    )
    rows = read_metrics(tmp_path)
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert rows[-1]["train/loss"] < rows[0]["train/loss"]

    assert set(summary) >= SUMMARY_FIELDS
    assert summary["status"] == "completed"
    assert summary["epochs"] == 3 and summary["seed"] == 0 and summary["wall_time_s"] > 0
    assert set(summary["final"]) >= FINAL_FIELDS and set(summary["best"]) >= BEST_FIELDS
    assert all(math.isfinite(summary["final"][k]) for k in FINAL_FIELDS)
    assert summary["final"]["val/loss"] == rows[-1]["val/loss"]
    best_row = min(rows, key=lambda r: r["val/loss"])
    assert summary["best"]["epoch"] == best_row["epoch"]
    assert summary["best"]["val/loss"] == best_row["val/loss"]
    assert summary["optimizer"]["name"] == optimizer
    assert summary["optimizer"]["lr"] > 0 and "weight_decay" in summary["optimizer"]
    assert {f"optimizer={optimizer}", f"regularizer={regularizer}"} <= set(summary["overrides"])
    expected = [] if regularizer == "none" else [regularizer]
    assert [r["name"] for r in summary["regularizers"]] == expected
    assert "torch" in summary["versions"] and "commit" in summary["git"]
    assert (tmp_path / "config.yaml").is_file()
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "checkpoints" / "best.ckpt").is_file()


def test_logged_penalties_equal_their_formulas_at_the_final_weights(tmp_path) -> None:
    summary = run_job(
        [
            "regularizer=[l1,l2,elastic]",
            "regularizer.l1.weight=3e-4",
            "regularizer.l2.weight=2e-3",
            "regularizer.elastic.weight=1e-3",
            "regularizer.elastic.l1_ratio=0.3",
            "optimizer=sgd",
            "trainer.max_epochs=2",
        ],
        tmp_path,
    )
    last = read_metrics(tmp_path)[-1]
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    from regopt.models.mlp import MLP

    model = MLP(64, 10)
    model.load_state_dict(
        {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
    )
    weights = [p.detach().double() for _, p in select_parameters(model, "weights")]
    assert len(weights) == 3  # the biases are not covered
    l1 = sum(w.abs().sum() for w in weights).item()
    half_l2 = 0.5 * sum(w.pow(2).sum() for w in weights).item()
    expected = {"l1": 3e-4 * l1, "l2": 2e-3 * half_l2, "elastic": 1e-3 * (0.3 * l1 + 0.7 * half_l2)}
    for name, value in expected.items():
        assert last[f"penalty/{name}"] == pytest.approx(value, rel=1e-5), name
        assert summary["final"][f"penalty/{name}"] == pytest.approx(value, rel=1e-5)
    # the epoch's objective is its data loss plus its weighted penalties
    parts = last["train/loss_data"] + sum(last[f"train/penalty/{n}"] for n in expected)
    assert last["train/loss"] == pytest.approx(parts, rel=1e-5)


def test_same_seed_gives_identical_metrics(tmp_path) -> None:
    args = ["regularizer=[l1,l2]", "trainer.max_epochs=3", "data.label_noise=0.2"]
    run_job(args, tmp_path / "a")
    run_job(args, tmp_path / "b")
    assert read_metrics(tmp_path / "a") == read_metrics(tmp_path / "b")
    run_job([*args, "seed=1"], tmp_path / "c")
    assert read_metrics(tmp_path / "c") != read_metrics(tmp_path / "a")


def test_last_checkpoint_holds_the_final_epoch_after_the_best_has_passed(tmp_path) -> None:
    """best.ckpt stays at its epoch (here the highest validation loss, so the first or so), while
    last.ckpt follows training to its end: the weights whose L2 penalty the last row logged."""
    args = [
        "regularizer=l2",
        "regularizer.l2.weight=2e-3",
        "trainer.max_epochs=4",
        "callbacks.model_checkpoint.mode=max",
    ]
    run_job(args, tmp_path)
    rows = read_metrics(tmp_path)
    checkpoints = tmp_path / "checkpoints"
    best = torch.load(checkpoints / "best.ckpt", weights_only=True)
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert best["epoch"] == max(rows, key=lambda r: r["val/loss"])["epoch"] < rows[-1]["epoch"]
    assert last["epoch"] == rows[-1]["epoch"]
    state = last["state_dict"]
    weights = [v.double() for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    half_l2 = 0.5 * sum(w.pow(2).sum() for w in weights).item()
    assert rows[-1]["penalty/l2"] == pytest.approx(2e-3 * half_l2, rel=1e-5)
