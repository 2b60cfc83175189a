"""The LightningModule: owns the objective and logs each term; a factory builds the optimiser.

Lightning's own training loop (automatic optimisation): `training_step` gets one batch and returns
the objective, and Lightning does zero_grad, backward, `trainer.gradient_clip_*`,
`accumulate_grad_batches` and the optimiser and scheduler steps as it documents them. regopt adds
three things through Lightning's hooks: the after-step regularisers (`optimizer_step`, which
Lightning calls once per real optimiser step), the divergence check (regopt.divergence) and epoch
means logged once per epoch (regopt.running_means). docs/architecture.md says which hook does what.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from regopt.divergence import DeferredWatch, Diverged, defers
from regopt.objective import Objective
from regopt.optim.factory import OptimizerFactory
from regopt.quiet import quiet_third_party_notices
from regopt.running_means import RunningMeans


class RegOptModule(pl.LightningModule):
    """Logged each epoch: `train/loss` (the whole objective), `train/loss_data`,
    `train/penalty/<name>` (weighted; epoch means over the steps), `train/unweighted/<name>` (for
    penalties that log it, as the KL), the task's metrics (`train/acc` for classification);
    `penalty/<name>` (weighted, at the weights that end the epoch); `val/loss` (the task's data
    loss on the true targets), `val/penalty/<name>` (penalties that depend on the batch) and the
    task's metrics (`val/acc`); `reg/<name>/strength`, the strength each regulariser's schedule
    set for the epoch.

    Regularisers act through the objective's hooks only: inputs, loss targets, penalties, and
    `after_step` once the optimiser has stepped. No regulariser is special-cased here.
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        optimizer: OptimizerFactory,
        scheduler: Callable[[torch.optim.Optimizer], Any] | None,
        divergence_check: str = "auto",
        input_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.input_dim = input_dim  # the width of a flat input batch, for the model summary
        self.divergence_check = divergence_check  # regopt.divergence: step, deferred or auto
        self._deferred = False
        self._watch = DeferredWatch()
        self.model = model
        self.objective = objective
        self.task = objective.task
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        metrics = list(self.task.metric_names)
        train_names = ["loss", "loss_data", *objective.penalty_names("train"), *metrics]
        self._train_means = RunningMeans(train_names)
        self._val_means = RunningMeans(["loss", *objective.penalty_names("val"), *metrics])
        self._strengths: dict[str, float] = {}

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    @property
    def example_input_array(self) -> Tensor | None:
        """Two inputs of zeros in the model's dtype: Lightning's model summary measures the FLOPs
        of a forward pass with them (without one it prints `Total FLOPs: 0`)."""
        if self.input_dim is None:
            return None
        weight = next(self.model.parameters(), None)
        dtype = weight.dtype if weight is not None else None
        return torch.zeros(2, self.input_dim, dtype=dtype)

    def logged_keys(self) -> set[str]:
        """Every metric this module logs (the monitor check reads them before training)."""
        keys = {"epoch", "step", *(f"train/{name}" for name in self._train_means.names)}
        keys |= {f"val/{name}" for name in self._val_means.names}
        keys |= {
            f"penalty/{n}" for n, r in self.objective.penalties.items() if not r.batch_dependent
        }
        keys |= {
            f"reg/{n}/strength" for n, r in self.objective.regularizers.items() if r.strength_attr
        }
        return keys

    def setup(self, stage: str) -> None:
        quiet_third_party_notices()  # in every process: a spawned DDP worker starts afresh

    def on_fit_start(self) -> None:
        self.objective.bind(self.model)  # after the strategy has placed the model
        self._deferred = defers(self.divergence_check, self.device)

    def on_train_epoch_start(self) -> None:
        self._strengths = self.objective.set_epoch(self.current_epoch)
        if self._deferred:
            self._watch.start(self.global_step, self.device)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """One batch: the objective Lightning back-propagates. With the per-step check a
        non-finite objective raises here, before Lightning's backward and step."""
        inputs, targets = self.training_batch(*batch)
        return self.training_objective(self.model(inputs), targets)

    def training_batch(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """The batch as the model and the training data loss see it (the batch hooks: input
        noise, mixup). Apart from the forward pass so that a stack of modules can batch it."""
        return self.objective.transform_batch(x, self.task.targets(x, y))

    def training_objective(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The objective of one batch's outputs, checked (divergence) and added to the epoch
        means."""
        terms = self.objective.training_terms(outputs, targets)
        if self._deferred:
            self._watch.note(terms.total)
        else:
            self._stop_if_not_finite(terms.total)
        metrics = self.task.metrics(outputs, targets)
        values = [terms.total, terms.data, *terms.penalty_values(), *metrics]
        self._train_means.add(values, len(outputs))
        return terms.total

    def optimizer_step(
        self,
        epoch: int,
        batch_idx: int,
        optimizer: Any,
        optimizer_closure: Callable[[], Any] | None = None,
    ) -> None:
        """Lightning's step (its closure runs training_step, backward and clipping), then the
        after-step regularisers (max_norm). Lightning calls this hook once per optimiser step:
        under accumulation only when a window ends, so the projection follows every update."""
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        if self._deferred:
            self._watch.stepped()
        self.objective.after_step()

    def _stop_if_not_finite(self, loss: Tensor) -> None:
        """Raise Diverged before backward, so the optimiser never applies a non-finite loss.
        Every rank agrees (one boolean all-reduce under DDP), so all stop at the same step."""
        bad = not bool(torch.isfinite(loss))  # the one host sync per step
        if self.trainer.world_size > 1:
            bad = self.trainer.strategy.reduce_boolean_decision(bad, all=False)
        if bad:
            self._diverge(self.global_step, float(loss.detach()))

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """The deferred check, wherever the epoch's training may end (after the callbacks' own
        hook, which may have asked the trainer to stop): once per epoch unless a limit stops it."""
        if not self._deferred:
            return
        trainer = self.trainer
        if (
            batch_idx + 1 >= trainer.num_training_batches
            or trainer.should_stop
            or 0 <= (trainer.max_steps or -1) <= self.global_step
        ):
            self._check_deferred()

    def on_validation_start(self) -> None:
        if self._deferred:  # a validation inside the epoch (val_check_interval < 1)
            self._check_deferred()

    def _check_deferred(self) -> None:
        """One host sync (under DDP one all-gather): the earliest non-finite step of any rank."""
        found = self._watch.read()
        if found is None:  # nothing trained since the last read (the same on every rank)
            return
        if self.trainer.world_size > 1:
            found = self.all_gather(found)
        bad = [(step, loss) for step, loss in found.reshape(-1, 2).tolist() if step >= 0]
        if bad:
            step, loss = min(bad)
            self._diverge(int(step), loss)

    def _diverge(self, step: int, loss: float) -> None:
        diverged = Diverged(self.current_epoch, step, loss)
        for callback in self.trainer.callbacks:  # RunRecord: here, since a spawned DDP process
            if hasattr(callback, "on_diverged"):  # dies with the exception, no on_exception
                callback.on_diverged(self.trainer, self, diverged)
        raise diverged

    def on_train_epoch_end(self) -> None:
        means = self._train_means.compute_and_reset()
        if not means:
            return
        self._log_epoch({f"train/{name}": value for name, value in means.items()})
        self._log_position()
        if self._strengths:
            strengths = {f"reg/{name}/strength": v for name, v in self._strengths.items()}
            self._log_epoch(strengths)  # the same on every rank: the mean is the value
        with torch.no_grad():
            at_end = self.objective.weighted_penalties()
        if at_end:
            self._log_epoch({f"penalty/{name}": value for name, value in at_end.items()})

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        self.validation_outputs(self.model(x), x, y)

    def validation_outputs(self, outputs: Tensor, x: Tensor, y: Tensor) -> None:
        """A validation batch's outputs, added to the epoch means."""
        targets = self.task.targets(x, y)
        terms = self.objective.validation_terms(outputs, targets)
        metrics = self.task.metrics(outputs, targets)
        self._val_means.add([terms.data, *terms.penalty_values(), *metrics], len(x))

    def on_validation_epoch_end(self) -> None:
        means = self._val_means.compute_and_reset()
        if means:
            self._log_epoch({f"val/{name}": value for name, value in means.items()})
            self._log_position()

    def _log_position(self) -> None:
        """`epoch`, and `step` = the index of the epoch's last optimiser step, on the training and
        the validation logs alike (Lightning's own logger step for a validation is one more)."""
        position = {"epoch": float(self.current_epoch), "step": float(max(self.global_step - 1, 0))}
        self._log_epoch(position)  # synced under DDP like the rest (Lightning warns otherwise)

    def _log_epoch(self, metrics: dict[str, Tensor] | dict[str, float]) -> None:
        distributed = self.trainer.world_size > 1
        self.log_dict(metrics, on_step=False, on_epoch=True, sync_dist=distributed)

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.model)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }
