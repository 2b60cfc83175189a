"""`regopt-report PATH`: the tables and figures of one run dir or a multirun dir.

Reads summary.json, metrics.csv and .hydra/overrides.yaml only: no W&B, no torch, no network.
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
    METRICS,
    Group,
    choose_heatmap_keys,
    group_runs,
    swept_keys,
)
from regopt.report.collect import Run, load_runs
from regopt.report.tables import group_table, groups_csv, pivot_table, runs_csv, runs_table

log = logging.getLogger("regopt")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="regopt-report", description="Tables and figures for a run dir or a multirun dir."
    )
    parser.add_argument("path", type=Path, help="a run dir, a multirun dir, or a dir of either")
    parser.add_argument("--over", nargs="*", default=["seed"],
                        help="swept keys to average over (default: seed)")  # fmt: skip
    parser.add_argument("--heatmap", nargs=2, metavar=("ROWS", "COLS"),
                        help="two swept keys (default: regularizer optimizer, "
                             "else the first two)")  # fmt: skip
    parser.add_argument("--metric", default="best_val_loss", choices=sorted(METRICS),
                        help="the heatmap's and the grid table's metric")  # fmt: skip
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
) -> dict[str, Path]:
    """Writes report.md, report.csv, runs.csv and the figures into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    swept = swept_keys(runs)
    keys = [k for k in swept if k not in over]
    groups = group_runs(runs, keys)
    pair = choose_heatmap_keys(keys, heatmap_keys)
    written = {"report.md": out / "report.md", "report.csv": out / "report.csv",
               "runs.csv": out / "runs.csv"}  # fmt: skip
    if figures:
        from regopt.report import figures as fig

        path, others = out / "curves_by_group.png", [k for k in swept if k not in keys]
        written["curves_by_group"] = fig.curves_by_group(groups, keys, path, others)
        written["curves_overlay"] = fig.curves_overlay(groups, keys, out / "curves_overlay.png")
        if pair:
            path = out / f"heatmap_{metric}.png"
            written["heatmap"] = fig.heatmap(runs, pair[0], pair[1], metric, path)
    write_text_atomic(written["report.csv"], groups_csv(groups, keys))
    write_text_atomic(written["runs.csv"], runs_csv(runs, swept))
    images = [p for p in written.values() if p.suffix == ".png"]
    text = _markdown(runs, groups, keys, swept, over, pair, metric, images)
    write_text_atomic(written["report.md"], text)
    return written


def _markdown(
    runs: Sequence[Run],
    groups: Sequence[Group],
    keys: Sequence[str],
    swept: Sequence[str],
    over: Sequence[str],
    pair: Sequence[str] | None,
    metric: str,
    images: Sequence[Path],
) -> str:
    statuses = ", ".join(f"{s} {sum(r.status == s for r in runs)}" for s in
                         dict.fromkeys(r.status for r in runs))  # fmt: skip
    averaged = [k for k in over if k in swept]
    mean_over = f"mean ± std over {', '.join(averaged)}" if averaged else "one run per group"
    parts = [
        "# regopt report",
        f"{len(runs)} runs ({statuses}). Swept keys: {', '.join(swept) or 'none'}. "
        f"Groups: {', '.join(keys) or 'all runs'}; {mean_over}, over each group's completed runs.",
    ]
    if pair:  # a cell averages over every swept key but the pair, not only over `over`
        pooled = [*(k for k in keys if k not in pair), *averaged]
        pooled_text = f"mean ± std over {', '.join(pooled)}" if pooled else "one run per cell"
        parts += [f"## {METRICS[metric][0]}: {pair[0]} x {pair[1]} ({pooled_text})",
                  pivot_table(runs, pair[0], pair[1], metric)]  # fmt: skip
    parts += [f"## Groups ({mean_over})", group_table(groups, keys),
              "## Every run", runs_table(runs, swept)]  # fmt: skip
    if images:
        parts += ["## Figures", *(f"![{p.stem}]({p.name})" for p in images)]
    return "\n\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.path.exists():
        print(f"regopt-report: {args.path} does not exist", file=sys.stderr)
        return 2
    runs = load_runs(args.path)
    if not runs:
        print(f"regopt-report: no run dirs (summary.json or .hydra/) under {args.path}",
              file=sys.stderr)  # fmt: skip
        return 2
    out = args.out or args.path
    written = build_report(runs, out, args.over, args.heatmap, args.metric, not args.no_figures)
    print((out / "report.md").read_text())
    print("written: " + ", ".join(str(p) for p in written.values()))
    return wandb_report(runs, args, out) if args.wandb else 0


def wandb_report(runs: list[Run], args: argparse.Namespace, out: Path) -> int:
    """The W&B report of the sweep: saved, or its spec written into `out` with `--dry-run`."""
    from regopt.config.cli_errors import ConfigError
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
