"""The report's figures: learning curves per group, their means overlaid, and a heatmap of effects.

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
from regopt.report.effects import NOISE, Effect, cell_effects, format_interval

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


def effect_heatmap(
    runs: Sequence[Run],
    rows_key: str,
    cols_key: str,
    swept: Sequence[str],
    base: dict[str, str],
    name: str,
    path: Path,
) -> Path:
    """Two panels on one colour scale centred at 0: each cell's effect on the metric against the
    baseline of the rows key (left, per column) and of the columns key (right, per row), with its
    95% interval; hatched cells are within seed noise, baseline cells show the metric itself."""
    from matplotlib import colormaps

    row_values, col_values, grid = pivot(runs, rows_key, cols_key)
    found = cell_effects(runs, [rows_key, cols_key], swept, base, [name])
    by_cell = {(e.factor, *_position(e, rows_key, cols_key)): e for e in found}
    means = [abs(e.interval.mean) for e in found if e.interval is not None]
    scale = max(means, default=0.0) or 1.0
    cmap = colormaps["coolwarm"].with_extremes(bad="whitesmoke")
    fig = _figure(3.2 * len(col_values) + 3.5, 1.1 * len(row_values) + 1.9)
    axes = fig.subplots(1, 2)
    for ax, factor in zip(axes, (rows_key, cols_key), strict=True):
        values = np.full((len(row_values), len(col_values)), np.nan)
        for r, row_value in enumerate(row_values):
            for c, col_value in enumerate(col_values):
                e = by_cell.get((factor, row_value, col_value))
                if e is not None and e.interval is not None:
                    values[r, c] = e.interval.mean
                at_base = (row_value if factor == rows_key else col_value) == base[factor]
                text = _effect_text(e, grid[r][c], name, at_base)
                ax.text(c, r, text, ha="center", va="center", fontsize=7)
                if e is not None and e.interval is not None and e.interval.within_noise:
                    ax.add_patch(_hatch(c, r))
        image = ax.imshow(
            np.ma.masked_invalid(values), cmap=cmap, vmin=-scale, vmax=scale, aspect="auto"
        )
        ax.set_xticks(range(len(col_values)), col_values)
        ax.set_yticks(range(len(row_values)), row_values)
        ax.set(xlabel=cols_key, ylabel=rows_key)
        ax.set_title(f"{factor} against {factor}={base[factor]}", fontsize=9)
    fig.colorbar(image, ax=axes, label=f"effect on {METRICS[name][0]} (setting - baseline)")
    fig.suptitle(
        f"{METRICS[name][0]}: effect with 95% interval over seeds; hatched: within seed "
        "noise (the interval contains 0)",
        fontsize=9,
    )
    fig.savefig(path, dpi=100)
    return path


def _position(e: Effect, rows_key: str, cols_key: str) -> tuple[str, str]:
    other = e.context[0][1]
    return (e.value, other) if e.factor == rows_key else (other, e.value)


def _hatch(c: int, r: int):  # noqa: ANN202 - matplotlib is imported lazily
    from matplotlib.patches import Rectangle

    return Rectangle(
        (c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor="grey", linewidth=0
    )


def _effect_text(e: Effect | None, cell: Group, name: str, at_base: bool) -> str:
    """A baseline cell shows its own mean ± std; any other its effect and interval."""
    if not cell.runs:
        return "no runs"
    if e is None:
        s = cell.stat(name)
        if not at_base:
            return "no baseline\nruns"
        if s.mean is None:
            return "baseline\n" + "\n".join(sorted({run.status for run in cell.runs}))
        return f"baseline\n{s.format(3)}"
    if e.interval is None:
        return "no completed\nruns to compare"
    text = format_interval(e.interval).replace(f" {NOISE}", "")
    return text.replace(" [", "\n[") + ("\nwithin noise" if e.interval.within_noise else "")
