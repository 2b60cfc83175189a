"""`regopt-report PATH`: the tables and figures of one run dir or a multirun dir.

Reads summary.json, metrics.csv and .hydra/overrides.yaml only: no W&B, no torch, no network.
Every cell is shown on two axes, convergence (time to a target loss) and generalisation (best
val loss, final gap), and every setting's effect against its factor's baseline with a 95%
interval over seeds, so a difference inside the seed noise reads as such.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from regopt.record.atomic import write_text_atomic
from regopt.report.aggregate import (
    GENERALISATION_METRICS,
    METRICS,
    Group,
    choose_heatmap_keys,
    group_runs,
    swept_keys,
)
from regopt.report.collect import Run, load_runs
from regopt.report.convergence import Targets, annotate, choose_targets
from regopt.report.effects import NOISE, Effect, baselines, cell_effects, sentences
from regopt.report.tables import (
    axes_table,
    effects_table,
    group_table,
    groups_csv,
    pivot_table,
    runs_csv,
    runs_table,
)

log = logging.getLogger("regopt")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="regopt-report", description="Tables and figures for a run dir or a multirun dir."
    )
    parser.add_argument("path", type=Path, help="a run dir, a multirun dir, or a dir of either")
    parser.add_argument(
        "--over", nargs="*", default=["seed"], help="swept keys to average over (default: seed)"
    )
    parser.add_argument(
        "--heatmap",
        nargs=2,
        metavar=("ROWS", "COLS"),
        help="two swept keys (default: regularizer optimizer, else the first two)",
    )
    parser.add_argument(
        "--metric",
        default="best_val_loss",
        choices=sorted(METRICS),
        help="the heatmap's and the grid table's metric",
    )
    parser.add_argument(
        "--baseline",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="a factor's baseline (default: regularizer=none when swept, else "
        "each key's first value)",
    )
    parser.add_argument(
        "--train-target",
        type=float,
        metavar="LOSS",
        help="training-loss target (default: the level every baseline run reached)",
    )
    parser.add_argument(
        "--val-target",
        type=float,
        metavar="LOSS",
        help="validation-loss target (default: the level every baseline run reached)",
    )
    parser.add_argument("--out", type=Path, help="where to write (default: PATH)")
    parser.add_argument("--no-figures", action="store_true", help="tables only")
    return parser.parse_args(argv)


def build_report(
    runs: list[Run],
    out: Path,
    over: Sequence[str] = ("seed",),
    heatmap_keys: Sequence[str] | None = None,
    metric: str = "best_val_loss",
    figures: bool = True,
    baseline: Sequence[str] = (),
    train_target: float | None = None,
    val_target: float | None = None,
) -> dict[str, Path]:
    """Writes report.md, report.csv, runs.csv and the figures into `out`; returns their paths.
    ValueError (one line) for a `baseline` that names no swept key or value."""
    swept = swept_keys(runs)
    keys = [k for k in swept if k not in over]
    groups = group_runs(runs, keys)
    base = baselines(runs, keys, baseline)
    base_group = next((g for g in groups if list(g.key) == [base[k] for k in keys]), None)
    cell = ", ".join(f"{k}={v}" for k, v in base.items()) or "all runs"
    targets = choose_targets(
        runs, base_group.runs if base_group else [], cell, train_target, val_target
    )
    annotate(runs, targets)
    unit = (
        "steps"
        if any(f"steps_to_{t}_target" in r.derived for r in runs for t in ("train", "val"))
        else "epochs"
    )
    names = list(
        dict.fromkeys(
            [metric, *GENERALISATION_METRICS, f"{unit}_to_train_target", f"{unit}_to_val_target"]
        )
    )
    effects = cell_effects(runs, keys, swept, base, names)
    pair = choose_heatmap_keys(keys, heatmap_keys)
    out.mkdir(parents=True, exist_ok=True)
    written = {
        "report.md": out / "report.md",
        "report.csv": out / "report.csv",
        "runs.csv": out / "runs.csv",
    }
    if figures:
        from regopt.report import figures as fig
        from regopt.report.plane import plane

        path, others = out / "curves_by_group.png", [k for k in swept if k not in keys]
        written["curves_by_group"] = fig.curves_by_group(groups, keys, path, others)
        written["curves_overlay"] = fig.curves_overlay(groups, keys, out / "curves_overlay.png")
        if pair:
            path = out / f"heatmap_{metric}.png"
            written["heatmap"] = fig.effect_heatmap(runs, *pair, swept, base, metric, path)
        if keys:  # one factor: one colour
            plane_keys = pair or (keys[0], None)
            x_name = f"{unit}_to_train_target"
            written["plane"] = plane(runs, *plane_keys, swept, base, x_name, out / "plane.png")
    write_text_atomic(written["report.csv"], groups_csv(groups, keys, effects, base))
    write_text_atomic(written["runs.csv"], runs_csv(runs, swept))
    images = [p for p in written.values() if p.suffix == ".png"]
    parts = _grid(runs, keys, swept, over, pair, metric)
    if base:
        parts += _effects(effects, names, base, unit)
        parts += _axes(groups, keys, targets)
    parts += _tables(runs, groups, keys, swept, over, images)
    write_text_atomic(written["report.md"], "\n\n".join(parts) + "\n")
    return written


def _mean_over(swept: Sequence[str], over: Sequence[str]) -> str:
    averaged = [k for k in over if k in swept]
    return f"mean ± std over {', '.join(averaged)}" if averaged else "one run per group"


def _grid(
    runs: Sequence[Run],
    keys: Sequence[str],
    swept: Sequence[str],
    over: Sequence[str],
    pair: Sequence[str] | None,
    metric: str,
) -> list[str]:
    """The heading and the grid table of the metric over the pair of keys."""
    states = dict.fromkeys(r.status for r in runs)
    statuses = ", ".join(f"{s} {sum(r.status == s for r in runs)}" for s in states)
    parts = [
        "# regopt report",
        f"{len(runs)} runs ({statuses}). Swept keys: {', '.join(swept) or 'none'}. "
        f"Groups: {', '.join(keys) or 'all runs'}; {_mean_over(swept, over)}, over each "
        "group's completed runs.",
    ]
    if pair:  # a cell averages over every swept key but the pair, not only over `over`
        pooled = [*(k for k in keys if k not in pair), *(k for k in over if k in swept)]
        pooled_text = f"mean ± std over {', '.join(pooled)}" if pooled else "one run per cell"
        parts += [
            f"## {METRICS[metric][0]}: {pair[0]} x {pair[1]} ({pooled_text})",
            pivot_table(runs, pair[0], pair[1], metric),
        ]
    return parts


def _effects(
    effects: Sequence[Effect], names: Sequence[str], base: dict[str, str], unit: str
) -> list[str]:
    """The sentences (the chosen metric, then convergence) and the table of every effect."""
    against = ", ".join(f"{k}={v}" for k, v in base.items())
    parts = [
        "## Effects against the baselines",
        f"Baselines: {against}. An effect is a cell's value minus the value of the cell that "
        "differs only in that factor, seed by seed (paired) when at least two seeds match, else "
        "Welch's unpaired difference of the means; brackets hold its 95% t-interval over seeds, "
        f"and '{NOISE}' means the interval contains 0.",
    ]
    for name in dict.fromkeys((names[0], f"{unit}_to_train_target")):
        lines = sentences(effects, name)
        if lines:
            parts += [f"### {METRICS[name][0]}", "\n".join(f"- {line}" for line in lines)]
    if effects:
        parts += ["### Every effect (setting - baseline)", effects_table(effects, names)]
    return parts


def _axes(groups: Sequence[Group], keys: Sequence[str], targets: Targets) -> list[str]:
    return [
        "## Convergence and generalisation (mean ± std over completed runs)",
        f"Targets: {targets.describe()}. Time to a target is over the runs that reached it; "
        "(k/n): k of the group's n completed runs did.",
        axes_table(groups, keys),
    ]


def _tables(
    runs: Sequence[Run],
    groups: Sequence[Group],
    keys: Sequence[str],
    swept: Sequence[str],
    over: Sequence[str],
    images: Sequence[Path],
) -> list[str]:
    parts = [
        f"## Groups ({_mean_over(swept, over)})",
        group_table(groups, keys),
        "## Every run",
        runs_table(runs, swept),
    ]
    if images:
        parts += ["## Figures", *(f"![{p.stem}]({p.name})" for p in images)]
    return parts


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.path.exists():
        print(f"regopt-report: {args.path} does not exist", file=sys.stderr)
        return 2
    runs = load_runs(args.path)
    if not runs:
        print(
            f"regopt-report: no run dirs (summary.json or .hydra/) under {args.path}",
            file=sys.stderr,
        )
        return 2
    out = args.out or args.path
    try:
        written = build_report(
            runs,
            out,
            args.over,
            args.heatmap,
            args.metric,
            not args.no_figures,
            args.baseline,
            args.train_target,
            args.val_target,
        )
    except ValueError as error:  # a --baseline that names no swept key or value
        print(f"regopt-report: {error}", file=sys.stderr)
        return 2
    print((out / "report.md").read_text())
    print("written: " + ", ".join(str(p) for p in written.values()))
    return 0


def entry_point() -> None:
    sys.exit(main())
