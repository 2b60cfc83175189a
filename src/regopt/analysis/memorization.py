"""The report of experiment=memorization (Zhang et al. 2017, Fig. 1): how many epochs (and steps)
the network needs to fit its training set, against the fraction of corrupted labels.

regopt's `data.label_noise = q` gives exactly q x N training labels a *different* class; Zhang et
al.'s corruption p gives p x N labels a *uniform* class (a tenth of them keep theirs), so their p
is q x K / (K - 1) for K classes and q = 0.9 on 10 classes is random labels. "Fitted" is the first
epoch at which `train_eval/acc` (the training set in eval mode, scored against the labels it was
trained on) reaches the threshold. Reads each job's summary.json, config.yaml and metrics.csv;
writes memorization.md, .csv and .png into the sweep dir:
`python -m regopt.analysis.memorization DIR`.
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
from regopt.record.atomic import write_text_atomic

MD_NAME, CSV_NAME, PNG_NAME = "memorization.md", "memorization.csv", "memorization.png"
THRESHOLDS = {"99": 0.99, "100": 1.0}
COLUMNS = (
    "label_noise",
    "corruption",
    "runs",
    *(f"{part}_{t}" for t in THRESHOLDS for part in ("fitted", "epochs_to", "epochs_to_std")),
    *(f"{part}_{t}" for t in THRESHOLDS for part in ("steps_to", "slowdown")),
    "train_acc",
    "val_acc",
)


@dataclass
class Job:
    label_noise: float
    num_classes: int
    epochs: int
    curve: list[tuple[int, int, float]]  # (epoch, steps done, train_eval/acc)
    val_acc: float


def fit_time(curve: Sequence[tuple[int, int, float]], threshold: float) -> tuple[int, int] | None:
    """(epochs, steps) trained when the training accuracy first reaches `threshold`."""
    for epoch, steps, acc in curve:
        if acc >= threshold - 1e-9:
            return epoch + 1, steps
    return None


def read_job(run_dir: Path) -> Job | None:
    summary = json.loads((run_dir / "summary.json").read_text())
    if summary.get("status") != "completed":
        return None
    cfg = OmegaConf.load(run_dir / "config.yaml")
    rows = [r for r in read_rows(run_dir / "metrics.csv") if "train_eval/acc" in r]
    # `step` is the global step of the epoch's last batch, counted from 0
    curve = [(int(r["epoch"]), int(r["step"]) + 1, r["train_eval/acc"]) for r in rows]
    num_classes = int(summary["task"]["num_classes"])
    return Job(
        float(cfg.data.label_noise),
        num_classes,
        int(summary["epochs"]),
        curve,
        summary["final"]["val/acc"],
    )


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def table(jobs: Sequence[Job]) -> list[dict[str, float]]:
    """One row per label-noise level: the fit times of the runs that fitted, their count, and
    the slowdown against the clean labels (mean epochs to fit over mean epochs at noise 0)."""
    rows = []
    for noise in sorted({j.label_noise for j in jobs}):
        group = [j for j in jobs if j.label_noise == noise]
        classes = group[0].num_classes
        row: dict[str, float] = {
            "label_noise": noise,
            "corruption": noise * classes / (classes - 1),
            "runs": len(group),
        }
        for name, threshold in THRESHOLDS.items():
            times = [t for t in (fit_time(j.curve, threshold) for j in group) if t is not None]
            row[f"fitted_{name}"] = len(times)
            row[f"epochs_to_{name}"], row[f"epochs_to_std_{name}"] = mean_std([e for e, _ in times])
            row[f"steps_to_{name}"] = mean_std([s for _, s in times])[0]
        row["train_acc"] = statistics.fmean(j.curve[-1][2] for j in group)
        row["val_acc"] = statistics.fmean(j.val_acc for j in group)
        rows.append(row)
    clean = rows[0]
    for row in rows:
        for name in THRESHOLDS:
            base = clean[f"epochs_to_{name}"] if clean["label_noise"] == 0 else math.nan
            row[f"slowdown_{name}"] = row[f"epochs_to_{name}"] / base
    return rows


def fmt(value: float, spec: str) -> str:
    return "-" if math.isnan(value) else format(value, spec)


def markdown(rows: Sequence[dict[str, float]], epochs: int, left_out: Sequence[str] = ()) -> str:
    lines = [
        f"# Memorisation: epochs to fit the training set against label corruption "
        f"({epochs} epochs)",
        "",
        *([f"Left out (not completed): {', '.join(left_out)}.", ""] if left_out else []),
        "label noise: regopt's data.label_noise (labels moved to another class); corruption: "
        "Zhang et al.'s p (labels redrawn uniformly), the same distribution. Epochs to fit: mean "
        "± std over the runs that fitted (fitted / runs); slowdown: over the clean labels' epochs.",
        "",
        "| label noise | corruption | fitted 99% | epochs to 99% | fitted 100% | epochs to 100% "
        "| steps to 100% | slowdown 100% | final train acc | final val acc |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label_noise']:g} | {r['corruption']:.2f} | {r['fitted_99']}/{r['runs']} | "
            f"{fmt(r['epochs_to_99'], '.1f')} ± {fmt(r['epochs_to_std_99'], '.1f')} | "
            f"{r['fitted_100']}/{r['runs']} | {fmt(r['epochs_to_100'], '.1f')} ± "
            f"{fmt(r['epochs_to_std_100'], '.1f')} | {fmt(r['steps_to_100'], '.0f')} | "
            f"{fmt(r['slowdown_100'], '.2f')} | {r['train_acc']:.4f} | {r['val_acc']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def draw(rows: Sequence[dict[str, float]], jobs: Sequence[Job], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4))
    left, right = fig.subplots(1, 2)
    corruption = [r["corruption"] for r in rows]
    for name in THRESHOLDS:
        std = [0.0 if math.isnan(s) else s for s in (r[f"epochs_to_std_{name}"] for r in rows)]
        left.errorbar(
            corruption,
            [r[f"epochs_to_{name}"] for r in rows],
            yerr=std,
            marker="o",
            capsize=3,
            label=f"train accuracy {name}%",
        )
    left.set_xlabel("label corruption p (Zhang et al.; 1 = random labels)")
    left.set_ylabel("epochs to fit the training set")
    for row in rows:
        group = [j for j in jobs if j.label_noise == row["label_noise"]]
        length = min(len(j.curve) for j in group)
        mean = [statistics.fmean(j.curve[i][2] for j in group) for i in range(length)]
        right.plot(
            [e + 1 for e, _, _ in group[0].curve[:length]],
            mean,
            label=f"p = {row['corruption']:.2f}",
        )
    right.set_xlabel("epoch")
    right.set_ylabel("training accuracy (eval mode, mean over seeds)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.95, wspace=0.22)
    fig.savefig(path, dpi=90)


def report(sweep_dir: Path) -> Path:
    jobs, left_out = completed_jobs(sweep_dir, read_job)
    rows = table(jobs)
    text = markdown(rows, max(j.epochs for j in jobs), left_out)
    write_text_atomic(sweep_dir / MD_NAME, text)
    write_text_atomic(sweep_dir / CSV_NAME, csv_text(rows, COLUMNS))
    draw(rows, jobs, sweep_dir / PNG_NAME)
    return sweep_dir / MD_NAME


def main(argv: list[str] | None = None) -> None:
    report_command(report, __doc__, argv)


if __name__ == "__main__":
    main()
