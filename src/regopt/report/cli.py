"""`regopt-report PATH`: the tables and figures of one run dir or a multirun dir.

Reads summary.json, metrics.csv and .hydra/overrides.yaml only: no W&B, no torch, no network.
Every cell is shown on two axes, convergence (time to a target loss) and generalisation (best
val loss, final gap), and every setting's effect against its factor's baseline with a 95%
interval over seeds, so a difference inside the seed noise reads as such.
`--wandb` also makes the same report a W&B report over the sweep's runs (`--dry-run`: its spec
as JSON, no network).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from regopt.dashboard.cli import add_wandb_args
from regopt.record.atomic import write_text_atomic
from regopt.report.aggregate import (
    GENERALISATION_METRICS,
    METRICS,
    choose_heatmap_keys,
    group_runs,
    swept_keys,
)
from regopt.report.collect import Run, load_runs
from regopt.report.convergence import annotate, choose_targets
from regopt.report.effects import baselines, cell_effects
from regopt.report.markdown import axes_section, effects_section, grid_section, run_tables
from regopt.report.tables import groups_csv, runs_csv

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
        help="the metric of the grid, the heatmap and the first effect sentences",
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
    parser.add_argument(
        "--wandb", action="store_true", help="also save it as a W&B report over the sweep's runs"
    )
    add_wandb_args(parser)
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
    study_dir: Path | None = None,
) -> dict[str, Path]:
    """Writes report.md, report.csv, runs.csv and the figures into `out`; returns their paths.
    `study_dir`: a sweep dir whose Optuna study gets its own section (regopt.report.study).
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
    write_text_atomic(written["runs.csv"], runs_csv(runs, swept, out))
    images = [p for p in written.values() if p.suffix == ".png"]
    parts = grid_section(runs, keys, swept, over, pair, metric)
    if base:
        parts += effects_section(effects, names, base, unit)
        parts += axes_section(groups, keys, targets)
    if study_dir is not None:
        from regopt.report.study import study_section

        study_parts, study_images = study_section(study_dir, out, figures)
        parts += study_parts
        written.update(study_images)
    parts += run_tables(runs, groups, keys, swept, over, images)
    write_text_atomic(written["report.md"], "\n\n".join(parts) + "\n")
    return written


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
            study_dir=args.path,
        )
    except ValueError as error:  # a --baseline that names no swept key or value
        print(f"regopt-report: {error}", file=sys.stderr)
        return 2
    print((out / "report.md").read_text())
    print("written: " + ", ".join(str(p) for p in written.values()))
    return wandb_report(runs, args, out) if args.wandb else 0


def wandb_report(runs: list[Run], args: argparse.Namespace, out: Path) -> int:
    """The W&B report of the sweep: saved, or its spec written into `out` with `--dry-run`."""
    from regopt.config.errors import ConfigError
    from regopt.dashboard.cli import PLACEHOLDER_ENTITY
    from regopt.dashboard.report import build_wandb_report
    from regopt.dashboard.save import SaveError, save
    from regopt.dashboard.spec import write_spec

    if not args.dry_run and not args.entity:
        print("regopt-report: --wandb needs --entity (or WANDB_ENTITY)", file=sys.stderr)
        return 2
    entity = args.entity or PLACEHOLDER_ENTITY
    try:
        report = build_wandb_report(
            runs, entity, args.project, args.over, args.metric, offline=args.dry_run
        )
        if args.dry_run:
            print(f"W&B report spec: {write_spec(report, out / 'wandb_report.json')}")
        else:
            print(f"W&B report saved: {save(report, 'report')}")
    except ConfigError as error:
        print(f"regopt-report: {error}", file=sys.stderr)
        return 2
    except SaveError as error:
        print(f"regopt-report: {error}", file=sys.stderr)
        return error.code
    return 0


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
