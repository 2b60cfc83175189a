"""plane.png: every cell on the convergence x generalisation plane, and the moves between them.

x is the time to the training-loss target (convergence.py), y the best validation loss (left)
and the final gap (right). Top row: each cell's mean with the 95% t-interval of the mean over
seeds (stats.py); per value of the columns key (the optimiser), an arrow goes from the baseline
row (regulariser `none`) to each other row. Bottom row: the same moves as paired effects
(setting - baseline, seed by seed) with their 95% intervals, around a cross at 0: the seed
spread shared by both cells is gone, so a point off the vertical line moved convergence, one
off the horizontal line moved generalisation. Cells where some runs never reached the target
are hollow and say how many did; cells where none did sit past the right edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from regopt.report.aggregate import METRICS, Group, metric, pivot
from regopt.report.collect import Run
from regopt.report.effects import cell_effects
from regopt.report.stats import Interval, mean_interval

MARKERS = "osD^vP*Xh<>"
Y_NAMES = ("best_val_loss", "final_gap_loss")


def _axis(cell: Group, name: str) -> tuple[Interval | None, int, int]:
    """The cell mean's interval, with how many completed runs had a value, of how many."""
    done = cell.completed
    values = [v for v in (metric(r, name) for r in done) if v is not None]
    return mean_interval(values), len(values), len(done)


def _err(i: Interval | None) -> list[list[float]] | None:
    if i is None or i.low is None or i.high is None:
        return None
    return [[i.mean - i.low], [i.high - i.mean]]


def _note(ax: Any, text: str, at: tuple[float, float]) -> None:
    ax.annotate(text, at, fontsize=7, xytext=(4, 4), textcoords="offset points")


def _cells(ax: Any, grid: list[list[Group]], x_name: str, y_name: str, base_row: int) -> None:
    """Top row: cell means with their intervals, arrows from the baseline row per column."""
    xs = {(r, c): _axis(cell, x_name) for r, row in enumerate(grid) for c, cell in enumerate(row)}
    finite = [i.mean for i, _, _ in xs.values() if i is not None]
    edge = 1.15 * max(finite) if finite else 1.0
    points: dict[tuple[int, int], tuple[float, float]] = {}
    for (r, c), (xi, reached, total) in xs.items():
        yi, _, _ = _axis(grid[r][c], y_name)
        if yi is None:
            continue
        x, color = (xi.mean if xi is not None else edge), f"C{c % 10}"
        ax.errorbar(
            x,
            yi.mean,
            yerr=_err(yi),
            xerr=_err(xi),
            fmt=MARKERS[r % len(MARKERS)],
            color=color,
            mfc="none" if reached < total else color,
            ms=7,
            capsize=3,
        )
        if xi is None:
            _note(ax, "not reached", (x, yi.mean))
        elif reached < total:
            _note(ax, f"{reached}/{total} reached", (x, yi.mean))
        points[(r, c)] = (x, yi.mean)
    for (r, c), end in points.items():
        start = points.get((base_row, c))
        if r != base_row and start is not None:
            arrow = {"arrowstyle": "->", "color": f"C{c % 10}", "lw": 1.2, "shrinkA": 5}
            ax.annotate("", xy=end, xytext=start, arrowprops=arrow)
    if finite and min(finite) > 0 and max(finite) / min(finite) >= 10:
        ax.set_xscale("log")
    ax.set(
        xlabel=f"{METRICS[x_name][0]} (convergence)",
        ylabel=f"{METRICS[y_name][0]} (generalisation)",
    )


def _moves(
    ax: Any,
    runs: Sequence[Run],
    keys: list[str],
    swept: Sequence[str],
    base: dict[str, str],
    x_name: str,
    y_name: str,
    rows: list[str],
    cols: list[str],
) -> None:
    """Bottom row: each non-baseline row's paired effect on both axes, per column."""
    found = cell_effects(runs, keys, swept, base, [x_name, y_name])
    by = {(e.cell, e.metric): e.interval for e in found if e.factor == keys[0]}
    for cell in {e.cell for e in found if e.factor == keys[0]}:
        xi, yi = by.get((cell, x_name)), by.get((cell, y_name))
        if yi is None:
            continue
        r, c = rows.index(cell[0]), (cols.index(cell[1]) if len(cell) > 1 else 0)
        x = xi.mean if xi is not None else 0.0
        ax.errorbar(
            x,
            yi.mean,
            yerr=_err(yi),
            xerr=_err(xi),
            fmt=MARKERS[r % len(MARKERS)],
            color=f"C{c % 10}",
            mfc="none" if xi is None else f"C{c % 10}",
            ms=7,
            capsize=3,
        )
        if xi is None:  # drawn on the vertical line, hollow: its move in x is unknown
            _note(ax, "x unknown: no pair reached the target", (x, yi.mean))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(xlabel=f"effect on {METRICS[x_name][0]}", ylabel=f"effect on {METRICS[y_name][0]}")


def plane(
    runs: Sequence[Run],
    rows_key: str,
    cols_key: str | None,
    swept: Sequence[str],
    base: dict[str, str],
    x_name: str,
    path: Path,
) -> Path:
    """The figure; `cols_key` None: one factor, one colour."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    row_values, col_values, grid = pivot(runs, rows_key, cols_key or "")
    base_row = row_values.index(base[rows_key]) if base.get(rows_key) in row_values else 0
    keys = [rows_key, cols_key] if cols_key else [rows_key]
    fig = Figure(figsize=(12, 9), layout="constrained")
    axes = fig.subplots(2, 2)
    for column, y_name in enumerate(Y_NAMES):
        _cells(axes[0][column], grid, x_name, y_name, base_row)
        _moves(axes[1][column], runs, keys, swept, base, x_name, y_name, row_values, col_values)
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
    handles = [
        Line2D([], [], color=f"C{c % 10}", marker="o", label=f"{cols_key}={v}")
        for c, v in enumerate(col_values)
        if cols_key
    ]
    handles += [
        Line2D(
            [],
            [],
            color="black",
            marker=MARKERS[r % len(MARKERS)],
            ls="none",
            label=f"{rows_key}={v}",
        )
        for r, v in enumerate(row_values)
    ]
    axes[0][1].legend(handles=handles, fontsize=7)
    against = f"{rows_key}={row_values[base_row]}"
    axes[0][0].set_title(
        f"cells: mean and 95% interval over seeds; arrows from {against}", fontsize=9
    )
    axes[1][0].set_title(f"moves against {against}: paired effect, 95% interval", fontsize=9)
    fig.suptitle(
        "convergence x generalisation; hollow: not every run reached the target", fontsize=10
    )
    fig.savefig(path, dpi=90)
    return path
