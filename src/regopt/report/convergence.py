"""The convergence axis: epochs and optimiser steps each run took to reach a target loss.

Time-to-target (as in AlgoPerf) separates how fast a setting optimises from where it ends:
two targets, both taken from the baseline cell unless given, so every run is timed against the
same level. The training target is the highest minimum training loss of the baseline cell's
completed runs (the level every baseline run reached); the validation target is likewise the
highest best validation loss among them. A run that never reaches a target gets `inf` (shown as
"not reached"), so it is marked, never dropped; cell means are over the runs that reached it.

The training loss is `train_eval/loss` (the data loss on a fixed training subset in eval mode: no
dropout, no penalty, so regularised and unregularised runs are measured alike), else the epoch
mean of the batches' data loss. Steps are optimiser steps: metrics.csv's `step` + 1 at the end
of the epoch (absent in records without a `step` column).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from regopt.report.collect import Run

TRAIN_KEYS = ("train_eval/loss", "train/loss_data", "train/loss")
VAL_KEY = "val/loss"
# derived metric -> (target, what is counted)
NAMES = {
    "epochs_to_train_target": ("train", "epochs"),
    "steps_to_train_target": ("train", "steps"),
    "epochs_to_val_target": ("val", "epochs"),
    "steps_to_val_target": ("val", "steps"),
}


@dataclass(frozen=True)
class Targets:
    train: float | None
    val: float | None
    train_key: str | None  # the training-loss column the train target is on
    train_source: str  # where each target came from, for the report
    val_source: str

    def describe(self) -> str:
        def level(value: float | None) -> str:
            return "none" if value is None else f"{value:.4g}"

        key = f"{self.train_key}; " if self.train_key else ""
        return (
            f"training loss {level(self.train)} ({key}{self.train_source}), "
            f"validation loss {level(self.val)} ({self.val_source})"
        )


def _finite(rows: Sequence[dict[str, float]], key: str) -> list[dict[str, float]]:
    return [r for r in rows if key in r and math.isfinite(r[key])]


def train_key(runs: Sequence[Run]) -> str | None:
    """The first of TRAIN_KEYS that every completed run with rows logged (one column for all)."""
    logged = [r for r in runs if r.status == "completed" and r.rows]
    for key in TRAIN_KEYS:
        if logged and all(_finite(r.rows, key) for r in logged):
            return key
    return None


def _worst_minimum(runs: Sequence[Run], key: str) -> float | None:
    """The highest of the runs' lowest `key`: the level every one of them reached."""
    lows = [min(r[key] for r in _finite(run.rows, key)) for run in runs if _finite(run.rows, key)]
    return max(lows) if lows else None


def choose_targets(
    runs: Sequence[Run],
    baseline_runs: Sequence[Run],
    cell: str,
    train: float | None = None,
    val: float | None = None,
) -> Targets:
    """Targets from the baseline cell's completed runs, unless given."""
    key = train_key(runs)
    done = [r for r in baseline_runs if r.status == "completed"]
    source = f"the level every completed run of the baseline cell ({cell}) reached"
    train_source = "given: --train-target" if train is not None else source
    val_source = "given: --val-target" if val is not None else source
    if train is None and key:
        train = _worst_minimum(done, key)
    if val is None:
        val = _worst_minimum(done, VAL_KEY)
    return Targets(train, val, key, train_source, val_source)


def time_to(rows: Sequence[dict[str, float]], key: str, target: float) -> tuple[float, float]:
    """(epochs, steps) until `key` first fell to `target` or below: inf when never; steps nan
    when the record has no step column."""
    has_steps = any("step" in row for row in rows)
    for row in _finite(rows, key):
        if row[key] <= target:
            steps = row["step"] + 1 if has_steps and "step" in row else math.nan
            return row["epoch"] + 1, steps
    return math.inf, math.inf if has_steps else math.nan


def annotate(runs: Sequence[Run], targets: Targets) -> None:
    """Fill every run's `derived` with its NAMES values (inf: not reached; absent: no target)."""
    for run in runs:
        for name, (which, unit) in NAMES.items():
            run.derived.pop(name, None)
            key = targets.train_key if which == "train" else VAL_KEY
            target = targets.train if which == "train" else targets.val
            if key is None or target is None or not run.rows:
                continue
            epochs, steps = time_to(run.rows, key, target)
            value = epochs if unit == "epochs" else steps
            if not math.isnan(value):
                run.derived[name] = value
