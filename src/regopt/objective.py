"""The objective (data loss + sum of weighted penalties) and the dispatch of regulariser hooks.

It lives apart from the optimiser: the optimiser only ever sees parameters, and any term here
(an L2 penalty included) is part of what is minimised, logged on its own. The data loss is the
task's (regopt.tasks); regularisers may change a training batch (inputs and targets), the
targets the training loss sees, the model, or the weights after a step (the hooks and their
order: regopt.regularizers.base). Hook lists are fixed once, so a hook nobody overrides costs
nothing per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hydra.utils import instantiate
from torch import Tensor, nn

from regopt.regularizers.base import HOOKS, FitContext, Penalty, Regularizer
from regopt.regularizers.schedule import merged_schedule
from regopt.tasks import Task


@dataclass
class ObjectiveTerms:
    total: Tensor
    data: Tensor
    penalties: dict[str, Tensor]  # name -> weight * penalty
    unweighted: dict[str, Tensor]  # name -> penalty, for penalties that log it

    def penalty_values(self) -> list[Tensor]:
        """In the order of `Objective.penalty_names`."""
        return [*self.penalties.values(), *self.unweighted.values()]


class Objective:
    def __init__(self, task: Task, regularizers: Mapping[str, Regularizer]) -> None:
        self.task = task
        self.regularizers = dict(regularizers)
        for name, regularizer in self.regularizers.items():
            regularizer.name = name
        self.penalties = {n: r for n, r in self.regularizers.items() if isinstance(r, Penalty)}
        self._hooks = {
            hook: [r for r in self.regularizers.values() if r.overrides(hook)] for hook in HOOKS
        }

    def prepare(
        self, model: nn.Module, train_size: int, input_shape: tuple[int, ...] | None = None
    ) -> None:
        """Once, before training: each regulariser checks the run and may change the model."""
        context = FitContext(
            model=model, task=self.task, train_size=train_size, input_shape=input_shape
        )
        for name, regularizer in self.regularizers.items():
            try:
                regularizer.prepare(context)
            except ValueError as error:
                raise ValueError(f"regularizer.{name}: {error}") from error
        self.bind(model)

    def bind(self, model: nn.Module) -> None:
        for regularizer in self.regularizers.values():
            regularizer.bind(model)

    def _batch_penalties(self) -> dict[str, Penalty]:
        return {n: r for n, r in self.penalties.items() if r.batch_dependent}

    def penalty_names(self, stage: str) -> list[str]:
        """Names of `ObjectiveTerms.penalty_values()` for `train` or `val` (validation measures
        only the batch-dependent penalties: the others do not change within an epoch)."""
        penalties = self.penalties if stage == "train" else self._batch_penalties()
        unweighted = [f"unweighted/{n}" for n, r in penalties.items() if r.log_unweighted]
        return [*(f"penalty/{n}" for n in penalties), *unweighted]

    def set_epoch(self, epoch: int) -> dict[str, float]:
        """At the start of each training epoch: every regulariser sets its scheduled strength.
        Returns name -> strength in effect, for those that have one."""
        strengths = {n: r.set_epoch(epoch) for n, r in self.regularizers.items()}
        return {n: s for n, s in strengths.items() if s is not None}

    def transform_batch(self, inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """A training batch, before the forward pass: (inputs, the task's targets) as the
        model and the training data loss see them."""
        for regularizer in self._hooks["transform_batch"]:
            inputs, targets = regularizer.transform_batch(inputs, targets)
        return inputs, targets

    def data_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The task's loss on the true targets: what validation reports as val/loss."""
        return self.task.loss(outputs, targets)

    def training_terms(self, outputs: Tensor, targets: Tensor) -> ObjectiveTerms:
        for regularizer in self._hooks["loss_targets"]:
            targets = regularizer.loss_targets(outputs, targets)
        return self._terms(self.task.loss(outputs, targets), self.penalties, outputs)

    def validation_terms(self, outputs: Tensor, targets: Tensor) -> ObjectiveTerms:
        return self._terms(self.task.loss(outputs, targets), self._batch_penalties(), outputs)

    def _terms(
        self, data: Tensor, penalties: dict[str, Penalty], outputs: Tensor
    ) -> ObjectiveTerms:
        weighted, unweighted = {}, {}
        total = data
        for name, regularizer in penalties.items():
            value = regularizer.penalty(outputs)
            weighted[name] = regularizer.weight * value
            total = total + weighted[name]
            if regularizer.log_unweighted:
                unweighted[name] = value
        return ObjectiveTerms(total=total, data=data, penalties=weighted, unweighted=unweighted)

    def __call__(self, outputs: Tensor, targets: Tensor) -> ObjectiveTerms:
        return self.training_terms(outputs, targets)

    def weighted_penalties(self) -> dict[str, Tensor]:
        """Penalties at the current weights (those that do not depend on a batch)."""
        return {n: r.weighted_penalty() for n, r in self.penalties.items() if not r.batch_dependent}

    def after_step(self) -> None:
        for regularizer in self._hooks["after_step"]:
            regularizer.after_step()

    @property
    def names(self) -> list[str]:
        return list(self.regularizers)


def build_regularizer(spec: dict[str, Any], default_schedule: dict[str, Any] | None) -> Regularizer:
    """The regulariser of one `regularizer.<name>` node (plain data, resolved), following the
    root schedule or its own (`regularizer.l2.schedule.kind=delayed`): one Schedule class for all,
    which the regulariser's own constructor never sees."""
    body = dict(spec)
    own = body.pop("schedule", None)
    regularizer = instantiate(body)
    sets_its_own = any(v is not None for v in (own or {}).values())
    if sets_its_own or regularizer.strength_attr is not None:  # a constraint has no strength
        regularizer.set_schedule(merged_schedule(default_schedule, own))
    return regularizer
