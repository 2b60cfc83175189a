"""Regularisers that change what the training data loss sees: the inputs or the targets."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from regopt.config.signature import checked
from regopt.ranges import NonNegative, Probability
from regopt.regularizers.base import Effect, FitContext, Regularizer
from regopt.tasks import Classification


@checked
class InputNoise(Regularizer):
    """Adds N(0, std^2) noise to every training input, fresh at every step (validation sees clean
    inputs). `std` is in the units of the normalised inputs. For small std the expected loss gains
    std^2 / 2 times the trace of its Hessian in the inputs: close to Tikhonov regularisation
    (Bishop, 1995), not equal to it."""

    strength_attr = "std"
    effect = Effect("train_confidence", "lower", settings={"std": 1.0})

    def __init__(self, std: NonNegative = 0.1) -> None:
        super().__init__()
        self.std = float(std)

    def transform_batch(self, inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        return inputs + self.std * torch.randn_like(inputs), targets

    def settings(self) -> dict[str, Any]:
        return {"std": self.std}


def class_probabilities(targets: Tensor, num_classes: int, like: Tensor) -> Tensor:
    """`targets` as class probabilities in `like`'s dtype: one-hot rows for class indices,
    unchanged when they are probabilities already (a batch hook such as mixup made them)."""
    if targets.is_floating_point():
        return targets.to(like.dtype)
    return F.one_hot(targets, num_classes).to(like.dtype)


def smooth_labels(targets: Tensor, num_classes: int, smoothing: float, like: Tensor) -> Tensor:
    """(1 - smoothing) * t + smoothing / num_classes, t the targets as class probabilities."""
    probabilities = class_probabilities(targets, num_classes, like)
    return probabilities * (1.0 - smoothing) + smoothing / num_classes


@checked
class LabelSmoothing(Regularizer):
    """The training loss compares the outputs with (1 - smoothing) one-hot + smoothing / K. Its
    cross-entropy is (1 - smoothing) CE(y) + smoothing * mean_k(-log p_k): a pull towards uniform
    predictions. Validation keeps the hard labels, so val/loss stays comparable across runs.
    Targets that are probabilities already (mixup's) are smoothed the same way: (1 - s) t + s / K.
    """

    strength_attr = "smoothing"
    effect = Effect("train_confidence", "lower", settings={"smoothing": 0.3})

    def __init__(self, smoothing: Probability = 0.1) -> None:
        super().__init__()
        self.smoothing = float(smoothing)

    def prepare(self, context: FitContext) -> None:
        if not isinstance(context.task, Classification):
            raise ValueError(
                "needs a classification task; "
                f"{type(context.model).__name__} does {context.task.name}"
            )

    def loss_targets(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return smooth_labels(targets, outputs.shape[-1], self.smoothing, outputs)

    def settings(self) -> dict[str, Any]:
        return {"smoothing": self.smoothing}
