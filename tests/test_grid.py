"""Every regulariser with every optimiser: a few epochs on CPU, in-process, with the full record.

Small on purpose (10% of the digits for training, 32 hidden units, 3 epochs, no callbacks or
tracker) so the whole grid costs about a minute. Each run must complete, lower its objective,
and record the regulariser (and its logged terms) and the optimiser.
"""

from __future__ import annotations

import math

import pytest

from conftest import options, read_metrics, run_job

SMALL = ["callbacks=none", "data.train_fraction=0.1", "model.widths=[32]", "trainer.max_epochs=3"]
REGULARIZERS: dict[str, list[str]] = {
    "l1": ["regularizer=l1", "regularizer.l1.weight=1e-3"],
    "l2": ["regularizer=l2", "regularizer.l2.weight=1e-2"],
    "elastic": ["regularizer=elastic", "regularizer.elastic.weight=1e-3"],
    "dropout": ["regularizer=dropout"],
    "input_noise": ["regularizer=input_noise"],
    "label_smoothing": ["regularizer=label_smoothing"],
    "max_norm": ["regularizer=max_norm", "regularizer.max_norm.bound=1.0"],
    "early_stopping": [
        "regularizer=none",
        "callbacks=early_stopping",
        "callbacks.early_stopping.patience=1",
    ],  # fmt: skip
    "weight_decay": ["regularizer=none", "optimizer.weight_decay=0.05"],
    "kl_bayes_mlp": ["model=bayes_mlp", "regularizer=kl"],
    "kl_vae": ["model=vae", "regularizer=kl"],
}
PENALTIES = {"l1": "l1", "l2": "l2", "elastic": "elastic", "kl_bayes_mlp": "kl", "kl_vae": "kl"}


@pytest.mark.parametrize("optimizer", options("optimizer"))
@pytest.mark.parametrize("regularizer", list(REGULARIZERS))
def test_regularizer_runs_with_optimizer(regularizer: str, optimizer: str, tmp_path) -> None:
    overrides = [*SMALL, f"optimizer={optimizer}", *REGULARIZERS[regularizer]]
    decoupled = regularizer == "weight_decay" and optimizer != "adamw"
    if decoupled:  # the decoupled form for every optimiser (adamw has no other)
        overrides.append("optimizer.decoupled_weight_decay=true")
    summary = run_job(overrides, tmp_path)
    rows = read_metrics(tmp_path)

    assert summary["status"] == "completed"
    assert len(rows) == summary["epochs"] >= 2
    assert all(math.isfinite(v) for row in rows for v in row.values())
    assert rows[-1]["train/loss"] < rows[0]["train/loss"]  # the optimiser lowers the objective
    assert summary["optimizer"]["name"] == optimizer
    # early stopping is a callback and weight decay an optimiser setting: neither is in the list
    expected = {"early_stopping": [], "weight_decay": [], "kl_bayes_mlp": ["kl"], "kl_vae": ["kl"]}
    assert [r["name"] for r in summary["regularizers"]] == expected.get(regularizer, [regularizer])
    if regularizer in PENALTIES:
        name = PENALTIES[regularizer]
        assert all(row[f"train/penalty/{name}"] > 0 for row in rows)
    else:
        assert not any(key.startswith("train/penalty/") for key in rows[-1])
    if regularizer == "weight_decay":
        kind = "decoupled" if decoupled or optimizer == "adamw" else "coupled"
        assert summary["optimizer"]["weight_decay_kind"] == kind
        assert summary["optimizer"]["weight_decay"] == 0.05
    if regularizer == "kl_vae":
        assert "val/acc" not in rows[-1] and summary["final"]["val/acc"] is None
        assert all(row["val/penalty/kl"] > 0 for row in rows)
    else:
        assert 0 <= summary["final"]["val/acc"] <= 1
