"""The classification task's accuracy is torchmetrics' micro accuracy, computed more cheaply."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.functional.classification import multiclass_accuracy

from regopt.tasks import Classification


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
