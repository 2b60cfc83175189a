"""Lightning's callback hooks, handed to every active member's own callbacks, and a member's end.

The shared Trainer has one callback, `MemberCallbacks`; Lightning calls it where it calls a
separate run's callbacks (before the LightningModule's hook of the same name), and it calls each
active member's callbacks in their order with the member's view of the trainer and the member's
module. `on_train_epoch_end` is the exception: the stacked module calls it per member, since
Lightning runs the monitoring callbacks (checkpoints, early stopping) after the module's hook.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, Checkpoint, EarlyStopping

from regopt.record.failure import mark_failed
from regopt.record.run_dir import status_of
from regopt.stacked.member import Member

PLAIN = (
    "on_fit_start",
    "on_train_start",
    "on_train_epoch_start",
    "on_validation_start",
    "on_validation_epoch_start",
    "on_validation_epoch_end",
    "on_validation_end",
    "on_sanity_check_start",
    "on_sanity_check_end",
    "on_after_backward",
)


def is_monitoring(callback: Any) -> bool:
    return isinstance(callback, Checkpoint | EarlyStopping)


def call_callbacks(member: Member, hook: str, *args: Any, monitoring: bool | None = None) -> None:
    """`hook` of the member's callbacks; `monitoring`: only those that monitor (True), only
    the others (False), or all (None), as Lightning splits `on_train_epoch_end`."""
    with member.own_random_stream():  # a diagnostic's forward pass may sample (bayes_mlp)
        for callback in member.callbacks:
            if monitoring is None or is_monitoring(callback) == monitoring:
                getattr(callback, hook)(member.trainer, member.module, *args)


def end_member(member: Member, hook_args: tuple[Any, ...] = ()) -> None:
    """A member that completed (the stack's end, or its own early stop): the end of a
    separate run's fit, then its loggers finalised."""
    if member.finished:
        return
    member.finished = True
    close_checkpoints(member)
    for hook in ("on_train_end", "on_fit_end"):
        call_callbacks(member, hook)
        member.call(getattr(member.module, hook))
    call_callbacks(member, "teardown", "fit")
    member.call(member.module.teardown, "fit")
    for logger in member.loggers:
        logger.finalize("success")


def interrupt_member(member: Member, error: BaseException) -> None:
    """A member whose fit ended with `error` (its own divergence, or the stack's failure): what
    Lightning does for a separate run's exception; RunRecord records diverged or failed."""
    if member.finished:
        return
    member.finished = True
    member.error = error
    close_checkpoints(member)
    call_callbacks(member, "on_exception", error)
    for logger in member.loggers:
        logger.finalize("failed")
    summary = member.output_dir / "summary.json"
    if status_of(member.output_dir) not in ("diverged", "failed", "interrupted"):
        mark_failed(summary, error)


def close_checkpoints(member: Member) -> None:
    """The member's checkpoints not yet written, written (regopt.stacked.checkpoint_writes):
    before its end's hooks, which may read them or save more."""
    if member.trainer is not None:
        member.trainer.checkpoint_writes.close()


class MemberCallbacks(Callback):
    """Forwards Lightning's callback hooks to the active members' callbacks."""

    def __init__(self, members: list[Member]) -> None:
        self.members = members

    def _active(self) -> list[Member]:
        return [m for m in self.members if m.active]

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        for member in self._active():
            call_callbacks(member, "setup", stage)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        for member in self._active():
            call_callbacks(member, "on_train_batch_start", batch[member.index], batch_idx)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        for member in self._active():
            call_callbacks(member, "on_train_batch_end", None, batch[member.index], batch_idx)

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any
    ) -> None:
        for member in self._active():
            call_callbacks(member, "on_before_optimizer_step", member.optimizer)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        for member in self._active():
            interrupt_member(member, exception)


def _forwarding(hook: str) -> Any:
    def forward(self: MemberCallbacks, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for member in self._active():
            call_callbacks(member, hook)

    forward.__name__ = hook
    return forward


for _hook in PLAIN:
    setattr(MemberCallbacks, _hook, _forwarding(_hook))
