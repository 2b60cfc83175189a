"""One member of a stack: its own module, record, callbacks and random stream, and the view of
the shared Trainer through which they see only themselves.

A member's callbacks (regopt's record, diagnostics, checkpoints) and its RegOptModule are the
classes a separate run uses; what they read from `trainer` (its loggers, callbacks, optimiser,
data module, `callback_metrics`, `should_stop`) the view answers with the member's own, and
everything else (the epoch, the global step, the strategy, the precision) with the shared
Trainer's. What the module logs (`self.log`) is caught here and handed to the member's loggers at
the points Lightning hands a separate run's to them, converted as Lightning converts it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Checkpoint, EarlyStopping, ModelCheckpoint
from pytorch_lightning.trainer.connectors.checkpoint_connector import _CheckpointConnector
from pytorch_lightning.trainer.connectors.logger_connector.result import _get_default_dtype

from regopt.module import RegOptModule
from regopt.pipeline import Job
from regopt.stacked.checkpoint_writes import CheckpointWrites


class MemberStrategy:
    """The shared strategy, except that the LightningModule it saves is the member's, and a
    checkpoint it removes may not have been written yet (regopt.stacked.checkpoint_writes)."""

    def __init__(self, strategy: Any, module: RegOptModule, writes: CheckpointWrites) -> None:
        self._strategy, self._module, self._writes = strategy, module, writes

    @property
    def lightning_module(self) -> RegOptModule:
        return self._module

    def lightning_module_state_dict(self) -> dict[str, Any]:
        return self._module.state_dict()

    def remove_checkpoint(self, filepath: str | Path) -> None:
        self._writes.discard(filepath)
        self._strategy.remove_checkpoint(filepath)  # an earlier write of it, if any

    def __getattr__(self, name: str) -> Any:
        return getattr(self._strategy, name)


class MemberTrainer:
    """What a member's module and callbacks see as `trainer`."""

    def __init__(self, trainer: pl.Trainer, member: Member, checkpoint_interval_s: float) -> None:
        self._trainer, self._member = trainer, member
        if any(_links_last(c) for c in member.callbacks):  # a link is made at once: write
            checkpoint_interval_s = 0.0  # the files it points to at once too
        self.checkpoint_writes = CheckpointWrites(self._write, checkpoint_interval_s)
        self.strategy = MemberStrategy(trainer.strategy, member.module, self.checkpoint_writes)
        self._checkpoints = _CheckpointConnector(self)  # type: ignore[arg-type]
        for callback in member.callbacks:
            if isinstance(callback, ModelCheckpoint):  # a pending file is a written one to it
                callback.file_exists = self._file_exists(callback.file_exists)  # type: ignore[method-assign]

    def __getattr__(self, name: str) -> Any:  # only for what the view does not answer itself
        return getattr(self._trainer, name)

    @property
    def lightning_module(self) -> RegOptModule:
        return self._member.module

    @property
    def callbacks(self) -> list[Any]:
        return self._member.callbacks

    @property
    def loggers(self) -> list[Any]:
        return self._member.loggers

    @property
    def logger(self) -> Any:
        return self._member.loggers[0] if self._member.loggers else None

    @property
    def callback_metrics(self) -> dict[str, torch.Tensor]:
        return self._member.callback_metrics

    @property
    def datamodule(self) -> pl.LightningDataModule:
        return self._member.datamodule

    @property
    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self._member.optimizer] if self._member.optimizer is not None else []

    @property
    def lr_scheduler_configs(self) -> list[Any]:
        return self._member.scheduler_configs

    @property
    def checkpoint_callback(self) -> Checkpoint | None:
        return next((c for c in self._member.callbacks if isinstance(c, Checkpoint)), None)

    @property
    def checkpoint_callbacks(self) -> list[Checkpoint]:
        return [c for c in self._member.callbacks if isinstance(c, Checkpoint)]

    @property
    def early_stopping_callbacks(self) -> list[EarlyStopping]:
        return [c for c in self._member.callbacks if isinstance(c, EarlyStopping)]

    @property
    def should_stop(self) -> bool:
        return self._member.stop_requested or self._trainer.should_stop

    @should_stop.setter
    def should_stop(self, value: bool) -> None:  # early stopping stops this member alone
        self._member.stop_requested = bool(value)

    def save_checkpoint(
        self, filepath: str | Path, weights_only: bool = False, storage_options: Any = None
    ) -> None:
        """The member's checkpoint, as Lightning writes a separate run's: its module's weights,
        its optimiser and scheduler, its callbacks' states, the shared loops' progress."""
        with self._member.own_random_stream():  # RngStateCheckpoint saves the member's stream
            checkpoint = self._checkpoints.dump_checkpoint(weights_only)
        self.checkpoint_writes.save(checkpoint, filepath, storage_options)  # now or behind
        self._trainer.strategy.barrier("MemberTrainer.save_checkpoint")

    def _write(self, checkpoint: dict[str, Any], filepath: str, storage_options: Any) -> None:
        self._trainer.strategy.save_checkpoint(checkpoint, filepath, storage_options)

    def _file_exists(self, exists: Any) -> Any:
        def file_exists(filepath: Any, trainer: Any) -> bool:
            return self.checkpoint_writes.pending(filepath) or exists(filepath, trainer)

        return file_exists


def _links_last(callback: Any) -> bool:
    return isinstance(callback, ModelCheckpoint) and callback.save_last == "link"


class CallbackMetrics(dict[str, torch.Tensor]):
    """A member's `callback_metrics`. ModelCheckpoint deep-copies them at every save, and
    `copy.deepcopy` takes a slow Python path for each tensor (a member logs about 35): a third of a
    member's checkpoint time. The values are detached copies, so a clone is the same deep copy."""

    def __deepcopy__(self, memo: dict[int, Any]) -> CallbackMetrics:
        return CallbackMetrics({name: value.clone() for name, value in self.items()})


class Member:
    """A job of the stack: its parts from `regopt.pipeline.assemble` and its own state."""

    def __init__(self, index: int, job: Job, output_dir: Path) -> None:
        self.index, self.output_dir = index, output_dir
        self.module = job.module
        self.datamodule = job.datamodule
        self.callbacks = job.callbacks
        self.loggers = [job.record, *job.trackers]
        self.trackers = job.trackers
        self.callback_metrics = CallbackMetrics()
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler_configs: list[Any] = []
        self.rng = torch.get_rng_state()  # its stream from here on, as its separate run's
        cuda = torch.cuda.is_available()  # seed_everything seeded the GPUs' generators too
        self.cuda_rng = torch.cuda.get_rng_state_all() if cuda else None
        self.stop_requested = False
        self.finished = False  # diverged, stopped early, failed or done: no more updates
        self.error: BaseException | None = None
        self.trainer: MemberTrainer | None = None
        self._logged: dict[str, torch.Tensor] = {}
        self.module.log = self._log  # type: ignore[method-assign]
        self.module.log_dict = self._log_dict  # type: ignore[method-assign]

    @property
    def active(self) -> bool:
        return not self.finished

    def attach(self, trainer: pl.Trainer, checkpoint_interval_s: float = 0.0) -> None:
        self.trainer = MemberTrainer(trainer, self, checkpoint_interval_s)
        self.module.trainer = self.trainer  # type: ignore[assignment]
        self.datamodule.trainer = self.trainer  # type: ignore[assignment]

    @contextmanager
    def own_random_stream(self) -> Iterator[None]:
        """Draw from this member's generators (input noise, mixup, dropout), then put the
        process's back: each member draws what its separate run draws."""
        outer = torch.get_rng_state()
        outer_cuda = torch.cuda.get_rng_state_all() if self.cuda_rng is not None else None
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        try:
            yield
        finally:
            self.rng = torch.get_rng_state()
            torch.set_rng_state(outer)
            if outer_cuda is not None:
                self.cuda_rng = torch.cuda.get_rng_state_all()
                torch.cuda.set_rng_state_all(outer_cuda)

    def call(self, hook: Any, *args: Any) -> Any:
        """A hook of the member's module, drawing from the member's stream."""
        with self.own_random_stream():
            return hook(*args)

    # -- what the module logs, held until Lightning would hand it to the loggers ---------------
    def _log(self, name: str, value: Any, *args: Any, **kwargs: Any) -> None:
        dtype = _get_default_dtype()
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(value, dtype=dtype)
        elif value.dtype not in (torch.float32, torch.float64):
            value = value.to(dtype)
        value = value.detach().clone()
        self._logged[name] = value
        self.callback_metrics[name] = value

    def _log_dict(self, metrics: Mapping[str, Any], *args: Any, **kwargs: Any) -> None:
        for name, value in metrics.items():
            self._log(name, value)

    def send_logged(self) -> None:
        """Hand what was logged since the last call to the loggers, as Lightning's logger
        connector does at the end of a validation or training epoch (never in a sanity check)."""
        logged, self._logged = self._logged, {}
        if not logged or self.trainer is None or self.trainer.sanity_checking:
            return
        metrics = {name: value.item() for name, value in logged.items()}
        step = metrics.pop("step", None)
        step = (
            int(step)
            if step is not None
            else self.trainer.fit_loop.epoch_loop._batches_that_stepped
        )
        if "step" not in logged:
            metrics.setdefault("epoch", self.trainer.current_epoch)
        for logger in self.loggers:
            logger.log_metrics(metrics=metrics, step=step)
            logger.save()
