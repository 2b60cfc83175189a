"""One line every few epochs: readable in a terminal, a log file and a SLURM output alike.

Lightning's progress bar redraws every step, which floods files: it is on only in a single run at
a terminal (`trainer.enable_progress_bar: null`, regopt.scale.progress_bar), and these lines are
written only while it is off (a sweep, a log file, CI), so a terminal never gets both.
"""

from __future__ import annotations

import logging
import time

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from regopt.config.signature import checked
from regopt.ranges import PositiveInt

log = logging.getLogger("regopt")
SHOWN = ("train/loss", "val/loss", "val/acc")


@checked
class EpochProgress(Callback):
    def __init__(self, every_n_epochs: PositiveInt = 10) -> None:
        self.every_n_epochs = int(every_n_epochs)
        self._start = time.perf_counter()
        self._last_reported = -1

    def logged_keys(self, pl_module: pl.LightningModule) -> set[str]:
        return set()  # it prints, it logs nothing

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Reports the epoch that just ended: by now every hook has logged its metrics.
        epoch = trainer.current_epoch
        if epoch > 0 and epoch % self.every_n_epochs == 0:
            self._report(trainer, epoch)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._report(trainer, trainer.current_epoch)

    def _report(self, trainer: pl.Trainer, epochs_done: int) -> None:
        if not trainer.is_global_zero or epochs_done == self._last_reported:
            return
        if trainer.progress_bar_callback is not None:  # the bar shows the progress
            return
        self._last_reported = epochs_done
        metrics = trainer.callback_metrics
        shown = "  ".join(f"{k} {float(metrics[k]):.4f}" for k in SHOWN if k in metrics)
        elapsed = time.perf_counter() - self._start
        log.info(f"epoch {epochs_done}/{trainer.max_epochs}  {shown}  ({elapsed:.1f} s)")
