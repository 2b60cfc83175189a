"""The tasks' losses and metrics against independent computations: torchmetrics' micro accuracy,
torch.distributions' log-likelihoods, torch's mse and l1 losses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal
from torchmetrics.functional.classification import multiclass_accuracy

from regopt.tasks import Classification, Reconstruction, Regression


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_accuracy_equals_torchmetrics_micro_accuracy(dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    task = Classification(num_classes=7)
    for batch in (1, 5, 64, 333):
        logits = torch.randn(batch, 7, generator=generator, dtype=dtype)
        labels = torch.randint(0, 7, (batch,), generator=generator)
        labels[: batch // 2] = logits[: batch // 2].argmax(-1)  # some right, some wrong
        (ours,) = task.metrics(logits, labels)
        expected = multiclass_accuracy(logits, labels, num_classes=7, average="micro")
        assert ours.item() == pytest.approx(expected.item(), abs=1e-7)


def test_soft_targets_are_scored_against_their_most_likely_class() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    soft = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.1, 0.8, 0.1]])
    (accuracy,) = Classification(num_classes=3).metrics(logits, soft)
    assert accuracy.item() == pytest.approx(0.5)  # rows 0 and 2 agree with the argmax of soft


def test_reconstruction_losses_are_per_sample_nlls_averaged_over_the_batch() -> None:
    """float64: bernoulli is -sum [x log sigmoid(l) + (1 - x) log sigmoid(-l)] by hand (soft
    pixels allowed); gaussian is torch.distributions' -sum log N(x; mean, 1) without D/2 log(2 pi).
    """
    g = torch.Generator().manual_seed(0)
    outputs = torch.randn(7, 5, generator=g, dtype=torch.float64)
    x = torch.rand(7, 5, generator=g, dtype=torch.float64)
    bernoulli = Reconstruction("bernoulli")
    log_lik = x * F.logsigmoid(outputs) + (1 - x) * F.logsigmoid(-outputs)
    nll = -log_lik.sum(dim=1).mean()
    torch.testing.assert_close(bernoulli.loss(outputs, x), nll, rtol=1e-12, atol=0)
    constant = 0.5 * 5 * math.log(2 * math.pi)
    nll = -Normal(outputs, 1.0).log_prob(x).sum(dim=1).mean() - constant
    torch.testing.assert_close(Reconstruction("gaussian").loss(outputs, x), nll, rtol=1e-12, atol=0)
    assert torch.equal(bernoulli.targets(x.view(7, 1, 5), None), x)  # flattened inputs


def test_regression_loss_is_the_gaussian_nll_with_variance_one_half() -> None:
    """sum over outputs of the squared error, mean over samples: -log N(y; f, 1/2) minus its
    constant (what the L2 prior_std conversion assumes); mse and mae are torch's elementwise means.
    """
    g = torch.Generator().manual_seed(1)
    task = Regression()
    for outputs, y in [
        (
            torch.randn(9, 3, generator=g, dtype=torch.float64),
            torch.randn(9, 3, generator=g, dtype=torch.float64),
        ),
        (
            torch.randn(9, 1, generator=g, dtype=torch.float64),
            torch.randn(9, generator=g, dtype=torch.float64),
        ),  # flat targets, one output
    ]:
        dims = outputs.shape[1]
        nll = -Normal(outputs, math.sqrt(0.5)).log_prob(y.view_as(outputs)).sum(dim=1).mean()
        constant = 0.5 * dims * math.log(math.pi)  # 0.5 log(2 pi sigma^2) per output
        torch.testing.assert_close(task.loss(outputs, y), nll - constant, rtol=1e-12, atol=1e-15)
        mse, mae = task.metrics(outputs, y)
        torch.testing.assert_close(mse, F.mse_loss(outputs, y.view_as(outputs)))
        torch.testing.assert_close(mae, F.l1_loss(outputs, y.view_as(outputs)))
