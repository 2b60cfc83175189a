"""What the model is asked to do: the one place that picks the data loss and the metrics.

The data loss of every task is a per-sample negative log-likelihood, averaged over the batch, so the
objective is the mean loss over the data set (which the L2 `prior_std` conversion and the KL
scaling rely on). A new task is one class here and one entry in `TASKS`; the LightningModule and
the regularisers never test which task they serve.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn


class Task:
    """The data loss, the targets it compares outputs with, and the per-sample metrics."""

    name: str = "task"
    metric_names: tuple[str, ...] = ()

    def targets(self, inputs: Tensor, labels: Tensor) -> Tensor:
        """What the outputs are compared with: the labels, or the inputs themselves."""
        return labels

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        raise NotImplementedError

    def metrics(self, outputs: Tensor, targets: Tensor) -> list[Tensor]:
        """Batch means, in the order of `metric_names` (device tensors: no host sync)."""
        return []

    def check_data(self, datamodule: Any) -> None:
        """Raise ValueError when the data cannot be modelled this way (called after setup)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


class Classification(Task):
    """Cross-entropy (the negative log-likelihood of a categorical output) and accuracy.

    Targets are class indices, or class probabilities once a regulariser has softened them
    (label smoothing): `F.cross_entropy` accepts both.
    """

    name = "classification"
    metric_names = ("acc",)

    def __init__(self, num_classes: int) -> None:
        self.num_classes = int(num_classes)

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(outputs, targets)

    def metrics(self, outputs: Tensor, targets: Tensor) -> list[Tensor]:
        if targets.is_floating_point():  # soft targets: score against their most likely class
            targets = targets.argmax(dim=-1)
        # The micro-averaged accuracy of torchmetrics' multiclass_accuracy (a test checks they
        # agree), computed directly: torchmetrics' functional form costs about 10x more per
        # step, which was the largest framework cost of a small model's step (docs/benchmarks.md).
        return [(outputs.argmax(dim=-1) == targets).float().mean()]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "num_classes": self.num_classes}


LIKELIHOODS = ("bernoulli", "gaussian")


class Reconstruction(Task):
    """The model reproduces its (flattened) inputs; no accuracy.

    `bernoulli`: outputs are logits, the loss is the binary cross-entropy summed over the features
    (inputs must lie in [0, 1]). `gaussian`: outputs are means of unit-variance Gaussians, the loss
    is 0.5 * squared error summed over the features (the NLL without its constant).
    """

    name = "reconstruction"

    def __init__(self, likelihood: str = "bernoulli") -> None:
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood={likelihood!r}; allowed: {', '.join(LIKELIHOODS)}")
        self.likelihood = likelihood

    def targets(self, inputs: Tensor, labels: Tensor) -> Tensor:
        return inputs.flatten(1)

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        if self.likelihood == "bernoulli":
            per_feature = F.binary_cross_entropy_with_logits(outputs, targets, reduction="none")
        else:
            per_feature = 0.5 * (outputs - targets).pow(2)
        return per_feature.sum(dim=1).mean()

    def check_data(self, datamodule: Any) -> None:
        x = getattr(datamodule, "x_train", None)
        if self.likelihood == "bernoulli" and x is not None and (x.min() < 0 or x.max() > 1):
            raise ValueError(
                "model.likelihood=bernoulli needs inputs in [0, 1]; set data.normalize=scale "
                "or model.likelihood=gaussian"
            )

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "likelihood": self.likelihood}


class Regression(Task):
    """Squared error, summed over the output dimensions and averaged over the batch; `mse` and
    `mae` are means over every output element (equal to the loss's terms when there is one output).

    The squared error is the per-sample NLL of a Gaussian N(f(x), sigma^2 I) with sigma^2 = 1/2,
    without its constant: -log p = |y - f(x)|^2 / (2 sigma^2) + const. So an L2 penalty's
    `prior_std` conversion reads it as a Gaussian likelihood of that fixed noise variance.
    Both metrics are per-sample means, so batch means weighted by batch size average exactly
    (an R^2 would not: it divides by the batch's own variance).
    """

    name = "regression"
    metric_names = ("mse", "mae")

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return (outputs - targets.view_as(outputs)).pow(2).sum(dim=1).mean()

    def metrics(self, outputs: Tensor, targets: Tensor) -> list[Tensor]:
        error = outputs - targets.view_as(outputs)
        return [error.pow(2).mean(), error.abs().mean()]

    def check_data(self, datamodule: Any) -> None:
        y = getattr(datamodule, "y_train", None)
        if y is not None and not y.is_floating_point():
            raise ValueError("a regression task needs real-valued targets (got class labels)")


TASKS = ("classification", "reconstruction", "regression")


def make_task(model: nn.Module, datamodule: Any) -> Task:
    """The model's own task when it declares one (a VAE reconstructs), else the data's. A model
    built to classify (the Bayesian MLP averages class probabilities) refuses other data."""
    data_task = getattr(datamodule, "task", "classification")
    name = getattr(model, "task", None) or data_task
    if name == "classification" and data_task != "classification":
        raise ValueError(
            f"{type(model).__name__} is a classifier; the data's task is {data_task} "
            "(use model=mlp)"
        )
    if name == "classification":
        return Classification(datamodule.num_classes)
    if name == "reconstruction":
        return Reconstruction(getattr(model, "likelihood", "bernoulli"))
    if name == "regression":
        return Regression()
    raise ValueError(f"task={name!r}; allowed: {', '.join(TASKS)}")
