"""The one interface every regulariser implements: one class, named by one YAML's `_target_`.

A regulariser may do any of these, by overriding the matching hook:
- add a term to the objective (`Penalty.penalty`, weighted, logged as `train/penalty/<name>`);
- change the model once, before training (`prepare`: dropout sets p on the dropout layers);
- change a training batch before the forward pass (`transform_batch(inputs, targets)`: input
  noise changes the inputs, mixup the inputs and the targets together). `targets` are the task's
  (class indices, or the inputs of a reconstruction); a hook may return class probabilities
  instead, which the data loss and the metrics accept. Validation never sees this hook;
- change the targets the training data loss compares the outputs with, after the forward pass
  (`loss_targets(outputs, targets)`: label smoothing; `targets` may already be probabilities);
- act after every optimiser step (`after_step`: the max-norm projection).

Per step the objective runs every `transform_batch` (in config order), the forward pass, every
`loss_targets` (in config order), the penalties, and after the step every `after_step`. The order
of the hook kinds is fixed, so a batch hook and a target hook compose in either config order.

Every regulariser with a strength (`strength_attr`: a penalty's weight, dropout's p, the input
noise's std, the label smoothing, mixup's alpha) follows its `schedule`
(regopt.regularizers.schedule): the objective calls `set_epoch` at the start of each training
epoch, which sets the strength to configured value x schedule factor through `apply_strength`.
No class needs its own schedule code.

The objective calls only the hooks a class overrides (see `overrides`), so a regulariser costs
nothing on the hot path for what it does not do. A regulariser that does not fit the model or the
task raises ValueError from `prepare`; the pipeline reports it in one line before training.

Two class attributes describe a regulariser to its tests (and readers), like a method card:
`needs` (the overrides any run with it needs: kl needs a model with a KL term) and `effect` (the
quantity it exists to move, and which way, against no regulariser on the same seed and data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.params import select_parameters
from regopt.ranges import NonNegative, ParamsRule
from regopt.regularizers.schedule import Schedule
from regopt.tasks import Task

HOOKS = ("transform_batch", "loss_targets", "after_step")  # the per-step hooks, in call order
DIRECTIONS = ("lower", "higher", "at_most")


@dataclass(frozen=True)
class FitContext:
    """What a regulariser may need to know about the run it joins."""

    model: nn.Module
    task: Task
    train_size: int  # training samples over all ranks: the N of "mean loss over the data set"
    input_shape: tuple[int, ...] | None = None  # the data's (channels, *spatial), when it has one


@dataclass(frozen=True)
class Effect:
    """What a regulariser exists to move, measured on the trained model against
    `regularizer=none` on the same seed and data (tests/test_regularizer_effects.py measures it).

    `quantity`: `weight_norm` (the L2 norm of the weight matrices), `near_zero_weights` (the
    fraction of weights near 0), `max_row_norm` (the largest row norm of a weight matrix),
    `train_confidence` (the mean largest softmax probability on the training set), `kl_to_prior`
    (the KL of a Bayesian model's posterior to its prior). `direction`: `lower` or `higher` than
    without it, or `at_most` the setting named by `limit`. `settings`: its own keys at a strength
    that shows the effect within a few epochs.
    """

    quantity: str
    direction: Literal["lower", "higher", "at_most"]
    settings: Mapping[str, Any] = field(default_factory=dict)
    limit: str | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction={self.direction!r}; allowed: {', '.join(DIRECTIONS)}")
        if (self.direction == "at_most") != (self.limit is not None):
            raise ValueError("direction=at_most needs a limit (the setting it stays under)")


class Regularizer:
    strength_attr: str | None = None  # the attribute a schedule scales; None: nothing to schedule
    needs: tuple[str, ...] = ()  # overrides any run with it needs, e.g. ("model=bayes_mlp",)
    effect: Effect | None = None  # what it moves, and which way (every shipped one declares it)

    def __init__(self) -> None:
        self.name = type(self).__name__.lower()  # the config key, set by the objective
        self.schedule = Schedule()
        self._configured: float | None = None  # the strength the schedule scales, set on first use

    def set_schedule(self, schedule: Schedule) -> None:
        if not schedule.is_constant and self.strength_attr is None:
            raise ValueError("has no strength to schedule; allowed: schedule.kind=constant")
        self.schedule = schedule

    def set_epoch(self, epoch: int) -> float | None:
        """Set this epoch's strength (configured x schedule factor) and return it; None when the
        regulariser has no strength. The configured value is read at the first call, after
        `prepare` (which may derive it, as l2's prior_std does)."""
        if self.strength_attr is None:
            return None
        if self._configured is None:
            self._configured = float(getattr(self, self.strength_attr))
        strength = self._configured * self.schedule.factor(epoch)
        self.apply_strength(strength)
        return strength

    def apply_strength(self, value: float) -> None:
        """Make `value` the strength in effect; override when it lives elsewhere (the model)."""
        setattr(self, self.strength_attr, value)  # type: ignore[arg-type]

    def prepare(self, context: FitContext) -> None:
        """Check that this regulariser fits the run (raise ValueError) and change the model."""

    def bind(self, model: nn.Module) -> None:
        """Collect the tensors it acts on; called again once the strategy has placed the model."""

    def transform_batch(self, inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """A training batch as the model (inputs) and the training data loss (targets) should
        see it; `targets` are the task's, or probabilities from an earlier batch hook."""
        return inputs, targets

    def loss_targets(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The targets the training data loss compares `outputs` with (after the forward pass;
        `targets` are class indices, or probabilities from a batch hook)."""
        return targets

    def after_step(self) -> None:
        """Runs after every optimiser step (under no_grad)."""

    def overrides(self, hook: str) -> bool:
        return getattr(type(self), hook) is not getattr(Regularizer, hook)

    def settings(self) -> dict[str, Any]:
        """Its strength and options, as recorded in summary.json."""
        return {}

    def label(self) -> str:
        """Its name and main setting, for the console: `dropout(p=0.5)`."""
        key, value = next(iter(self.settings().items()), ("", ""))
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        return f"{self.name}({key}={shown})" if key else self.name

    def describe(self) -> dict[str, Any]:
        scheduled = {} if self.schedule.is_constant else {"schedule": self.schedule.describe()}
        return {
            "name": self.name,
            "type": type(self).__name__,
            **self.settings(),
            **scheduled,
            "label": self.label(),
        }


@checked
class Penalty(Regularizer):
    """Adds `weight * penalty()` to the objective.

    A parameter penalty covers the tensors picked by the shared rule in `regopt.params` (the same
    rule the optimiser's weight decay uses). A `batch_dependent` penalty is computed from the last
    forward pass (a VAE's KL); it is also measured on validation batches, and has no value "at
    the end-of-epoch weights". `log_unweighted` also logs the penalty before its weight
    (`train/unweighted/<name>`), for penalties whose size matters even at weight 0 (the KL).
    """

    batch_dependent = False
    log_unweighted = False
    strength_attr = "weight"

    def __init__(self, weight: NonNegative, params: ParamsRule = "weights") -> None:
        super().__init__()
        self.weight = float(weight)
        self.params_rule = params
        self._params: list[nn.Parameter] = []

    def bind(self, model: nn.Module) -> None:
        self._params = [p for _, p in select_parameters(model, self.params_rule)]

    @property
    def parameters(self) -> list[nn.Parameter]:
        if not self._params:
            raise RuntimeError(f"regulariser '{self.name}' is not bound to a model (call bind)")
        return self._params

    def penalty(self, outputs: Tensor | None = None) -> Tensor:
        """The unweighted penalty; `outputs` are the last forward pass's (None between steps)."""
        raise NotImplementedError

    def weighted_penalty(self, outputs: Tensor | None = None) -> Tensor:
        return self.weight * self.penalty(outputs)

    def settings(self) -> dict[str, Any]:
        return {"weight": self.weight, "params": self.params_rule}

    def label(self) -> str:
        return f"{self.name}({self.weight:g})"
