"""The W&B side of a run's metrics: how they are summarised, and the verdict once the run ends.

W&B writes no summary file for an offline run; everything here goes into the run's own record
(`run-<id>.wandb`), which `wandb sync` uploads and `regopt.tracking.offline_records` reads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from regopt.tracking.keys import CURVES_IMAGE, EPOCH, ONSET, STATUS, VERDICT

log = logging.getLogger("regopt")

SUMMARY_KEYS = (STATUS, ONSET, VERDICT, "epochs", "wall_time_s")


def define_metrics(run: Any) -> None:
    """Epoch is every metric's x-axis; val/loss and the regression errors are summarised by their
    minimum, val/acc by its max."""
    run.define_metric(EPOCH)
    run.define_metric("*", step_metric=EPOCH, step_sync=True)
    for key in ("val/loss", "val/mse", "val/mae"):
        run.define_metric(key, summary="min")
    run.define_metric("val/acc", summary="max")


def summary_values(summary: dict[str, Any]) -> dict[str, Any]:
    """The verdict and the local record's key numbers, flattened for the W&B run summary."""
    values = {k: summary.get(k) for k in SUMMARY_KEYS if k in summary}
    diagnosis = summary.get("diagnosis") or {}
    values.update({f"diagnosis/{k}": v for k, v in diagnosis.items()})
    for key, value in (summary.get("best") or {}).items():
        values[f"best/{key}"] = value
    for key, value in (summary.get("final") or {}).items():
        values[f"final/{key}"] = value
    return values


def publish_to_wandb(loggers: Iterable[Any], summary: dict[str, Any], figure: Path | None) -> None:
    """Summary values and the learning-curve figure into every W&B run among `loggers`."""
    # by name, so that no W&B module is imported for a run without it (subclasses count)
    runs = [
        lg.experiment
        for lg in loggers
        if any(c.__name__ == "WandbLogger" for c in type(lg).__mro__)
    ]
    if not runs or not summary:
        return
    try:
        import wandb

        for run in runs:
            run.summary.update(summary_values(summary))
            if figure is not None and figure.is_file():
                run.log({CURVES_IMAGE: wandb.Image(str(figure), caption=summary.get("verdict"))})
    except Exception as error:  # noqa: BLE001 - a tracker failure must never cost the run
        log.warning(f"W&B summary not written ({type(error).__name__}: {error})")
