"""The report of experiment=adamw_decoupling (Loshchilov and Hutter 2019, Fig. 2): the validation
loss over learning rate x decay strength for SGD + L2, SGDW, Adam + L2 and AdamW, and how far the
best strength moves with the learning rate (the coupling that decoupled decay removes).

Reads the jobs of a sweep dir, or of its sub-dirs (one sweep a pair, as `make adamw-decoupling`
runs them): each job's summary.json and resolved config.yaml, no torch, no W&B. Writes
decoupling.md, .csv and .png into the dir: `python -m regopt.analysis.decoupling DIR`.

The strength is the L2 weight for a penalty and the shrink per step d = lr * weight_decay for
decoupled decay (the paper's lambda, which it normalises as lambda_norm = d * sqrt(steps)).
Coupling, per pair and metric (regopt.analysis.landscape): the best strength of each lr (the
grid's argmin, refined by a parabola of log loss in log10 strength), then the least-squares slope
of log10 best strength on log10 lr (0: axis-aligned, -1: the diagonal of a knob whose effect
scales with lr x strength) and its correlation, over all lrs and over those with a cell in the
good region alone; and the interaction share, the part of the variance of log loss over the grid
that an additive model (a term per lr plus a term per strength) leaves unexplained.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from regopt.analysis.compare import find_runs
from regopt.analysis.landscape import GOOD, Grid, ridge, summarise
from regopt.record.atomic import write_text_atomic

MD_NAME, CSV_NAME, PNG_NAME = "decoupling.md", "decoupling.csv", "decoupling.png"
PAIRS = {"sgd_l2": "SGD + L2", "sgdw": "SGDW", "adam_l2": "Adam + L2", "adamw": "AdamW"}
METRICS = {"best": "best val loss", "final": "final val loss"}
COLUMNS = (
    "pair",
    "metric",
    "cells",
    "diverged_cells",
    "min_loss",
    "lr_at_min",
    "strength_at_min",
    "strength_norm_at_min",
    "ridge_slope",
    "ridge_r",
    "good_lrs",
    "good_ridge_slope",
    "interaction_share",
)


@dataclass
class Job:
    pair: str
    lr: float
    strength: float  # the L2 weight, or decoupled decay's shrink per step
    steps: int
    loss: dict[str, float] | None  # None: the job diverged


def _round(value: float) -> float:
    return float(f"{value:.6g}")  # lr * (d / lr) is d to the last bits, not exactly


def read_job(run_dir: Path) -> Job | None:
    """The job's pair, grid cell and losses; None for a job that neither completed nor diverged."""
    summary = json.loads((run_dir / "summary.json").read_text())
    if summary.get("status") not in ("completed", "diverged"):
        return None
    cfg = OmegaConf.load(run_dir / "config.yaml")
    opt = cfg.optimizer
    family = "adam" if opt._target_ in ("torch.optim.Adam", "torch.optim.AdamW") else "sgd"
    decoupled = opt._target_ == "torch.optim.AdamW" or bool(opt.get("decoupled_weight_decay"))
    if decoupled:
        pair, strength = f"{family}w", opt.lr * opt.weight_decay
    else:
        pair, strength = f"{family}_l2", cfg.regularizer.l2.weight
    with open(run_dir / "metrics.csv", newline="") as handle:
        steps = max(int(row["step"]) for row in csv.DictReader(handle) if row["step"]) + 1
    loss = None
    if summary["status"] == "completed":
        loss = {"best": summary["best"]["val/loss"], "final": summary["final"]["val/loss"]}
    return Job(pair, _round(opt.lr), _round(strength), steps, loss)


def grid(jobs: list[Job], metric: str) -> Grid:
    lrs = sorted({j.lr for j in jobs})
    strengths = sorted({j.strength for j in jobs})
    values = []
    for s in strengths:
        row = []
        for lr in lrs:
            cell = [j.loss for j in jobs if j.lr == lr and j.strength == s]
            if not cell or any(loss is None for loss in cell):
                row.append(math.nan)
            else:
                row.append(statistics.fmean(loss[metric] for loss in cell))  # type: ignore[index]
        values.append(row)
    return Grid(lrs, strengths, values, jobs[0].steps)


def _num(value: object, digits: str) -> str:
    if value == "" or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, digits)


