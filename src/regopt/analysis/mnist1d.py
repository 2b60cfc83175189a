"""The report of experiment=mnist1d: each model's final test accuracy on MNIST-1D (mean and spread
over seeds) beside the published ones, and the accuracy curves.

The published numbers: Greydanus & Kobak (2024), "Scaling down deep learning with MNIST-1D",
Table 1 (and the repository's README), and the two runs of the same models by the paper's own
code that its repository shows (github.com/greydanus/mnist1d: quickstart.ipynb of 2020 and
notebooks/mnist1d-classification.ipynb of 2024, both seed 42, test accuracy at step 6,000). The
paper gives no spread; its table against its own code's runs is the nearest thing to one. The
peak (the best of the validations during training) is selected on the test set: context for the
table, never the reproduced number.

Reads each job's summary.json, config.yaml, metrics.csv and the parameter count of its last
checkpoint. Writes mnist1d.md, .csv and .png into the sweep dir:
`python -m regopt.analysis.mnist1d DIR`.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import OmegaConf

from regopt.analysis.sweep_tables import completed_jobs, csv_text, report_command
from regopt.record.atomic import write_text_atomic

MD_NAME, CSV_NAME, PNG_NAME = "mnist1d.md", "mnist1d.csv", "mnist1d.png"
# model -> (paper's Table 1, the paper's code's 2020 run, its 2024 run), test accuracy
PUBLISHED = {
    "logistic": (0.32, 0.317, 0.315),
    "mlp": (0.68, 0.646, 0.651),
    "cnn": (0.94, 0.925, 0.923),
    "gru": (0.91, 0.911, 0.891),
}
COLUMNS = (
    "model",
    "params",
    "runs",
    "paper_acc",
    "paper_code_2020_acc",
    "paper_code_2024_acc",
    "acc_mean",
    "acc_std",
    "acc_min",
    "acc_max",
    "peak_acc_mean",
    "train_acc_mean",
    "diff_vs_paper",
)


@dataclass
class Job:
    model: str
    params: int
    steps: int
    val_acc: float
    train_acc: float
    curve: list[tuple[int, float]]  # (step, val/acc) at each validation


def parameter_count(run_dir: Path) -> int:
    """The model's parameters, counted in its last checkpoint (the state dict of the module)."""
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    return sum(v.numel() for k, v in state.items() if k.startswith("model."))


