"""The LightningModule: owns the objective and logs each term; a factory builds the optimiser.

regopt steps the optimiser itself (Lightning's manual optimisation), so one `training_step` can
take several optimiser steps: the data module serves a run of batches (a whole epoch, by default
on one device) per call, and Lightning's per-batch machinery runs once per run instead of once per
batch. Each step is what Lightning's automatic optimisation does: forward, zero_grad, backward,
clip, step, in that order, and `trainer.accumulate_grad_batches` means what it means there (the
loss divided by it, one step per window and at the epoch's last batch). See docs/benchmarks.md
for what this saves and docs/architecture.md for when the data module falls back to one batch per
call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from regopt.data.tensor_loader import BatchRun
from regopt.divergence import DeferredWatch, Diverged, defers
from regopt.objective import Objective
from regopt.optim.factory import OptimizerFactory
from regopt.ranges import NonNegative, PositiveInt
from regopt.running_means import RunningMeans

ClipAlgorithm = Literal["norm", "value"]


def stepping_keys(
    *,
    gradient_clip_val: NonNegative | None = None,
    gradient_clip_algorithm: ClipAlgorithm | None = "norm",
    accumulate_grad_batches: PositiveInt | None = 1,
) -> None:
    """The Trainer's keys that this module applies, since it steps the optimiser itself
    (Lightning does them only for automatic optimisation, and refuses them otherwise): the
    config check reads their types from this signature, the pipeline their names."""


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
        gradient_clip_val: NonNegative | None = None,
        gradient_clip_algorithm: ClipAlgorithm | None = None,
        accumulate_grad_batches: PositiveInt | None = 1,
        divergence_check: str = "auto",
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        # trainer.gradient_clip_* and accumulate_grad_batches of the config, applied here:
        # Lightning does them only for automatic optimisation
        self.gradient_clip_val = gradient_clip_val or None
        self.gradient_clip_algorithm = gradient_clip_algorithm or "norm"
        self.accumulate_grad_batches = int(accumulate_grad_batches or 1)
        self._batches_this_epoch = 0
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

    def on_fit_start(self) -> None:
        self.objective.bind(self.model)  # after the strategy has placed the model
        self._deferred = defers(self.divergence_check, self.device)

    def on_train_epoch_start(self) -> None:
        self._strengths = self.objective.set_epoch(self.current_epoch)
        self._batches_this_epoch = 0
        if self._deferred:
            self._watch.start(self.global_step, self.device)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One optimiser step per batch (per window of accumulated batches); `batch` is one
        (inputs, targets) pair or a run of them."""
        optimizer = self.optimizers()
        if isinstance(batch, BatchRun):  # Lightning converted a single batch (e.g. to float64)
            convert = self.trainer.precision_plugin.convert_input
            last = len(batch) - 1
            for i, (x, y) in enumerate(batch):
                self._step(optimizer, *convert((x, y)), batch.ends_epoch and i == last)
        else:
            self._step(optimizer, *batch, batch_idx + 1 == self.trainer.num_training_batches)

    def _step(self, optimizer: Any, x: Tensor, y: Tensor, ends_epoch: bool) -> None:
        targets = self.task.targets(x, y)
        outputs = self.model(self.objective.transform_inputs(x))
        terms = self.objective.training_terms(outputs, targets)
        if self._deferred:
            self._watch.note(terms.total)
        else:
            self._stop_if_not_finite(terms.total)
        metrics = self.task.metrics(outputs, targets)
        self._train_means.add([terms.total, terms.data, *terms.penalty_values(), *metrics], len(x))
        window = self.accumulate_grad_batches
        position = self._batches_this_epoch % window
        self._batches_this_epoch += 1
        steps = position == window - 1 or ends_epoch
        if position == 0:
            optimizer.zero_grad()
        # Under DDP every backward is all-reduced (the wrapper's forward, which decides that, ran
        # before this call): the same gradients as Lightning's no_sync windows, more communication.
        self.manual_backward(terms.total / window if window > 1 else terms.total)
        if not steps:
            return
        if self.gradient_clip_val:
            self.clip_gradients(optimizer, self.gradient_clip_val, self.gradient_clip_algorithm)
        optimizer.step()
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
        """The deferred check, once per run of batches and wherever the epoch's training may end
        (after the callbacks' own hook, which may have asked the trainer to stop)."""
        if not self._deferred:
            return
        trainer = self.trainer
        if (
            isinstance(batch, BatchRun)
            or batch_idx + 1 >= trainer.num_training_batches
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
            self.log_dict(strengths, on_step=False, on_epoch=True)  # the same on every rank
        with torch.no_grad():
            at_end = self.objective.weighted_penalties()
        if at_end:
            self._log_epoch({f"penalty/{name}": value for name, value in at_end.items()})
        scheduler = self.lr_schedulers()
        if scheduler is not None:  # after the epoch's lr was logged, before the checkpoint
            scheduler.step()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        targets = self.task.targets(x, y)
        outputs = self.model(x)
        terms = self.objective.validation_terms(outputs, targets)
        metrics = self.task.metrics(outputs, targets)
        self._val_means.add([terms.data, *terms.penalty_values(), *metrics], len(x))

    def on_validation_epoch_end(self) -> None:
        means = self._val_means.compute_and_reset()
        if means:
            self._log_epoch({f"val/{name}": value for name, value in means.items()})
            self._log_position()

    def _log_position(self) -> None:
        """`epoch`, and `step` = the index of the epoch's last optimiser step: Lightning's own step
        counts training_step calls, which is one per epoch with `steps_per_call: epoch`."""
        position = {"epoch": float(self.current_epoch), "step": float(max(self.global_step - 1, 0))}
        self.log_dict(position, on_step=False, on_epoch=True)

    def _log_epoch(self, metrics: dict[str, Tensor]) -> None:
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
