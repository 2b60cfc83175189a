"""Mixup (Zhang et al., 2018): train on convex combinations of pairs of samples and their labels."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.ranges import NonNegative
from regopt.regularizers.base import Effect, FitContext, Regularizer
from regopt.regularizers.data import class_probabilities
from regopt.tasks import Classification


@checked
class Mixup(Regularizer):
    """Each training batch becomes lam * x + (1 - lam) * x[perm] with targets
    lam * onehot(y) + (1 - lam) * onehot(y[perm]): one lam ~ Beta(alpha, alpha) per batch and a
    random pairing `perm` within it, both from torch's generators (so a run is reproducible and
    resumes exactly: the generators are in its checkpoints). The cross-entropy on these targets is
    lam * CE(y) + (1 - lam) * CE(y[perm]). alpha = 0 (Beta(0, 0) puts lam at 0 or 1) leaves the
    batch as it is. Validation sees clean inputs and hard labels. Classification only.
    """

    strength_attr = "alpha"
    effect = Effect("train_confidence", "lower", settings={"alpha": 1.0})

    def __init__(self, alpha: NonNegative = 0.2) -> None:
        super().__init__()
        self.alpha = float(alpha)
        self.num_classes = 0
        self._beta: tuple[float, torch.distributions.Beta] | None = None

    def prepare(self, context: FitContext) -> None:
        if not isinstance(context.task, Classification):
            raise ValueError(
                "needs a classification task; "
                f"{type(context.model).__name__} does {context.task.name}"
            )
        self.num_classes = context.task.num_classes

    def draw_lambda(self) -> float:
        """One lam ~ Beta(alpha, alpha), on the CPU generator (no device sync)."""
        if self._beta is None or self._beta[0] != self.alpha:  # a schedule changed alpha
            concentration = torch.tensor(self.alpha)
            beta = torch.distributions.Beta(concentration, concentration, validate_args=False)
            self._beta = (self.alpha, beta)
        return float(self._beta[1].sample())

    def transform_batch(self, inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        if self.alpha == 0:
            return inputs, targets
        lam = self.draw_lambda()
        perm = torch.randperm(len(inputs), device=inputs.device)
        probabilities = class_probabilities(targets, self.num_classes, inputs)
        mixed = lam * inputs + (1.0 - lam) * inputs[perm]
        return mixed, lam * probabilities + (1.0 - lam) * probabilities[perm]

    def settings(self) -> dict[str, Any]:
        return {"alpha": self.alpha}