def read_curve(run_dir: Path) -> list[tuple[int, float]]:
    with open(run_dir / "metrics.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("val/acc")]
    return [(int(r["step"]) + 1, float(r["val/acc"])) for r in rows]


def read_job(run_dir: Path) -> Job | None:
    """The job's model and accuracies; None for a job that did not complete."""
    summary = json.loads((run_dir / "summary.json").read_text())
    if summary.get("status") != "completed":
        return None
    cfg = OmegaConf.load(run_dir / "config.yaml")
    model = str(cfg.experiment.arch)
    if model not in PUBLISHED:
        raise ValueError(f"{run_dir}: experiment.arch={model}; known: {', '.join(PUBLISHED)}")
    curve = read_curve(run_dir)
    final = summary["final"]
    return Job(
        model, parameter_count(run_dir), curve[-1][0], final["val/acc"], final["train/acc"], curve
    )


def table(jobs: list[Job]) -> list[dict[str, object]]:
    """One row per model, in PUBLISHED's order: the final test accuracy over seeds."""
    rows: list[dict[str, object]] = []
    for model, (paper, code_2020, code_2024) in PUBLISHED.items():
        group = [j for j in jobs if j.model == model]
        if not group:
            continue
        accs = [j.val_acc for j in group]
        mean = statistics.fmean(accs)
        rows.append(
            {
                "model": model,
                "params": group[0].params,
                "runs": len(group),
                "paper_acc": paper,
                "paper_code_2020_acc": code_2020,
                "paper_code_2024_acc": code_2024,
                "acc_mean": mean,
                "acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "acc_min": min(accs),
                "acc_max": max(accs),
                "peak_acc_mean": statistics.fmean(max(a for _, a in j.curve) for j in group),
                "train_acc_mean": statistics.fmean(j.train_acc for j in group),
                "diff_vs_paper": mean - paper,
            }
        )
    return rows


def percent(value: object) -> str:
    return f"{100 * float(value):.1f}"  # type: ignore[arg-type]


def markdown(rows: list[dict[str, object]], steps: int, left_out: Sequence[str] = ()) -> str:
    lines = [
        f"# MNIST-1D: final test accuracy (%) after {steps} steps, against the paper",
        "",
        *([f"Left out (not completed): {', '.join(left_out)}.", ""] if left_out else []),
        "| model | parameters | runs | paper | paper's code (2020 / 2024) | regopt mean ± std "
        "| min – max | peak during training | train (last epoch) | regopt − paper |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params']} | {r['runs']} | {percent(r['paper_acc'])} | "
            f"{percent(r['paper_code_2020_acc'])} / {percent(r['paper_code_2024_acc'])} | "
            f"{percent(r['acc_mean'])} ± {percent(r['acc_std'])} | {percent(r['acc_min'])} – "
            f"{percent(r['acc_max'])} | {percent(r['peak_acc_mean'])} | "
            f"{percent(r['train_acc_mean'])} | {100 * float(r['diff_vs_paper']):+.1f} |"  # type: ignore[arg-type]
        )
    return "\n".join(lines) + "\n"


def draw(jobs: list[Job], rows: list[dict[str, object]], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2))
    curves, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    colors = dict(zip(PUBLISHED, ("tab:red", "tab:green", "tab:blue", "tab:orange"), strict=True))
    for model in PUBLISHED:
        group = [j for j in jobs if j.model == model]
        for i, job in enumerate(group):
            steps, accs = zip(*job.curve, strict=True)
            label = model if i == 0 else None
            curves.plot(steps, [100 * a for a in accs], color=colors[model], alpha=0.6, label=label)
        if group:
            curves.axhline(100 * PUBLISHED[model][0], color=colors[model], ls="--", lw=1)
    curves.set_xlabel("training step")
    curves.set_ylabel("test accuracy (%)")
    curves.set_title("each seed; dashed: the paper's accuracy", fontsize=9)
    curves.set_ylim(0, 100)
    curves.grid(alpha=0.3)
    curves.legend(fontsize=8, loc="lower right")
    x = range(len(rows))
    width = 0.38
    bars.bar(
        [i - width / 2 for i in x],
        [100 * float(r["paper_acc"]) for r in rows],  # type: ignore[arg-type]
        width,
        color="lightgray",
        label="paper",
    )
    bars.bar(
        [i + width / 2 for i in x],
        [100 * float(r["acc_mean"]) for r in rows],  # type: ignore[arg-type]
        width,
        yerr=[100 * float(r["acc_std"]) for r in rows],  # type: ignore[arg-type]
        color=[colors[str(r["model"])] for r in rows],
        capsize=3,
        label="regopt (mean ± std)",
    )
    bars.set_xticks(list(x), [str(r["model"]) for r in rows])
    bars.set_ylim(0, 100)
    bars.grid(alpha=0.3, axis="y")
    bars.legend(fontsize=8, loc="upper left")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.2)
    fig.savefig(path, dpi=100)


def report(sweep_dir: Path) -> Path:
    jobs, left_out = completed_jobs(sweep_dir, read_job)
    rows = table(jobs)
    write_text_atomic(sweep_dir / MD_NAME, markdown(rows, jobs[0].steps, left_out))
    write_text_atomic(sweep_dir / CSV_NAME, csv_text(rows, COLUMNS))
    draw(jobs, rows, sweep_dir / PNG_NAME)
    return sweep_dir / MD_NAME


def main(argv: list[str] | None = None) -> None:
    report_command(report, __doc__, argv)


if __name__ == "__main__":
    main()
