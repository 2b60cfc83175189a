"""metrics.csv: one row per epoch, every epoch-level metric a column.

Lightning's CSVLogger writes a row per logging call (training and validation of one epoch land on
separate rows). This logger merges each epoch's calls into one row, keyed by the `epoch` value
Lightning adds to epoch-level metrics, and rewrites the file atomically once an epoch is complete.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from regopt.record.atomic import write_text_atomic


class EpochCSVLogger(Logger):
    def __init__(self, path: str | Path, resume: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict[str, float]] = read_rows(self.path) if resume else []

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
        if "epoch" not in metrics:
            return  # step-level metrics belong to the trackers, not to the per-epoch record
        epoch = int(metrics["epoch"])
        # A resumed run repeats the epochs after its checkpoint: their old rows are dropped.
        while self.rows and self.rows[-1]["epoch"] > epoch:
            self.rows.pop()
        if not self.rows or self.rows[-1]["epoch"] != epoch:
            self.rows.append({"epoch": epoch})
        row = self.rows[-1]
        row.update({k: float(v) for k, v in metrics.items() if k != "epoch"})
        if step is not None:
            row["step"] = int(step)

    @rank_zero_only
    def save(self) -> None:
        if self.rows:
            write_text_atomic(self.path, rows_to_csv(self.rows))

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()


def read_rows(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]
    for row in rows:
        row["epoch"] = int(row["epoch"])
        if "step" in row:
            row["step"] = int(row["step"])
    return rows


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
