"""report.md's sections: the heading and grid, the effects, the two axes, the run tables."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from regopt.report.aggregate import METRICS, Group
from regopt.report.collect import Run
from regopt.report.convergence import Targets
from regopt.report.effects import NOISE, Effect, sentences
from regopt.report.tables import axes_table, effects_table, group_table, pivot_table, runs_table


def mean_over(swept: Sequence[str], over: Sequence[str]) -> str:
    averaged = [k for k in over if k in swept]
    return f"mean ± std over {', '.join(averaged)}" if averaged else "one run per group"


def grid_section(
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
        f"Groups: {', '.join(keys) or 'all runs'}; {mean_over(swept, over)}, over each "
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


def effects_section(
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


def axes_section(groups: Sequence[Group], keys: Sequence[str], targets: Targets) -> list[str]:
    return [
        "## Convergence and generalisation (mean ± std over completed runs)",
        f"Targets: {targets.describe()}. Time to a target is over the runs that reached it; "
        "(k/n): k of the group's n completed runs did.",
        axes_table(groups, keys),
    ]


def run_tables(
    runs: Sequence[Run],
    groups: Sequence[Group],
    keys: Sequence[str],
    swept: Sequence[str],
    over: Sequence[str],
    images: Sequence[Path],
) -> list[str]:
    parts = [
        f"## Groups ({mean_over(swept, over)})",
        group_table(groups, keys),
        "## Every run",
        runs_table(runs, swept),
    ]
    if images:
        parts += ["## Figures", *(f"![{p.stem}]({p.name})" for p in images)]
    return parts
