"""plane.png: every cell on the convergence x generalisation plane, and the moves between them.

x is the time to the training-loss target (convergence.py), y the best validation loss (left)
and the final gap (right), each with the 95% t-interval of the cell mean over seeds (stats.py).
Per value of the columns key (the optimiser), an arrow goes from the baseline row (regulariser
`none`) to each other row: a horizontal arrow is a setting that changed convergence only, a
vertical one generalisation only. Cells where some runs never reached the target are hollow and
say how many did; cells where none did sit past the right edge, marked "not reached".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from regopt.report.aggregate import METRICS, Group, metric, pivot
from regopt.report.collect import Run
from regopt.report.stats import Interval, mean_interval

MARKERS = "osD^vP*Xh<>"


def _axis(cell: Group, name: str) -> tuple[Interval | None, int, int]:
    """The cell mean's interval, with how many completed runs had a value, of how many."""
    done = cell.completed
    values = [v for v in (metric(r, name) for r in done) if v is not None]
    return mean_interval(values), len(values), len(done)


def _err(i: Interval) -> list[list[float]] | None:
    if i.low is None or i.high is None:
        return None
    return [[i.mean - i.low], [i.high - i.mean]]


def plane(
    runs: Sequence[Run],
    rows_key: str,
    cols_key: str | None,
    base: dict[str, str],
    x_name: str,
    path: Path,
) -> Path:
    """The figure; `cols_key` None: one factor, one colour."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    row_values, col_values, grid = pivot(runs, rows_key, cols_key or "")
    xs = {
        (r, c): _axis(grid[r][c], x_name)
        for r in range(len(row_values))
        for c in range(len(col_values))
    }
    finite = [i.mean for i, _, _ in xs.values() if i is not None]
    edge = 1.15 * max(finite) if finite else 1.0
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    base_row = row_values.index(base[rows_key]) if base.get(rows_key) in row_values else 0
    for ax, y_name in zip(axes, ("best_val_loss", "final_gap_loss"), strict=True):
        points: dict[tuple[int, int], tuple[float, float]] = {}
        for (r, c), (xi, reached, total) in xs.items():
            yi, _, _ = _axis(grid[r][c], y_name)
            if yi is None:
                continue
            x = xi.mean if xi is not None else edge
            color, marker = f"C{c % 10}", MARKERS[r % len(MARKERS)]
            hollow = reached < total
            ax.errorbar(
                x,
                yi.mean,
                yerr=_err(yi),
                xerr=_err(xi) if xi else None,
                fmt=marker,
                color=color,
                mfc="none" if hollow else color,
                ms=7,
                capsize=3,
            )
            if xi is None:
                ax.annotate(
                    "not reached",
                    (x, yi.mean),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords="offset points",
                )
            elif hollow:
                ax.annotate(
                    f"{reached}/{total} reached",
                    (x, yi.mean),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords="offset points",
                )
            points[(r, c)] = (x, yi.mean)
        for (r, c), end in points.items():
            start = points.get((base_row, c))
            if r != base_row and start is not None:
                ax.annotate(
                    "",
                    xy=end,
                    xytext=start,
                    arrowprops={
                        "arrowstyle": "->",
                        "color": f"C{c % 10}",
                        "lw": 1.2,
                        "shrinkA": 5,
                        "shrinkB": 5,
                    },
                )
        if finite and min(finite) > 0 and max(finite) / min(finite) >= 10:
            ax.set_xscale("log")
        ax.set(
            xlabel=f"{METRICS[x_name][0]} (convergence)",
            ylabel=f"{METRICS[y_name][0]} (generalisation)",
        )
        ax.grid(alpha=0.3)
    handles = [
        Line2D([], [], color=f"C{c % 10}", marker="o", ls="-", label=f"{cols_key}={v}")
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
    axes[1].legend(handles=handles, fontsize=7)
    fig.suptitle(
        f"convergence x generalisation, mean and 95% interval over seeds; arrows: from "
        f"{rows_key}={row_values[base_row]} to each other {rows_key}, per {cols_key or 'all'}; "
        "hollow: not every run reached the target",
        fontsize=9,
    )
    fig.savefig(path, dpi=100)
    return path
