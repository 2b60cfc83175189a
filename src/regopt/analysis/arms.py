"""The report of experiment=sequential_vs_joint: each regulariser's arms (none, joint, sequential,
ramp) side by side, mean ± std over seeds, and their validation curves.

Reads only summary.json and metrics.csv of the sweep's jobs (no W&B, no torch). Writes arms.md,
arms.csv and arms_curves.png into the sweep dir; runs at the end of the sweep as a Hydra callback
(the experiment sets it) or as `python -m regopt.analysis.arms DIR`.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from regopt.analysis.compare import find_runs, override_map
from regopt.record.atomic import write_text_atomic

log = logging.getLogger("regopt")
ARMS = ("none", "joint", "sequential", "ramp")
MD_NAME, CSV_NAME, PNG_NAME = "arms.md", "arms.csv", "arms_curves.png"
# column -> its heading in arms.md
STATS = {
    "best_val_loss": "best val loss",
    "best_epoch": "epoch of best",
    "final_val_loss": "final val loss",
    "final_val_acc": "final val acc",
    "final_train_acc": "final train acc",
}


@dataclass
class ArmRun:
    reg: str
    arm: str
    seed: str
    path: Path
    rows: list[dict[str, float]]

    def stats(self) -> dict[str, float]:
        scored = [r for r in self.rows if "val/loss" in r]
        best = min(scored, key=lambda r: r["val/loss"])
        last = scored[-1]
        train = [r for r in self.rows if "train/acc" in r]
        return {
            "best_val_loss": best["val/loss"],
            "best_epoch": best["epoch"],
            "final_val_loss": last["val/loss"],
            "final_val_acc": last.get("val/acc", math.nan),
            "final_train_acc": train[-1]["train/acc"] if train else math.nan,
        }


def read_rows(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def load_arm_runs(sweep_dir: Path, left_out: list[str] | None = None) -> list[ArmRun]:
    """The completed jobs of the sweep, labelled by their `reg`, `arm` and `seed` overrides.
    The others are appended to `left_out` as "<job> (<status>)", so the report can name them."""
    runs = []
    for path in find_runs(sweep_dir):
        summary = json.loads((path / "summary.json").read_text())
        chosen = override_map(summary.get("overrides") or [])
        if summary.get("status") != "completed" or not (path / "metrics.csv").is_file():
            log.warning(f"{path.name}: status {summary.get('status')}; left out of the report")
            if left_out is not None:
                left_out.append(f"{path.name} ({summary.get('status') or 'no status'})")
            continue
        reg = chosen.get("reg") or ",".join(r["name"] for r in summary.get("regularizers", []))
        arm = chosen.get("arm", "joint")
        runs.append(
            ArmRun(reg, arm, str(summary.get("seed")), path, read_rows(path / "metrics.csv"))
        )
    return runs


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (nan for a single value, and both nan when a value is
    missing: `statistics` raises on nan)."""
    if any(math.isnan(v) for v in values):
        return math.nan, math.nan
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    return statistics.fmean(values), std


def group(runs: Sequence[ArmRun]) -> dict[tuple[str, str], list[ArmRun]]:
    order = {arm: i for i, arm in enumerate(ARMS)}
    keys = sorted({(r.reg, r.arm) for r in runs}, key=lambda k: (k[0], order.get(k[1], 99), k[1]))
    return {key: [r for r in runs if (r.reg, r.arm) == key] for key in keys}


def summarise(runs: Sequence[ArmRun]) -> list[dict[str, Any]]:
    """One row per (regulariser, arm): mean and std over seeds of every STATS column."""
    table = []
    for (reg, arm), members in group(runs).items():
        row: dict[str, Any] = {"reg": reg, "arm": arm, "seeds": len(members)}
        per_run = [m.stats() for m in members]
        for key in STATS:
            row[key], row[f"{key}_std"] = mean_std([s[key] for s in per_run])
        table.append(row)
    return table


def paired_with_joint(runs: Sequence[ArmRun]) -> list[dict[str, Any]]:
    """Each arm minus the joint arm of the same regulariser and seed (final val loss and acc):
    seeds share initial weights and data order, so the paired difference is the sharper test."""
    joint = {(r.reg, r.seed): r.stats() for r in runs if r.arm == "joint"}
    table = []
    for (reg, arm), members in group(runs).items():
        pairs = [(m.stats(), joint[(reg, m.seed)]) for m in members if (reg, m.seed) in joint]
        if arm == "joint" or not pairs:
            continue
        row: dict[str, Any] = {"reg": reg, "arm": arm, "seeds": len(pairs)}
        for key in ("final_val_loss", "final_val_acc"):
            diffs = [a[key] - b[key] for a, b in pairs]
            row[key], row[f"{key}_std"] = mean_std(diffs)
            row[f"{key}_wins"] = sum(d < 0 if key.endswith("loss") else d > 0 for d in diffs)
        table.append(row)
    return table


