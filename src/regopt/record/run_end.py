"""What a run leaves once summary.json is final: curves.png, and the W&B run's summary and figure.

Runs after `RunRecord` (the pipeline appends it next), so it reads the verdict from summary.json.
Nothing here may fail a run: a plotting or W&B error is logged as a warning.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from regopt.record.epoch_csv import EpochCSVLogger
from regopt.record.plots import draw_curves
from regopt.tracking.wandb_summary import publish_to_wandb

log = logging.getLogger("regopt")


class RunEnd(Callback):
    def __init__(self, output_dir: str | Path, plot: bool = True) -> None:
        self.output_dir = Path(output_dir)
        self.plot = plot

    @property
    def curves_path(self) -> Path:
        return self.output_dir / "curves.png"

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._finish(trainer)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._finish(trainer)

    def _finish(self, trainer: pl.Trainer) -> None:
        if not trainer.is_global_zero:
            return
        summary = _read_json(self.output_dir / "summary.json")
        rows = next((lg.rows for lg in trainer.loggers if isinstance(lg, EpochCSVLogger)), [])
        figure = None
        if self.plot and rows:
            try:
                figure = draw_curves(rows, summary, self.curves_path)
            except Exception as error:  # noqa: BLE001 - a figure must never cost the run
                log.warning(f"curves.png not drawn ({type(error).__name__}: {error})")
        publish_to_wandb(trainer.loggers, summary, figure)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
