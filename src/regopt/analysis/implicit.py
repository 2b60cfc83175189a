"""The report of experiment=implicit_regularization: the final gap, the top Hessian eigenvalue and
the validation loss of each batch size x learning rate cell (mean and spread over seeds), against
SGD's noise scale g = lr x N / B (Smith & Le 2018), and the small- against the large-batch end of
each learning rate (Keskar et al. 2017: large batches reach sharper minima with a larger gap).

Reads each job's summary.json, config.yaml and metrics.csv (no torch, no W&B). Writes implicit.md,
implicit.csv (the grid), keskar.csv (small against large batch) and implicit.png into the sweep
dir: `python -m regopt.analysis.implicit DIR`.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from regopt.analysis.arms import read_rows
from regopt.analysis.sweep_tables import completed_jobs, csv_text, report_command
from regopt.diagnostics.sharpness import TOP_EIGENVALUE
from regopt.record.atomic import write_text_atomic

MD_NAME, CSV_NAME, KESKAR_CSV, PNG_NAME = (
    "implicit.md",
    "implicit.csv",
    "keskar.csv",
    "implicit.png",
)
COLUMNS = (
    "batch_size",
    "lr",
    "noise_scale",
    "runs",
    "train_acc",
    "val_loss",
    "val_loss_std",
    "gap_loss",
    "gap_loss_std",
    "gap_acc",
    "sharpness",
    "sharpness_std",
    "sharpness_epoch",
)
KESKAR_COLUMNS = (
    "lr",
    "small_batch",
    "large_batch",
    "sharpness_small",
    "sharpness_large",
    "sharpness_ratio",
    "gap_loss_small",
    "gap_loss_large",
    "gap_acc_small",
    "gap_acc_large",
    "train_acc_small",
    "train_acc_large",
)


@dataclass
class Job:
    batch_size: int
    lr: float
    n_train: int
    train_acc: float
    val_loss: float
    gap_loss: float
    gap_acc: float
    sharpness: float
    sharpness_epoch: int


def last_sharpness(rows: Sequence[dict[str, float]]) -> tuple[float, int]:
    """The top eigenvalue at the last epoch that measured it, and that epoch."""
    measured = [r for r in rows if TOP_EIGENVALUE in r]
    if not measured:
        raise ValueError(f"no {TOP_EIGENVALUE} in metrics.csv: run with diagnostics=sharpness")
    return measured[-1][TOP_EIGENVALUE], int(measured[-1]["epoch"])


def read_job(run_dir: Path) -> Job | None:
    """The job's cell and final numbers; None for a job that did not complete."""
    summary = json.loads((run_dir / "summary.json").read_text())
    if summary.get("status") != "completed":
        return None
    cfg = OmegaConf.load(run_dir / "config.yaml")
    if cfg.data.get("train_size") is None:
        raise ValueError(f"{run_dir}: data.train_size is null; the noise scale needs N")
    sharpness, epoch = last_sharpness(read_rows(run_dir / "metrics.csv"))
    final = summary["final"]
    return Job(
        int(cfg.data.batch_size),
        float(cfg.optimizer.lr),
        int(cfg.data.train_size),
        final["train_eval/acc"],
        final["val/loss"],
        final["gap/loss"],
        final["gap/acc"],
        sharpness,
        epoch,
    )


