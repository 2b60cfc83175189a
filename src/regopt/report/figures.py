"""The report's figures: learning curves per group, their means overlaid, and a heatmap of two keys.

matplotlib's object API on an Agg canvas (no pyplot), imported only when a figure is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from regopt.record.plots import column
from regopt.report.aggregate import METRICS, Group, pivot
from regopt.report.collect import Run

TRAIN_KEYS = ("train_eval/loss", "train/loss_data", "train/loss")


def _figure(width: float, height: float):  # noqa: ANN202 - matplotlib is imported lazily
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _label(keys: Sequence[str], group: Group) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(keys, group.key, strict=True)) or "all runs"


def run_label(run: Run, keys: Sequence[str]) -> str:
    label = " ".join(f"{k}={run.overrides[k]}" for k in keys if k in run.overrides) or run.name
    return label if run.status == "completed" else f"{label} ({run.status})"


def curves_by_group(
    groups: Sequence[Group], keys: Sequence[str], path: Path, run_keys: Sequence[str] = ()
) -> Path:
    """One panel per group: every run's validation (solid) and training (dashed) loss, onsets as
    dots on the validation curve; unfinished and failed runs drawn as far as they got."""
    cols = min(len(groups), 3)
    rows = math.ceil(len(groups) / cols)
    fig = _figure(4.6 * cols, 3.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, group in zip(axes, groups, strict=False):
        for i, run in enumerate(group.runs):
            color = f"C{i % 10}"
            label = run_label(run, run_keys)
            epochs, val = column(run.rows, "val/loss")
            ax.plot(epochs, val, "-", color=color, label=label, linewidth=1.2)
            train_key = next((k for k in TRAIN_KEYS if column(run.rows, k)[0]), None)
            if train_key:
                ax.plot(*column(run.rows, train_key), "--", color=color, linewidth=0.9)
            onset = run.summary.get("onset_epoch")
            if onset is not None and onset in epochs:
                ax.plot([onset], [val[epochs.index(onset)]], "o", color=color)
        ax.set_yscale("log")
        ax.set_title(_label(keys, group), fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    fig.suptitle("loss per group: validation (solid), training (dashed), onset (dot)", fontsize=10)
    fig.savefig(path, dpi=90)
    return path


def mean_curve(runs: Sequence[Run], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and std over runs, epoch by epoch, over the runs that reached each epoch."""
    by_epoch: dict[int, list[float]] = {}
    for run in runs:
        for epoch, value in zip(*column(run.rows, key), strict=True):
            by_epoch.setdefault(epoch, []).append(value)
    epochs = np.array(sorted(by_epoch))
    mean = np.array([np.mean(by_epoch[e]) for e in epochs])
    std = np.array([np.std(by_epoch[e]) for e in epochs])
    return epochs, mean, std


def curves_overlay(groups: Sequence[Group], keys: Sequence[str], path: Path) -> Path:
    """Each group's mean validation loss and mean gap (± std over its runs) on shared axes."""
    fig = _figure(12, 4.4)
    axes = fig.subplots(1, 2)
    for i, group in enumerate(groups):
        color, label = f"C{i % 10}", _label(keys, group)
        for ax, key in zip(axes, ("val/loss", "gap/loss"), strict=True):
            epochs, mean, std = mean_curve(group.runs, key)
            if len(epochs):
                ax.plot(epochs, mean, color=color, label=label, linewidth=1.2)
                ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.15)
    for ax, title in zip(axes, ("validation loss", "gap/loss = val - train_eval"), strict=True):
        ax.set_title(f"{title} (mean ± std per group)", fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=90)
    return path


def heatmap(runs: Sequence[Run], rows_key: str, cols_key: str, name: str, path: Path) -> Path:
    """The metric's mean per cell (std below it); cells with no completed run are grey, their runs'
    states written in."""
    row_values, col_values, grid = pivot(runs, rows_key, cols_key)
    stats = [[cell.stat(name) for cell in row] for row in grid]
    values = np.array([[s.mean if s.mean is not None else np.nan for s in row] for row in stats])
    fig = _figure(1.6 * len(col_values) + 2.5, 1.0 * len(row_values) + 1.8)
    ax = fig.subplots()
    masked = np.ma.masked_invalid(values)
    from matplotlib import colormaps

    cmap = colormaps["viridis_r" if "loss" in name else "viridis"].with_extremes(bad="lightgrey")
    image = ax.imshow(masked, cmap=cmap, aspect="auto")
    fig.colorbar(image, ax=ax, label=METRICS[name][0])
    ax.set_xticks(range(len(col_values)), col_values)
    ax.set_yticks(range(len(row_values)), row_values)
    ax.set_xlabel(cols_key)
    ax.set_ylabel(rows_key)
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            s = stats[r][c]
            if s.mean is not None:
                text = f"{s.mean:.3g}" + (f"\n± {s.std:.2g}" if s.std is not None else "")
            else:
                text = "\n".join(sorted({run.status for run in cell.runs})) or "no runs"
            ax.text(c, r, text, ha="center", va="center", fontsize=8, color="black",
                    bbox={"facecolor": "white", "alpha": 0.6, "linewidth": 0})  # fmt: skip
    ax.set_title(f"{METRICS[name][0]}: mean over completed runs", fontsize=10)
    fig.savefig(path, dpi=100)
    return path
