"""Every regulariser with every optimiser: a few epochs on CPU, in-process, with the full record.

The regularisers are what conf/regularizer/ holds (but `none`), each with what its class says a
run needs and the strength its `effect` declares; a new one joins with its class and YAML alone.
Beside them: the regularisers that are not in that group (early stopping, a callback; weight
decay, an optimiser setting; stochastic weight averaging, a callback that changes the weights
validated and kept) and kl's second model (the VAE). Small on purpose (10% of the
digits for training, 32 hidden units, 3 epochs, no callbacks or tracker). Each run must complete,
lower its objective, and record the regulariser (and its logged terms) and the optimiser.
"""

from __future__ import annotations

import math

import pytest

from conftest import (
    optimizers,
    read_metrics,
    regularizer_class,
    regularizer_overrides,
    regularizers,
    run_job,
    wraps_a_base,
)
from regopt.regularizers.base import Penalty

SMALL = ["callbacks=none", "data.train_fraction=0.1", "model.widths=[32]", "trainer.max_epochs=3"]
NOT_IN_THE_GROUP: dict[str, list[str]] = {
    "early_stopping": [
        "regularizer=none",
        "callbacks=early_stopping",
        "callbacks.early_stopping.patience=1",
    ],
    "weight_decay": ["regularizer=none", "optimizer.weight_decay=0.05"],
    "swa": ["regularizer=none", "callbacks=swa", "callbacks.swa.swa_epoch_start=2"],
    "kl_vae": ["model=vae", "regularizer=kl"],
}
SLOW_CASES = ("swa",)  # its own tests (tests/test_swa.py) run in `make test`; the grid in test-slow
CASES = [
    pytest.param(case, marks=pytest.mark.slow) if case in SLOW_CASES else case
    for case in [*regularizers(), *NOT_IN_THE_GROUP]
]


def case_overrides(case: str) -> list[str]:
    return NOT_IN_THE_GROUP.get(case) or regularizer_overrides(case)


@pytest.mark.parametrize("optimizer", optimizers())
@pytest.mark.parametrize("regularizer", CASES)
def test_regularizer_runs_with_optimizer(regularizer: str, optimizer: str, tmp_path) -> None:
    overrides = [*SMALL, f"optimizer={optimizer}", *case_overrides(regularizer)]
    decoupled = regularizer == "weight_decay" and optimizer != "adamw"
    if regularizer == "weight_decay" and wraps_a_base(optimizer):  # the base's decay (momentum)
        overrides = [o.replace("optimizer.", "optimizer.base.") for o in overrides]
    if decoupled:  # the decoupled form for every optimiser (adamw has no other)
        prefix = "optimizer.base" if wraps_a_base(optimizer) else "optimizer"
        overrides.append(f"{prefix}.decoupled_weight_decay=true")
    summary = run_job(overrides, tmp_path)
    rows = read_metrics(tmp_path)

    assert summary["status"] == "completed"
    assert len(rows) == summary["epochs"] >= 2
    assert all(math.isfinite(v) for row in rows for v in row.values())
    assert rows[-1]["train/loss"] < rows[0]["train/loss"]  # the optimiser lowers the objective
    assert summary["optimizer"]["name"] == optimizer
    # early stopping and swa are callbacks, weight decay an optimiser setting: none is in the list
    name = "kl" if regularizer == "kl_vae" else regularizer
    names = [] if regularizer in ("early_stopping", "weight_decay", "swa") else [name]
    assert [r["name"] for r in summary["regularizers"]] == names
    if names and issubclass(regularizer_class(name), Penalty):
        assert all(row[f"train/penalty/{name}"] > 0 for row in rows)
    else:
        assert not any(key.startswith("train/penalty/") for key in rows[-1])
    if regularizer == "weight_decay":
        kind = "decoupled" if decoupled or optimizer == "adamw" else "coupled"
        assert summary["optimizer"]["weight_decay_kind"] == kind
        assert summary["optimizer"]["weight_decay"] == 0.05
    if regularizer == "swa":  # averaged from epoch 2 of 3
        assert summary["weight_averaging"]["type"] == "SWAWeightAveraging"
    if regularizer == "kl_vae":
        assert "val/acc" not in rows[-1] and summary["final"]["val/acc"] is None
        assert all(row["val/penalty/kl"] > 0 for row in rows)
    else:
        assert 0 <= summary["final"]["val/acc"] <= 1