def spread(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else math.nan


def table(jobs: Sequence[Job]) -> list[dict[str, float]]:
    """One row per (batch size, lr), by batch size then lr: means over seeds."""
    rows = []
    for batch, lr in sorted({(j.batch_size, j.lr) for j in jobs}):
        group = [j for j in jobs if (j.batch_size, j.lr) == (batch, lr)]
        rows.append(
            {
                "batch_size": batch,
                "lr": lr,
                "noise_scale": lr * group[0].n_train / batch,
                "runs": len(group),
                "train_acc": statistics.fmean(j.train_acc for j in group),
                "val_loss": statistics.fmean(j.val_loss for j in group),
                "val_loss_std": spread([j.val_loss for j in group]),
                "gap_loss": statistics.fmean(j.gap_loss for j in group),
                "gap_loss_std": spread([j.gap_loss for j in group]),
                "gap_acc": statistics.fmean(j.gap_acc for j in group),
                "sharpness": statistics.fmean(j.sharpness for j in group),
                "sharpness_std": spread([j.sharpness for j in group]),
                "sharpness_epoch": max(j.sharpness_epoch for j in group),
            }
        )
    return rows


def keskar(rows: Sequence[dict[str, float]]) -> list[dict[str, float]]:
    """Per learning rate: the smallest against the largest batch size of the grid."""
    out = []
    for lr in sorted({r["lr"] for r in rows}):
        cells = sorted((r for r in rows if r["lr"] == lr), key=lambda r: r["batch_size"])
        small, large = cells[0], cells[-1]
        if small is large:
            continue
        out.append(
            {
                "lr": lr,
                "small_batch": small["batch_size"],
                "large_batch": large["batch_size"],
                "sharpness_small": small["sharpness"],
                "sharpness_large": large["sharpness"],
                "sharpness_ratio": large["sharpness"] / small["sharpness"],
                "gap_loss_small": small["gap_loss"],
                "gap_loss_large": large["gap_loss"],
                "gap_acc_small": small["gap_acc"],
                "gap_acc_large": large["gap_acc"],
                "train_acc_small": small["train_acc"],
                "train_acc_large": large["train_acc"],
            }
        )
    return out


def markdown(
    rows: Sequence[dict[str, float]],
    comparison: Sequence[dict[str, float]],
    n_train: int,
    left_out: Sequence[str] = (),
) -> str:
    lines = [
        f"# Implicit regularisation: batch size x learning rate (SGD, N = {n_train})",
        "",
        *([f"Left out (not completed): {', '.join(left_out)}.", ""] if left_out else []),
        "Noise scale g = lr x N / B (Smith & Le 2018). Sharpness: the top Hessian eigenvalue of "
        "the training loss at the epoch named; gap = validation - training (eval mode); means "
        "± std over seeds.",
        "",
        "| batch | lr | noise scale | runs | train acc | val loss | gap loss | gap acc | "
        "sharpness | epoch |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['batch_size']} | {r['lr']:g} | {r['noise_scale']:.3g} | {r['runs']} | "
            f"{r['train_acc']:.4f} | {r['val_loss']:.4f} ± {r['val_loss_std']:.4f} | "
            f"{r['gap_loss']:.4f} ± {r['gap_loss_std']:.4f} | {r['gap_acc']:.4f} | "
            f"{r['sharpness']:.3f} ± {r['sharpness_std']:.3f} | {r['sharpness_epoch']} |"
        )
    lines += [
        "",
        "## Small against large batch at equal epochs (Keskar et al. 2017)",
        "",
        "| lr | batches | sharpness small | sharpness large | ratio | gap loss small | "
        "gap loss large | train acc small | train acc large |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in comparison:
        lines.append(
            f"| {c['lr']:g} | {c['small_batch']} vs {c['large_batch']} | "
            f"{c['sharpness_small']:.3f} | {c['sharpness_large']:.3f} | "
            f"{c['sharpness_ratio']:.2f} | {c['gap_loss_small']:.4f} | "
            f"{c['gap_loss_large']:.4f} | {c['train_acc_small']:.4f} | "
            f"{c['train_acc_large']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def report(sweep_dir: Path) -> Path:
    from regopt.analysis.implicit_figure import draw

    jobs, left_out = completed_jobs(sweep_dir, read_job)
    rows, n_train = table(jobs), jobs[0].n_train
    comparison = keskar(rows)
    write_text_atomic(sweep_dir / MD_NAME, markdown(rows, comparison, n_train, left_out))
    write_text_atomic(sweep_dir / CSV_NAME, csv_text(rows, COLUMNS))
    write_text_atomic(sweep_dir / KESKAR_CSV, csv_text(comparison, KESKAR_COLUMNS))
    draw(rows, sweep_dir / PNG_NAME)
    return sweep_dir / MD_NAME


def main(argv: list[str] | None = None) -> None:
    report_command(report, __doc__, argv)


if __name__ == "__main__":
    main()
