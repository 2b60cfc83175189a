"""A sweep's report.md as a W&B report: its tables (from the local record, as report.md has them)
above the dashboard's panels, drawn by W&B over the sweep's own runs (its W&B group)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import OmegaConf

from regopt.config.errors import ConfigError
from regopt.dashboard.panels import OPTIONS, sections, verdict_columns
from regopt.report.aggregate import METRICS, choose_heatmap_keys, group_runs, swept_keys
from regopt.report.collect import Run
from regopt.report.tables import group_table, pivot_table, runs_table
from regopt.tracking.keys import option_key

GRID_COLUMNS, PANEL_W, PANEL_H = 3, 8, 6  # a report grid is 24 units wide


def sweep_group(runs: Sequence[Run]) -> str:
    """The W&B group the sweep's jobs logged to (their resolved config.yaml says it)."""
    for run in runs:
        path = run.path / "config.yaml"
        if path.is_file():
            group = OmegaConf.select(OmegaConf.load(path), "logger.wandb.group")
            if group:
                return str(group)
    raise ConfigError(
        "no W&B group in the sweep's config.yaml files (was it run with logger=none?)"
    )


def _placed(panels: list[Any], wr: Any) -> list[Any]:
    for i, panel in enumerate(panels):
        x, y = (i % GRID_COLUMNS) * PANEL_W, (i // GRID_COLUMNS) * PANEL_H
        panel.layout = wr.Layout(x=x, y=y, w=PANEL_W, h=PANEL_H)
    return panels


def build_wandb_report(
    runs: Sequence[Run],
    entity: str,
    project: str,
    over: Sequence[str] = ("seed",),
    metric: str = "best_val_loss",
    offline: bool = False,
) -> Any:
    """The W&B report of a sweep (report.md's grid, groups and runs tables, then the panels).

    A run set naming its project makes wandb-workspaces look up the project's id on the server
    when it is serialised; `offline` (a dry run) leaves it out, so the run set falls back to the
    report's own project."""
    import wandb_workspaces.reports.v2 as wr
    from wandb_workspaces import expr

    group = sweep_group(runs)
    swept = swept_keys(runs)
    keys = [k for k in swept if k not in over]
    groups = group_runs(runs, keys)
    pair = choose_heatmap_keys(keys, None)
    runset = wr.Runset(
        entity="" if offline else entity,
        project="" if offline else project,
        name=group,
        filters=[expr.Metric("Group") == group],
        groupby=[f"config.{option_key(g)}" for g in OPTIONS],
        pinned_columns=verdict_columns(),
    )
    blocks: list[Any] = [
        wr.P(
            f"{len(runs)} runs of the sweep {group}. Swept keys: {', '.join(swept) or 'none'}; "
            f"tables: mean ± std over {', '.join(over)}, from each job's local record."
        ),
    ]
    if pair:
        blocks += [
            wr.H2(f"{METRICS[metric][0]}: {pair[0]} x {pair[1]}"),
            wr.MarkdownBlock(pivot_table(runs, pair[0], pair[1], metric)),
        ]
    blocks += [wr.H2("Groups"), wr.MarkdownBlock(group_table(groups, keys))]
    for title, panels in sections(wr):
        blocks += [wr.H2(title), wr.PanelGrid(runsets=[runset], panels=_placed(panels, wr))]
    blocks += [wr.H2("Every run"), wr.MarkdownBlock(runs_table(runs, swept))]
    return wr.Report(
        entity=entity,
        project=project,
        title=f"regopt: {group}",
        blocks=blocks,
        description="Regularisation versus optimisation: one sweep.",
        width="fluid",
    )
