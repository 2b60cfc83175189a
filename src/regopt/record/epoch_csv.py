"""metrics.csv: one row per epoch, every epoch-level metric a column.

Lightning's CSVLogger writes a row per logging call (training and validation of one epoch land on
separate rows). This logger merges each epoch's calls into one row, keyed by the `epoch` value
Lightning adds to what `self.log` records, and rewrites the file atomically. A metric logged with no
epoch (a stock callback's, such as LearningRateMonitor's `lr-Adam`, written straight to the
loggers) joins the row of the epoch being trained, with that epoch's last value.

Lightning calls `save` after every logging call (two or three times an epoch). A rewrite costs
O(rows x columns) plus an fsync: 20 ms for 200 epochs of 45 columns, more than a digits epoch. So
`save` rewrites at most every `min_interval_s` seconds; `flush` and `finalize` always write.

The rows also travel inside every checkpoint (`EpochRowsCheckpoint`), so a resumed run continues
the record exactly, whatever the file held when the process was killed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from regopt.record.atomic import write_text_atomic


class EpochCSVLogger(Logger):
    def __init__(self, path: str | Path, min_interval_s: float = 2.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.min_interval_s = float(min_interval_s)
        self.rows: list[dict[str, float]] = []
        self.epoch = 0  # the epoch being trained: EpochRowsCheckpoint keeps it current
        self._last_write = -math.inf

    @property
    def name(self) -> str:
        return "regopt-record"

    @property
    def version(self) -> str:
        return "0"

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """The resolved config is saved by the pipeline as config.yaml."""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        stepwise = "epoch" not in metrics  # not from self.log: no step column from it
        epoch = self.epoch if stepwise else int(metrics["epoch"])
        while self.rows and self.rows[-1]["epoch"] > epoch:  # a resumed run repeats these epochs
            self.rows.pop()
        if not self.rows or self.rows[-1]["epoch"] != epoch:
            self.rows.append({"epoch": epoch})
        row = self.rows[-1]
        row.update({k: float(v) for k, v in metrics.items() if k != "epoch"})
        if step is not None and not stepwise:
            row["step"] = int(step)

    @rank_zero_only
    def save(self) -> None:
        if time.monotonic() - self._last_write >= self.min_interval_s:
            self.flush()

    @rank_zero_only
    def flush(self) -> None:
        if self.rows:
            write_text_atomic(self.path, rows_to_csv(self.rows))
            self._last_write = time.monotonic()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.flush()


def rows_to_csv(rows: list[dict[str, float]]) -> str:
    leading = ["epoch", "step"]
    others = sorted({key for row in rows for key in row} - set(leading))
    columns = [c for c in leading if any(c in row for row in rows)] + others
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _format(v) for k, v in row.items()})
    return buffer.getvalue()


def _format(value: float) -> str:
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer()):
        return str(int(value))
    return repr(float(value))


KEY = "regopt_epoch_rows"


def rows_from_checkpoint(saved: str) -> list[dict[str, float]]:
    return json.loads(saved)  # a list of fresh dicts: nothing else holds them


class EpochRowsCheckpoint(Callback):
    """Keeps the EpochCSVLogger in step with the trainer: tells it the epoch being trained, puts
    the per-epoch rows (completed with the epoch's metrics not yet handed to the loggers) into each
    checkpoint, and gives them back on resume.

    The rows travel as one JSON string (floats exact, NaN and inf included): torch.save pays a
    Python call for every object it pickles, and rows kept as dicts cost each checkpoint
    O(epochs x columns) calls. The text of a finished epoch's row is kept and reused: such a row
    no longer changes (the loggers got its metrics when its epoch ended), and encoding every row
    again cost a 200-epoch run's late checkpoints 4 ms each."""

    def __init__(self) -> None:
        self._finished: list[tuple[dict[str, float], str]] = []  # (row, its JSON), by position

    def _text(self, position: int, row: dict[str, float]) -> str:
        if position < len(self._finished) and self._finished[position][0] is row:
            return self._finished[position][1]
        del self._finished[position:]
        text = json.dumps(row, default=float)
        self._finished.append((row, text))
        return text

    @staticmethod
    def _record(trainer: pl.Trainer) -> EpochCSVLogger | None:
        return next((lg for lg in trainer.loggers if isinstance(lg, EpochCSVLogger)), None)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        record = self._record(trainer)
        if record is not None:
            record.epoch = trainer.current_epoch

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        record = self._record(trainer)
        if record is None:
            return
        rows, current = record.rows, trainer.current_epoch
        finished, last = rows, {"epoch": current}
        if rows and rows[-1]["epoch"] == current:
            finished, last = rows[:-1], dict(rows[-1])
        last.update({k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1})
        texts = [self._text(i, row) for i, row in enumerate(finished)]
        checkpoint[KEY] = "[" + ",".join([*texts, json.dumps(last, default=float)]) + "]"

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        record = self._record(trainer)
        if record is not None and KEY in checkpoint:
            record.rows = rows_from_checkpoint(checkpoint[KEY])