def paired_markdown(table: Sequence[dict[str, Any]]) -> str:
    head = [
        "reg",
        "arm − joint",
        "seeds",
        "final val loss",
        "lower than joint",
        "final val acc",
        "higher than joint",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table:
        n = row["seeds"]
        cells = [
            row["reg"],
            row["arm"],
            str(n),
            _cell(row["final_val_loss"], row["final_val_loss_std"], 4),
            f"{row['final_val_loss_wins']}/{n}",
            _cell(row["final_val_acc"], row["final_val_acc_std"], 4),
            f"{row['final_val_acc_wins']}/{n}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f}" if math.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def to_markdown(table: Sequence[dict[str, Any]]) -> str:
    digits = {"best_epoch": 1}
    head = ["reg", "arm", "seeds", *STATS.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table:
        cells = [_cell(row[k], row[f"{k}_std"], digits.get(k, 4)) for k in STATS]
        lines.append("| " + " | ".join([row["reg"], row["arm"], str(row["seeds"]), *cells]) + " |")
    return "\n".join(lines) + "\n"


def to_csv(table: Sequence[dict[str, Any]]) -> str:
    columns = ["reg", "arm", "seeds", *(c for k in STATS for c in (k, f"{k}_std"))]
    lines = [",".join(columns)]
    lines += [
        ",".join(f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c]) for c in columns)
        for row in table
    ]
    return "\n".join(lines) + "\n"


def mean_val_curve(members: Sequence[ArmRun]) -> tuple[list[int], list[float], list[float]]:
    """Mean and sample std (as in the tables; 0 for one run) of val/loss over the members, at
    the epochs every member validated (true epoch numbers, whatever the validation interval)."""
    curves = [{int(r["epoch"]): r["val/loss"] for r in m.rows if "val/loss" in r} for m in members]
    epochs = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
    values = [[c[e] for c in curves] for e in epochs]
    std = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
    return epochs, [statistics.fmean(v) for v in values], std


def plot_curves(runs: Sequence[ArmRun], path: Path) -> Path:
    """One panel per regulariser: each arm's val/loss (mean over seeds, band ± std) per epoch,
    and the strength its schedule set (right axis, dotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = group(runs)
    regs = list(dict.fromkeys(reg for reg, _ in groups))
    fig, axes = plt.subplots(1, len(regs), figsize=(6 * len(regs), 4.2), squeeze=False)
    for ax, reg in zip(axes[0], regs, strict=True):
        strength_ax = ax.twinx()
        for index, ((r, arm), members) in enumerate(groups.items()):
            if r != reg:
                continue
            color = f"C{ARMS.index(arm) if arm in ARMS else index % 10}"  # same in every panel
            epochs, mean_list, std_list = mean_val_curve(members)
            mean, std = np.array(mean_list), np.array(std_list)
            ax.plot(epochs, mean, color=color, label=arm)
            ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.15)
            key = next((k for k in members[0].rows[0] if k.endswith("/strength")), None)
            if key:
                rows = [row for row in members[0].rows if key in row]
                strength_ax.plot(
                    [int(row["epoch"]) for row in rows],
                    [row[key] for row in rows],
                    color=color,
                    ls=":",
                    lw=1,
                )
        ax.set(title=f"{reg}: val loss (mean ± std over seeds)", xlabel="epoch", ylabel="val/loss")
        strength_ax.set_ylabel("strength (dotted)")
        ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(sweep_dir: Path, figures: bool = True) -> str:
    left_out: list[str] = []
    runs = load_arm_runs(sweep_dir, left_out)
    if not runs:
        raise ValueError(f"no completed runs under {sweep_dir}")
    table = summarise(runs)
    missing = f" Left out (not completed): {', '.join(left_out)}." if left_out else ""
    text = (
        f"# Sequential vs joint: {len(runs)} runs in {sweep_dir.name}\n\n"
        "mean ± std over seeds (sample std); val loss is the clean validation set's "
        f"cross-entropy.{missing}\n\n" + to_markdown(table)
    )
    paired = paired_with_joint(runs)
    if paired:
        heading = "## Paired with the joint arm (same seed): arm − joint, mean ± std over seeds"
        text += f"\n{heading}\n\n{paired_markdown(paired)}"
    if figures:
        plot_curves(runs, sweep_dir / PNG_NAME)
        text += f"\n![validation curves]({PNG_NAME})\n"
    write_text_atomic(sweep_dir / CSV_NAME, to_csv(table))
    write_text_atomic(sweep_dir / MD_NAME, text)
    return text


class CompareArmsOnMultirunEnd(Callback):
    """A Hydra callback: write the arms report once every job of the sweep has finished."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            text = write_report(sweep_dir)
        except Exception as error:  # noqa: BLE001 - the runs are done; a report must not fail them
            log.warning(f"the arms report failed: {type(error).__name__}: {error}")
            return
        log.info(f"arms report: {sweep_dir / MD_NAME}\n{text}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="regopt-arms", description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path, help="the sweep dir of experiment=sequential_vs_joint")
    parser.add_argument("--no-figures", action="store_true", help="tables only")
    args = parser.parse_args(argv)
    print(write_report(args.path, figures=not args.no_figures), end="")


if __name__ == "__main__":
    main()
