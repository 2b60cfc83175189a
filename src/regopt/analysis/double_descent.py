"""The report of experiment=double_descent: final train and validation error against the MLP's
width (mean and spread over seeds), with the interpolation threshold marked.

Reads each job's summary.json and config.yaml (no torch, no W&B). Writes double_descent.md, .csv
and .png into the sweep dir: `python -m regopt.analysis.double_descent DIR`.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from regopt.analysis.sweep_tables import completed_jobs, csv_text, report_command
from regopt.record.atomic import write_text_atomic

MD_NAME, CSV_NAME, PNG_NAME = "double_descent.md", "double_descent.csv", "double_descent.png"
COLUMNS = ("width", "params", "runs", "train_mse", "val_mse", "val_mse_std", "best_val_mse")


@dataclass
class Job:
    width: int
    params: int
    n_train: int
    train_mse: float
    val_mse: float
    best_val_mse: float


def mlp_parameters(inputs: int, widths: list[int], outputs: int) -> int:
    sizes = [inputs, *widths, outputs]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))


def read_job(run_dir: Path) -> Job | None:
    """The job's width and errors; None for a job that did not complete."""
    summary = json.loads((run_dir / "summary.json").read_text())
    if summary.get("status") != "completed":
        return None
    cfg = OmegaConf.load(run_dir / "config.yaml")
    widths = list(cfg.model.widths)
    if len(widths) != 1:
        raise ValueError(f"{run_dir}: model.widths={widths}; this report wants one hidden layer")
    params = mlp_parameters(cfg.data.input_dim, widths, cfg.data.output_dim)
    final, best = summary["final"], summary["best"]
    # train/mse: the last epoch's mean over its batches (no dropout here, so close to the error at
    # the final weights)
    return Job(
        widths[0],
        params,
        int(cfg.data.n_train),
        final["train/mse"],
        final["val/mse"],
        best["val/mse"],
    )


def table(jobs: list[Job]) -> list[dict[str, float]]:
    """One row per width, means over seeds (std of the final val/mse)."""
    rows = []
    for width in sorted({j.width for j in jobs}):
        group = [j for j in jobs if j.width == width]
        vals = [j.val_mse for j in group]
        rows.append(
            {
                "width": width,
                "params": group[0].params,
                "runs": len(group),
                "train_mse": statistics.fmean(j.train_mse for j in group),
                "val_mse": statistics.fmean(vals),
                "val_mse_std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                "best_val_mse": statistics.fmean(j.best_val_mse for j in group),
            }
        )
    return rows


def markdown(rows: list[dict[str, float]], n_train: int, left_out: Sequence[str] = ()) -> str:
    lines = [
        f"# Double descent: final errors against width (n_train = {n_train})",
        "",
        *([f"Left out (not completed): {', '.join(left_out)}.", ""] if left_out else []),
        "| width | parameters | runs | train mse | val mse (final) | ± std | best val mse |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['width']} | {r['params']} | {r['runs']} | {r['train_mse']:.4f} | "
            f"{r['val_mse']:.4f} | {r['val_mse_std']:.4f} | {r['best_val_mse']:.4f} |"
        )
    peak = max(rows, key=lambda r: r["val_mse"])
    lowest = min(rows, key=lambda r: r["val_mse"])
    lines += [
        "",
        f"Highest final val mse {peak['val_mse']:.4f} at width {peak['width']} "
        f"({peak['params']} parameters); lowest {lowest['val_mse']:.4f} at width "
        f"{lowest['width']}.",
    ]
    return "\n".join(lines) + "\n"


def draw(rows: list[dict[str, float]], n_train: int, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    params = [r["params"] for r in rows]
    val = [r["val_mse"] for r in rows]
    std = [r["val_mse_std"] for r in rows]
    ax.errorbar(params, val, yerr=std, marker="o", label="validation (final)", capsize=3)
    ax.plot(params, [r["best_val_mse"] for r in rows], "s--", label="validation (best epoch)")
    ax.plot(params, [r["train_mse"] for r in rows], "^:", label="train (final)")
    ax.axvline(n_train, color="red", alpha=0.6, label=f"parameters = n_train = {n_train}")
    ax.set_xscale("log")
    ax.set_xlabel("parameters of the MLP (one hidden layer; widths in the table)")
    ax.set_ylabel("mean squared error")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.95)
    fig.savefig(path, dpi=100)


def report(sweep_dir: Path) -> Path:
    jobs, left_out = completed_jobs(sweep_dir, read_job)
    rows = table(jobs)
    n_train = jobs[0].n_train
    write_text_atomic(sweep_dir / MD_NAME, markdown(rows, n_train, left_out))
    write_text_atomic(sweep_dir / CSV_NAME, csv_text(rows, COLUMNS))
    draw(rows, n_train, sweep_dir / PNG_NAME)
    return sweep_dir / MD_NAME


def main(argv: list[str] | None = None) -> None:
    report_command(report, __doc__, argv)


if __name__ == "__main__":
    main()
