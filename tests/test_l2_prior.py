"""L2 as a Gaussian prior: `prior_std` sets weight = 1 / (N prior_std^2) for regopt's mean loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import read_metrics, run_job
from regopt.models.mlp import MLP
from regopt.objective import Objective
from regopt.regularizers.penalties import L2Penalty
from regopt.tasks import Classification


def test_prior_std_objective_is_the_negative_log_posterior_over_n() -> None:
    """N (mean NLL + weight 0.5 ||w||^2) = sum NLL + ||w||^2 / (2 prior_std^2); float64, 1e-12."""
    torch.manual_seed(0)
    model, n, prior_std = MLP(5, 3, widths=[6]).double(), 40, 0.7
    x, y = torch.randn(n, 5, dtype=torch.float64), torch.randint(0, 3, (n,))
    l2 = L2Penalty(weight=123.0, prior_std=prior_std)  # the weight is derived, not taken
    objective = Objective(Classification(3), {"l2": l2})
    objective.prepare(model, train_size=n)
    assert l2.weight == pytest.approx(1 / (n * prior_std**2), rel=1e-15)
    total = objective.training_terms(model(x), y).total
    squared = model.net[1].weight.pow(2).sum() + model.net[4].weight.pow(2).sum()  # no biases
    log_posterior = F.cross_entropy(model(x), y, reduction="sum") + squared / (2 * prior_std**2)
    torch.testing.assert_close(n * total, log_posterior, rtol=1e-12, atol=0)
    assert l2.describe()["prior_std"] == prior_std and l2.describe()["train_size"] == n


def test_prior_std_run_equals_the_run_with_the_equivalent_weight(tmp_path) -> None:
    args = ["regularizer=l2", "optimizer=sgd", "trainer.max_epochs=3", "callbacks=none"]
    by_prior = run_job([*args, "regularizer.l2.prior_std=0.05"], tmp_path / "prior")
    weight = 1 / (359 * 0.05**2)  # by hand: 20% of the 1,797 digits train
    by_weight = run_job([*args, f"regularizer.l2.weight={weight!r}"], tmp_path / "weight")
    assert by_prior["regularizers"][0]["weight"] == weight
    assert by_prior["regularizers"][0]["train_size"] == 359
    assert by_weight["regularizers"][0]["weight"] == weight
    prior_rows, weight_rows = read_metrics(tmp_path / "prior"), read_metrics(tmp_path / "weight")
    assert prior_rows == weight_rows
    # and the penalty is not negligible at this strength: the runs differ from a weaker one
    run_job([*args, "regularizer.l2.prior_std=1.0"], tmp_path / "weak")
    assert read_metrics(tmp_path / "weak")[-1]["val/loss"] != prior_rows[-1]["val/loss"]
