"""`regopt-dashboard`: save regopt's W&B workspace for a project (or one sweep's group), or with
`--dry-run` write its spec as JSON, with no network; `--layout PNG` draws its layout."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from regopt.dashboard.workspace import GROUPINGS, build_workspace

PLACEHOLDER_ENTITY = "<entity>"  # a dry run needs no real one


def add_wandb_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--entity",
        default=os.environ.get("WANDB_ENTITY"),
        help="W&B entity (default: $WANDB_ENTITY)",
    )
    parser.add_argument(
        "--project",
        default=os.environ.get("WANDB_PROJECT") or "regopt",
        help="W&B project (default: $WANDB_PROJECT, else regopt)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="write the spec as JSON instead of saving: no network",
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="regopt-dashboard", description=__doc__)
    add_wandb_args(parser)
    parser.add_argument("--group", help="only this sweep's runs (its W&B group)")
    parser.add_argument(
        "--by",
        choices=GROUPINGS,
        default="options",
        help="lines grouped by regulariser and optimiser, or by W&B group",
    )
    parser.add_argument("--name", default="regopt", help="the workspace's name")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("regopt_workspace.json"),
        help="where --dry-run writes the spec",
    )
    parser.add_argument("--layout", type=Path, help="also draw the layout into this PNG")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from regopt.dashboard.save import SaveError, save
    from regopt.dashboard.spec import to_spec, write_spec

    args = parse_args(argv)
    if not args.dry_run and not args.entity:
        print("regopt-dashboard: saving needs --entity (or WANDB_ENTITY)", file=sys.stderr)
        return 2
    entity = args.entity or PLACEHOLDER_ENTITY
    workspace = build_workspace(entity, args.project, args.group, args.name, args.by)
    if args.layout:
        from regopt.dashboard.layout import draw_layout

        print(f"layout: {draw_layout(to_spec(workspace), args.layout)}")
    if args.dry_run:
        print(f"workspace spec: {write_spec(workspace, args.out)}")
        return 0
    try:
        print(f"workspace saved: {save(workspace, 'workspace')}")
    except SaveError as error:
        print(f"regopt-dashboard: {error}", file=sys.stderr)
        return error.code
    return 0


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
