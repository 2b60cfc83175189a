"""regopt's W&B workspace for a project, or for one sweep's group of runs."""

from __future__ import annotations

from typing import Any

from regopt.dashboard.panels import OPTIONS, sections, verdict_columns
from regopt.tracking.keys import option_key

GROUPINGS = ("options", "group")


def build_workspace(
    entity: str,
    project: str,
    group: str | None = None,
    name: str = "regopt",
    by: str = "options",
) -> Any:
    """Runs grouped by their regulariser and optimiser (`by="options"`: the seeds of a setting
    make one mean line with a min/max band) or by their W&B group (`by="group"`: one line per
    sweep); `group` keeps only that sweep's runs."""
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws

    if by not in GROUPINGS:
        raise ValueError(f"by={by!r}; allowed: {', '.join(GROUPINGS)}")
    groupby = (
        [ws.Config(option_key(g)) for g in OPTIONS] if by == "options" else [ws.Metric("Group")]
    )
    filters = [ws.Metric("Group") == group] if group else []
    runset = ws.RunsetSettings(filters=filters, groupby=groupby, pinned_columns=verdict_columns())
    return ws.Workspace(
        entity=entity,
        project=project,
        name=name,
        sections=[
            ws.Section(name=title, panels=panels, is_open=True) for title, panels in sections(wr)
        ],
        settings=ws.WorkspaceSettings(x_axis="epoch"),
        runset_settings=runset,
    )
