"""A trial's outcome, read from its job's record: what the sweeper tells the study.

The record (summary.json, metrics.csv) is the same whatever launcher ran the job (in this process,
a joblib worker, a SLURM node), so the sweeper reads it rather than trusting a return value that
cannot say `pruned`. A completed job's values are its objectives at its best epoch (lowest
`val/loss`): `val/loss` alone is its best validation loss; `[val/loss, gap/loss]` adds the loss gap
of that epoch's model. A pruned job is PRUNED (Optuna keeps its last reported value); a failed or
diverged one, or one whose objectives are missing or not finite, is FAIL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optuna.trial import TrialState

from regopt.report.collect import read_metrics


@dataclass(frozen=True)
class Outcome:
    state: TrialState
    values: list[float] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)  # the trial's user attributes


def trial_outcome(job_dir: Path, objectives: Sequence[str]) -> Outcome:
    try:
        summary = json.loads((job_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return Outcome(TrialState.FAIL, attrs={"job_dir": str(job_dir), "status": "no record"})
    status = summary.get("status")
    attrs: dict[str, Any] = {
        "job_dir": str(job_dir),
        "status": status,
        "epochs": summary.get("epochs"),
    }
    if status == "pruned":
        attrs["pruned_epoch"] = (summary.get("pruned_at") or {}).get("epoch")
        return Outcome(TrialState.PRUNED, attrs=attrs)
    if status != "completed":
        return Outcome(TrialState.FAIL, attrs=attrs)
    values = best_epoch_values(job_dir, summary, objectives)
    if values is None:
        return Outcome(TrialState.FAIL, attrs={**attrs, "status": "no objective values"})
    return Outcome(TrialState.COMPLETE, values, attrs)


def best_epoch_values(
    job_dir: Path, summary: dict[str, Any], objectives: Sequence[str]
) -> list[float] | None:
    """The objectives in the metrics.csv row of the best epoch; None when one is missing."""
    epoch = (summary.get("best") or {}).get("epoch")
    row = next((r for r in read_metrics(job_dir / "metrics.csv") if r.get("epoch") == epoch), None)
    if row is None:
        return None
    values = [row.get(name, math.nan) for name in objectives]
    return values if all(math.isfinite(v) for v in values) else None