def markdown(rows: list[dict[str, object]], grids: dict[str, Grid], seeds: int) -> str:
    steps = next(iter(grids.values())).steps
    lines = [
        "# Decoupled weight decay: lr x strength (Loshchilov and Hutter 2019, Fig. 2)",
        "",
        f"Validation loss, mean over {seeds} seed(s) a cell, {steps} steps a job. Strength: the L2 "
        "weight (+ L2), or the shrink per step d = lr x weight_decay (SGDW, AdamW), normalised "
        f"as d x sqrt({steps}). Ridge: the best strength of each lr; slope 0 = axis-aligned, "
        "-1 = a diagonal. Good lrs: those with a cell within "
        f"{GOOD:.0%} of the lowest loss, and the ridge's slope over them alone. Interaction "
        "share: the variance of log loss an additive fit (lr + strength) leaves.",
        "",
        "| pair | metric | min loss | at lr | at strength | normalised | ridge slope | ridge r "
        "| good lrs | their ridge slope | interaction share | diverged cells |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {PAIRS[str(r['pair'])]} | {METRICS[str(r['metric'])]} | "
            f"{_num(r['min_loss'], '.4f')} | {_num(r['lr_at_min'], 'g')} | "
            f"{_num(r['strength_at_min'], 'g')} | {_num(r['strength_norm_at_min'], '.3g')} | "
            f"{_num(r['ridge_slope'], '.2f')} | {_num(r['ridge_r'], '.2f')} | "
            f"{r['good_lrs']} of {len(grids[str(r['pair'])].lrs)} | "
            f"{_num(r['good_ridge_slope'], '.2f')} | "
            f"{_num(r['interaction_share'], '.3f')} | {r['diverged_cells']} of {r['cells']} |"
        )
    for pair, g in grids.items():
        lines += [
            "",
            f"## {PAIRS[pair]}: best val loss (rows: strength, columns: lr; - = diverged)",
            "",
            "| strength | " + " | ".join(f"lr {lr:g}" for lr in g.lrs) + " |",
            "|---:|" + "---:|" * len(g.lrs),
        ]
        for s, row in zip(g.strengths, g.values, strict=True):
            lines.append(f"| {s:g} | " + " | ".join(_num(v, ".4f") for v in row) + " |")
        ridge_text = ", ".join(f"{10**x:g}: {10**y:.2g}" for x, y in ridge(g))
        lines += ["", f"Best strength per lr (the ridge, lr: strength): {ridge_text}."]
    return "\n".join(lines) + "\n"


def draw(grids: dict[str, Grid], path: Path) -> None:
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(11, 8.6))
    axes = fig.subplots(2, 2)
    for ax, pair in zip(axes.flat, PAIRS, strict=True):
        if pair not in grids:
            ax.set_visible(False)
            continue
        g = grids[pair]
        finite = [v for row in g.values for v in row if not math.isnan(v)]
        norm = LogNorm(min(finite), max(finite))  # log: the good region is not one colour
        image = ax.imshow(g.values, origin="lower", cmap="viridis_r", norm=norm, aspect="auto")
        fig.colorbar(image, ax=ax, label="best val loss")
        for i, row in enumerate(g.values):
            for j, v in enumerate(row):
                dark = not math.isnan(v) and norm(v) > 0.5
                colour = "w" if dark else "k"
                ax.text(j, i, _num(v, ".3f"), ha="center", va="center", fontsize=7, color=colour)
                if v <= (1 + GOOD) * min(finite):  # the good region, outlined
                    box = Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="k", lw=1.5)
                    ax.add_patch(box)
        points = ridge(g)
        lx = [math.log10(lr) for lr in g.lrs]
        sx = [math.log10(s) for s in g.strengths]
        # the ridge in cell coordinates (both axes are evenly spaced in log10)
        ax.plot(
            [(x - lx[0]) / (lx[1] - lx[0]) for x, _ in points],
            [(y - sx[0]) / (sx[1] - sx[0]) for _, y in points],
            "r.-",
            label=f"best strength per lr; boxed: within {GOOD:.0%} of the best",
        )
        ax.set_xticks(range(len(g.lrs)), [f"{lr:g}" for lr in g.lrs])
        decoupled = pair.endswith("w")
        labels = [
            f"{s:g}" + (f"\n({s * math.sqrt(g.steps):.2g})" if decoupled else "")
            for s in g.strengths
        ]
        ax.set_yticks(range(len(g.strengths)), labels, fontsize=8)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("decay per step d (normalised)" if decoupled else "L2 weight")
        ax.set_title(PAIRS[pair])
        ax.legend(fontsize=7, loc="upper right")
    fig.subplots_adjust(left=0.1, right=0.93, bottom=0.07, top=0.95, hspace=0.3, wspace=0.5)
    fig.savefig(path, dpi=100)


def _runs(sweep_dir: Path) -> list[Path]:
    if (sweep_dir / "summary.json").is_file() or any(sweep_dir.glob("*/summary.json")):
        return find_runs(sweep_dir)
    return [
        run
        for sub in sorted(p for p in sweep_dir.iterdir() if p.is_dir())
        for run in find_runs(sub)
    ]


def report(sweep_dir: Path) -> Path:
    jobs = [job for run in _runs(sweep_dir) if (job := read_job(run)) is not None]
    if not any(job.loss for job in jobs):
        raise SystemExit(f"no completed jobs under {sweep_dir}")
    by_pair = {p: [j for j in jobs if j.pair == p] for p in PAIRS}
    by_pair = {p: js for p, js in by_pair.items() if any(j.loss for j in js)}
    first = next(iter(by_pair.values()))
    seeds = max(sum(1 for j in first if (j.lr, j.strength) == (k.lr, k.strength)) for k in first)
    rows = [
        {"pair": p, "metric": m, **summarise(grid(js, m), per_step=p.endswith("w"))}
        for p, js in by_pair.items()
        for m in METRICS
    ]
    best_grids = {p: grid(js, "best") for p, js in by_pair.items()}
    write_text_atomic(sweep_dir / MD_NAME, markdown(rows, best_grids, seeds))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(sweep_dir / CSV_NAME, buffer.getvalue())
    draw(best_grids, sweep_dir / PNG_NAME)
    return sweep_dir / MD_NAME


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    path = report(parser.parse_args(argv).sweep_dir)
    print(path.read_text())


if __name__ == "__main__":
    main()
