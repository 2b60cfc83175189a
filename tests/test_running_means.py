"""Epoch means are per-sample means: a short last batch weighs by its size, not as a batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from regopt.diagnostics.subset import evaluate
from regopt.running_means import RunningMeans
from regopt.tasks import Classification


def data() -> tuple[torch.Tensor, torch.Tensor, nn.Module]:
    torch.manual_seed(0)
    module = nn.Linear(3, 4)
    module.task = Classification(num_classes=4)  # what evaluate asks of a module
    return torch.randn(23, 3), torch.randint(0, 4, (23,)), module


def test_running_means_weigh_a_short_last_batch_by_its_samples() -> None:
    x, y, module = data()
    means = RunningMeans(["loss", "acc"])
    for start in range(0, 23, 10):  # batches of 10, 10 and 3
        with torch.no_grad():
            out = module(x[start : start + 10])
        target = y[start : start + 10]
        acc = (out.argmax(-1) == target).float().mean()
        means.add([nn.functional.cross_entropy(out, target), acc], len(target))
    result = means.compute_and_reset()
    with torch.no_grad():
        whole = module(x)
    # the whole set in one pass: the per-sample means, independent of the batching
    assert result["loss"].item() == pytest.approx(nn.functional.cross_entropy(whole, y).item())
    assert result["acc"].item() == pytest.approx((whole.argmax(-1) == y).sum().item() / 23)
    assert means.compute_and_reset() == {}  # reset: the next epoch starts empty


def test_evaluate_over_uneven_batches_equals_one_pass_over_the_subset() -> None:
    x, y, module = data()
    batches = [(x[:16], y[:16]), (x[16:], y[16:])]  # 16 and 7 samples
    with torch.no_grad():
        out = evaluate(module, batches)
        whole = module(x)
    assert out["loss"].item() == pytest.approx(nn.functional.cross_entropy(whole, y).item())
    assert out["acc"].item() == pytest.approx((whole.argmax(-1) == y).sum().item() / 23)
