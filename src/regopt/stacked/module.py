"""One LightningModule holding K members, trained by one Trainer in Lightning's own loop.

Automatic optimisation: Lightning sees one optimiser (`StackOptimizer`) whose step runs its
closure (the stacked `training_step`, one backward of the summed objectives of the members that
trained, the clipping), and this module's `optimizer_step` then steps each member with the
member's own `optimizer_step` (its torch optimiser, then its after-step regularisers: max_norm).
So zero_grad, backward, `accumulate_grad_batches`, `max_steps`, the epoch-interval scheduler step
and the global step stay Lightning's, counted once per batch as in a separate run, and each
member's update is its own torch optimiser's (on torch's fused kernel where torch has one: the
same update to rounding), exact for every optimiser by construction. The sum
of the objectives gives each member the gradient of its own objective alone (no member's loss
depends on another's parameters). Clipping (`trainer.gradient_clip_*`) is per member, with the
member's own hook, as its separate run clips it.

The members' RegOptModules are kept in a plain list (their `trainer` is their own view, which
Lightning must not overwrite); their models are registered here, so Lightning places them and
converts them to the run's precision as it does a separate run's model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.utilities.model_summary import summarize
from pytorch_lightning.utilities.types import LRSchedulerConfig
from torch import Tensor, nn

from regopt.divergence import Diverged
from regopt.optim.kernels import use_fast_kernels
from regopt.stacked.forward import StackedForward
from regopt.stacked.hooks import call_callbacks, end_member, interrupt_member
from regopt.stacked.member import Member
from regopt.stacked.parts import StackedLoader, StackOptimizer, StackScheduler


class StackedModule(pl.LightningModule):
    def __init__(self, members: list[Member], model_summary: bool = True) -> None:
        super().__init__()
        self.members = members
        self.model_summary = model_summary  # the separate runs' `trainer.enable_model_summary`
        self.models = nn.ModuleList([m.module.model for m in members])
        self._forward: StackedForward | None = None
        self._stepping: list[Member] = []

    def active(self) -> list[Member]:
        return [m for m in self.members if m.active]

    def setup(self, stage: str) -> None:
        for member in self.members:
            member.datamodule.setup(stage)  # the member's data on the training device
            member.module.setup(stage)

    def train_dataloader(self) -> StackedLoader:
        return StackedLoader([m.datamodule.train_dataloader() for m in self.members])

    def val_dataloader(self) -> StackedLoader:
        return StackedLoader([m.datamodule.val_dataloader() for m in self.members])

    def configure_optimizers(self) -> Any:
        """Each member's own optimiser and scheduler (its `configure_optimizers`), behind one
        front each, the optimiser on torch's fused or multi-tensor kernel where torch has one
        (regopt.optim.kernels: K per-parameter Python loops a batch were a tenth of a stack's
        time). Lightning calls this once the models are placed and converted."""
        schedulers: list[tuple[Member, Any]] = []
        for member in self.members:
            member.module.to(self.device)  # its `device`, as Lightning sets a separate run's
            configured = member.module.configure_optimizers()
            if isinstance(configured, dict):
                member.optimizer = configured["optimizer"]
                config = LRSchedulerConfig(**configured["lr_scheduler"])
                member.scheduler_configs = [config]
                schedulers.append((member, configured["lr_scheduler"]))
            else:
                member.optimizer = configured
            use_fast_kernels(member.optimizer)
        self._forward = StackedForward([m.module.model for m in self.members])
        optimizer = StackOptimizer([m.optimizer for m in self.members])
        if not schedulers:
            return optimizer
        settings = {k: v for k, v in schedulers[0][1].items() if k != "scheduler"}
        scheduler = StackScheduler(optimizer, self._step_schedulers)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, **settings}}

    def _step_schedulers(self) -> None:
        for member in self.active():
            for config in member.scheduler_configs:
                member.module.lr_scheduler_step(config.scheduler, None)

    def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
        scheduler.step()

    def on_fit_start(self) -> None:
        for member in self.active():
            if self.model_summary:  # its forward pass of the example input, in eval mode,
                with member.own_random_stream():  # draws from a sampling model's stream
                    summarize(member.module, max_depth=1)
            member.call(member.module.on_fit_start)

    def on_train_epoch_start(self) -> None:
        assert self._forward is not None
        self._forward.remeasure()
        for member in self.active():
            member.call(member.module.on_train_epoch_start)

    def _own_stream(self, index: int) -> Any:
        return self.members[index].own_random_stream()

    def _outputs(self, members: list[Member], inputs: list[Tensor]) -> list[Tensor]:
        assert self._forward is not None
        return self._forward([m.index for m in members], inputs, self._own_stream)

    def training_step(self, batch: tuple[tuple[Tensor, Tensor], ...], batch_idx: int) -> Any:
        """Every active member's objective on its own batch; the sum is what Lightning
        back-propagates. A member whose objective is not finite ends as `diverged` here, as its
        separate run would, and leaves the sum."""
        members = self.active()
        prepared = []
        for member in members:
            with member.own_random_stream():  # input noise, mixup: the member's own draws
                prepared.append(member.module.training_batch(*batch[member.index]))
        outputs = self._outputs(members, [inputs for inputs, _ in prepared])
        total: Tensor | None = None
        self._stepping = []
        for member, output, (_, targets) in zip(members, outputs, prepared, strict=True):
            try:
                with member.own_random_stream():
                    objective = member.module.training_objective(output, targets)
            except Diverged as diverged:  # its callbacks have recorded it (on_diverged)
                interrupt_member(member, diverged)
                continue
            total = objective if total is None else total + objective
            self._stepping.append(member)
        if total is None:  # every member has ended
            self.trainer.should_stop = True
        return total

    def configure_gradient_clipping(
        self, optimizer: Any, gradient_clip_val: Any = None, gradient_clip_algorithm: Any = None
    ) -> None:
        for member in self._stepping:
            member.module.configure_gradient_clipping(
                member.optimizer, gradient_clip_val, gradient_clip_algorithm
            )

    def optimizer_step(
        self,
        epoch: int,
        batch_idx: int,
        optimizer: Any,
        optimizer_closure: Callable[[], Any] | None = None,
    ) -> None:
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        for member in self._stepping:
            member.call(member.module.optimizer_step, epoch, batch_idx, member.optimizer)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        for member in self.active():
            try:
                member.call(member.module.on_train_batch_end, None, batch[member.index], batch_idx)
            except Diverged as diverged:  # the deferred check (an accelerator)
                interrupt_member(member, diverged)
        if not self.active():
            self.trainer.should_stop = True

    def on_validation_start(self) -> None:
        assert self._forward is not None
        self._forward.remeasure()
        for member in self.active():
            try:
                member.call(member.module.on_validation_start)
            except Diverged as diverged:
                interrupt_member(member, diverged)

    def validation_step(self, batch: tuple[tuple[Tensor, Tensor], ...], batch_idx: int) -> None:
        members = self.active()
        outputs = self._outputs(members, [batch[m.index][0] for m in members])
        for member, output in zip(members, outputs, strict=True):
            member.call(member.module.validation_outputs, output, *batch[member.index])

    def on_validation_epoch_end(self) -> None:
        for member in self.active():
            member.call(member.module.on_validation_epoch_end)
            member.send_logged()

    def on_validation_end(self) -> None:
        assert self._forward is not None
        self._forward.remeasure()  # back to training mode

    def on_train_epoch_end(self) -> None:
        """Per member as Lightning orders a separate run's: its callbacks, its module, its
        monitoring callbacks (checkpoints, early stopping), then the epoch's metrics to its
        loggers. A member whose early stopping fired ends here; the others go on."""
        for member in self.active():
            call_callbacks(member, "on_train_epoch_end", monitoring=False)
            member.call(member.module.on_train_epoch_end)
            call_callbacks(member, "on_train_epoch_end", monitoring=True)
            member.send_logged()
            if member.stop_requested:
                end_member(member)
        if not self.active():
            self.trainer.should_stop = True

    def on_fit_end(self) -> None:
        for member in self.active():
            end_member(member)
