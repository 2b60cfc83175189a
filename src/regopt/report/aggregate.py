"""Which keys a sweep varied, the groups they make, and mean ± std of each metric per group.

Seed is just another swept key: by default the report averages over it (`over=("seed",)`) and
groups by every other key whose value differs between runs. Means and stds are taken over the
group's completed runs; runs in any other state are counted in the group's `status` column, never
dropped from the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regopt.report.collect import Run

MISSING = "-"  # a key a run did not override (it kept the config's default)


def _get(*path: str) -> Callable[[Run], float | None]:
    def read(run: Run) -> float | None:
        value: Any = run.summary
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    return read


def _derived(name: str) -> Callable[[Run], float | None]:
    return lambda run: run.derived.get(name)


METRICS: dict[str, tuple[str, Callable[[Run], float | None]]] = {
    "best_val_loss": ("best val loss", _get("best", "val/loss")),
    "best_val_acc": ("best val acc", _get("best", "val/acc")),
    "best_epoch": ("best epoch", _get("best", "epoch")),
    "final_val_loss": ("final val loss", _get("final", "val/loss")),
    "final_gap_loss": ("final gap/loss", _get("final", "gap/loss")),
    "final_gap_acc": ("final gap/acc", _get("final", "gap/acc")),
    "onset_epoch": ("onset epoch", _get("onset_epoch")),
    "epochs": ("epochs", _get("epochs")),
    "epochs_to_train_target": ("epochs to train target", _derived("epochs_to_train_target")),
    "steps_to_train_target": ("steps to train target", _derived("steps_to_train_target")),
    "epochs_to_val_target": ("epochs to val target", _derived("epochs_to_val_target")),
    "steps_to_val_target": ("steps to val target", _derived("steps_to_val_target")),
}
TABLE_METRICS = ("best_val_loss", "best_val_acc", "final_gap_loss", "onset_epoch")
# a cell's two axes: convergence (time to target) and generalisation
CONVERGENCE_METRICS = (
    "steps_to_train_target",
    "epochs_to_train_target",
    "steps_to_val_target",
    "epochs_to_val_target",
)
GENERALISATION_METRICS = ("best_val_loss", "final_gap_loss")


def metric(run: Run, name: str) -> float | None:
    """The run's value of a metric: None when missing or not finite (a target never reached)."""
    value = METRICS[name][1](run)
    return value if value is not None and math.isfinite(value) else None


def not_reached(run: Run, name: str) -> bool:
    """A convergence metric whose target the run never reached (marked, not dropped)."""
    return run.derived.get(name) == math.inf


def swept_keys(runs: Sequence[Run]) -> list[str]:
    """Override keys whose value differs between runs, in the order they first appear."""
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run.overrides if k not in keys]
    return [k for k in keys if len({r.overrides.get(k, MISSING) for r in runs}) > 1]


def values_in_order(runs: Sequence[Run], key: str) -> list[str]:
    """A key's values in the order the sweep ran them (for none,l2,dropout: that order)."""
    seen: list[str] = []
    for run in runs:
        value = run.overrides.get(key, MISSING)
        if value not in seen:
            seen.append(value)
    return seen


@dataclass
class Stat:
    mean: float | None
    std: float | None
    n: int  # runs with a value
    total: int  # completed runs in the group

    def format(self, digits: int = 4, count: bool = False) -> str:
        if self.mean is None:
            return "-"
        text = f"{self.mean:.{digits}g}"
        if self.std is not None:
            text += f" ± {self.std:.2g}"
        return text + (f" ({self.n}/{self.total})" if count else "")


def stat(values: Sequence[float | None], total: int) -> Stat:
    present = np.array([v for v in values if v is not None], dtype=float)
    if present.size == 0:
        return Stat(None, None, 0, total)
    mean = float(present.mean())
    std = float(present.std(ddof=1)) if present.size > 1 else None
    if std is not None and std <= 1e-9 * max(abs(mean), 1.0):
        std = 0.0  # rounding noise of equal values
    return Stat(mean, std, int(present.size), total)


@dataclass
class Group:
    key: tuple[str, ...]  # values of the group keys
    runs: list[Run]

    @property
    def completed(self) -> list[Run]:
        return [r for r in self.runs if r.status == "completed"]

    def stat(self, name: str) -> Stat:
        done = self.completed
        return stat([metric(r, name) for r in done], len(done))

    def counts(self, attribute: Callable[[Run], str]) -> str:
        tally: dict[str, int] = {}
        for run in self.runs:
            tally[attribute(run)] = tally.get(attribute(run), 0) + 1
        return ", ".join(f"{k} {v}" for k, v in tally.items())


def verdict_kind(run: Run) -> str:
    return (run.summary.get("diagnosis") or {}).get("kind") or "-"


def group_runs(runs: Sequence[Run], keys: Sequence[str]) -> list[Group]:
    """One group per combination of `keys` present in `runs`, in sweep order."""
    orders = {k: values_in_order(runs, k) for k in keys}
    groups: dict[tuple[str, ...], list[Run]] = {}
    for run in runs:
        groups.setdefault(tuple(run.overrides.get(k, MISSING) for k in keys), []).append(run)
    ordered = sorted(
        groups, key=lambda g: [orders[k].index(v) for k, v in zip(keys, g, strict=True)]
    )
    return [Group(key, groups[key]) for key in ordered]


def choose_heatmap_keys(
    group_keys: Sequence[str], wanted: Sequence[str] | None
) -> list[str] | None:
    """`wanted` if both are swept; else regulariser x optimiser; else the first two group keys."""
    for pair in (wanted, ("regularizer", "optimizer")):
        if pair and len(pair) == 2 and all(k in group_keys for k in pair):
            return list(pair)
    return list(group_keys[:2]) if len(group_keys) >= 2 else None


def pivot(
    runs: Sequence[Run], rows_key: str, cols_key: str
) -> tuple[list[str], list[str], list[list[Group]]]:
    """The groups of two keys as a grid (every other key averaged over), for tables and heatmaps."""
    row_values, col_values = values_in_order(runs, rows_key), values_in_order(runs, cols_key)
    cells = {g.key: g for g in group_runs(runs, [rows_key, cols_key])}
    grid = [[cells.get((r, c), Group((r, c), [])) for c in col_values] for r in row_values]
    return row_values, col_values, grid
