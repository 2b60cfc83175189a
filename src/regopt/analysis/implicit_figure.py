"""implicit.png: the grid of experiment=implicit_regularization drawn twice, against the noise
scale g = lr x N / B (top row, one colour per batch size: Smith & Le 2018) and against the batch
size (bottom row, one line per learning rate: Keskar et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

TOP = (("gap_loss", "final gap (val - train loss)"), ("sharpness", "top Hessian eigenvalue"))
TOP += (("val_loss", "final validation loss"),)
BOTTOM = (("sharpness", "top Hessian eigenvalue"), ("gap_loss", "final gap (val - train loss)"))
BOTTOM += (("train_acc", "final train accuracy"),)


def _std(row: dict[str, float], key: str) -> float:
    value = row.get(f"{key}_std", 0.0)
    return 0.0 if value != value else value  # nan (one seed): no bar


def draw(rows: Sequence[dict[str, float]], path: Path) -> None:
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    fig = Figure(figsize=(13, 7.5))
    axes = fig.subplots(2, 3)
    for ax, (key, label) in zip(axes[0], TOP, strict=True):
        for batch in sorted({r["batch_size"] for r in rows}):
            cells = sorted((r for r in rows if r["batch_size"] == batch), key=lambda r: r["lr"])
            ax.errorbar(
                [r["noise_scale"] for r in cells],
                [r[key] for r in cells],
                yerr=[_std(r, key) for r in cells],
                marker="o",
                capsize=3,
                label=f"batch {batch}",
            )
        ax.set_xscale("log")
        ax.set_xlabel("noise scale g = lr N / B")
        ax.set_ylabel(label)
    for ax, (key, label) in zip(axes[1], BOTTOM, strict=True):
        for lr in sorted({r["lr"] for r in rows}):
            cells = sorted((r for r in rows if r["lr"] == lr), key=lambda r: r["batch_size"])
            ax.errorbar(
                [r["batch_size"] for r in cells],
                [r[key] for r in cells],
                yerr=[_std(r, key) for r in cells],
                marker="s",
                capsize=3,
                label=f"lr {lr:g}",
            )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size B (equal epochs)")
        ax.set_ylabel(label)
    for ax in axes.flat:
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("SGD's noise as a regulariser: gap, sharpness and validation loss")
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.08, top=0.93, wspace=0.25, hspace=0.3)
    fig.savefig(path, dpi=90)
