"""report.md's tables, report.csv (one row per group, effects included) and runs.csv."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

from regopt.report.aggregate import (
    CONVERGENCE_METRICS,
    GENERALISATION_METRICS,
    METRICS,
    MISSING,
    TABLE_METRICS,
    Group,
    metric,
    not_reached,
    pivot,
    verdict_kind,
)
from regopt.report.collect import Run
from regopt.report.effects import Effect, format_interval
from regopt.report.stats import Interval


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def group_table(groups: Sequence[Group], keys: Sequence[str]) -> str:
    header = [*keys, "runs", *(METRICS[m][0] for m in TABLE_METRICS), "verdicts", "status"]
    rows = []
    for group in groups:
        cells = [g for g in group.key] + [str(len(group.runs))]
        for name in TABLE_METRICS:
            cells.append(group.stat(name).format(count=name == "onset_epoch"))
        cells += [group.counts(verdict_kind), group.counts(lambda r: r.status)]
        rows.append(cells)
    return markdown_table(header, rows)


def pivot_table(runs: Sequence[Run], rows_key: str, cols_key: str, name: str) -> str:
    row_values, col_values, grid = pivot(runs, rows_key, cols_key)
    rows = []
    for value, cells in zip(row_values, grid, strict=True):
        rows.append([value, *(_cell(group, name) for group in cells)])
    return markdown_table([f"{rows_key} \\ {cols_key}", *col_values], rows)


def _cell(group: Group, name: str) -> str:
    if not group.runs:
        return "no runs"
    text = group.stat(name).format()
    others = [r.status for r in group.runs if r.status != "completed"]
    if others:
        text += f" ({', '.join(others)})"
    return text


def runs_table(runs: Sequence[Run], keys: Sequence[str]) -> str:
    header = [
        "run",
        *keys,
        "status",
        "epochs",
        "best val loss",
        "final gap/loss",
        "onset",
        "train target (epochs / steps)",
        "val target (epochs / steps)",
        "verdict",
    ]
    rows = []
    for run in runs:
        values = [
            metric(run, m) for m in ("epochs", "best_val_loss", "final_gap_loss", "onset_epoch")
        ]
        rows.append(
            [
                run.name,
                *(run.overrides.get(k, MISSING) for k in keys),
                run.status,
                *(_number(v) for v in values),
                _reach(run, "train"),
                _reach(run, "val"),
                _verdict(run),
            ]
        )
    return markdown_table(header, rows)


def _reach(run: Run, target: str) -> str:
    epochs, steps = f"epochs_to_{target}_target", f"steps_to_{target}_target"
    if not_reached(run, epochs):
        return "not reached"
    if metric(run, epochs) is None:
        return "-"
    return f"{_number(metric(run, epochs))} / {_number(metric(run, steps))}"


def axes_table(groups: Sequence[Group], keys: Sequence[str]) -> str:
    """Each group's two axes: time to the targets (mean ± std over the runs that reached it,
    with how many of the completed runs did) and best val loss and final gap."""
    names = [*CONVERGENCE_METRICS, *GENERALISATION_METRICS]
    header = [*keys, "completed", *(METRICS[m][0] for m in names)]
    rows = []
    for group in groups:
        cells = [*group.key, str(len(group.completed))]
        for name in names:
            s = group.stat(name)
            reached = name in CONVERGENCE_METRICS
            text = s.format(count=reached)
            cells.append(
                f"not reached (0/{s.total})"
                if reached and s.mean is None and any(not_reached(r, name) for r in group.completed)
                else text
            )
        rows.append(cells)
    return markdown_table(header, rows)


def effects_table(effects: Sequence[Effect], names: Sequence[str]) -> str:
    """One row per cell and factor: the effect on each metric, with its 95% interval."""
    header = ["factor", "setting", "against", "in", "test (seeds)", *(METRICS[m][0] for m in names)]
    rows: dict[tuple, list[str]] = {}
    for e in effects:
        if e.metric not in names:
            continue
        row = rows.setdefault(
            (e.factor, e.cell),
            [e.factor, e.value, e.baseline, e.where or "-", "-", *("-" for _ in names)],
        )
        text = format_interval(e.interval)
        if e.interval is not None and row[4] == "-":
            row[4] = f"{e.interval.method} ({e.interval.n})"
        elif e.interval is not None and row[4] != f"{e.interval.method} ({e.interval.n})":
            text += f" ({e.interval.method}, {e.interval.n})"  # fewer pairs: a target not reached
        row[5 + list(names).index(e.metric)] = text
    return markdown_table(header, list(rows.values()))


def _verdict(run: Run) -> str:
    return run.summary.get("verdict") or run.summary.get("error") or run.status


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


EFFECT_COLUMNS = ("", "_low", "_high", "_n", "_test", "_within_noise")


def groups_csv(
    groups: Sequence[Group],
    keys: Sequence[str],
    effects: Sequence[Effect] = (),
    base: dict[str, str] | None = None,
) -> str:
    """Per group: counts, mean/std/n of every metric, and for each factor its baseline and the
    effect of every metric in `effects` (`<metric>_vs_<factor>`, `_low`, `_high`, `_n`, `_test`,
    `_within_noise`; empty in the factor's baseline cells)."""
    header = [*keys, "runs", "completed", "statuses", "verdicts"]
    for name in METRICS:
        header += [f"{name}_mean", f"{name}_std", f"{name}_n"]
    names = list(dict.fromkeys(e.metric for e in effects))
    found = {(e.factor, e.cell, e.metric): e.interval for e in effects}
    factors = list(base or {})
    for factor in factors:
        header.append(f"baseline_{factor}")
        header += [f"{name}_vs_{factor}{c}" for name in names for c in EFFECT_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for group in groups:
        row = [
            *group.key,
            len(group.runs),
            len(group.completed),
            group.counts(lambda r: r.status),
            group.counts(verdict_kind),
        ]
        for name in METRICS:
            s = group.stat(name)
            row += [_csv(s.mean), _csv(s.std), s.n]
        for factor in factors:
            row.append((base or {})[factor])
            for name in names:
                row += _effect_csv(found.get((factor, group.key, name)))
        writer.writerow(row)
    return buffer.getvalue()


def _effect_csv(interval: Interval | None) -> list[str]:
    if interval is None:
        return [""] * len(EFFECT_COLUMNS)
    noise = interval.within_noise
    return [
        _csv(interval.mean),
        _csv(interval.low),
        _csv(interval.high),
        str(interval.n),
        interval.method,
        "" if noise is None else str(noise).lower(),
    ]


def runs_csv(runs: Sequence[Run], keys: Sequence[str], out: Path) -> str:
    """One row per run; `path` is the run dir relative to `out`, where runs.csv is written, so
    the table still points at its runs when the sweep dir moves or is copied with them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run", *keys, "status", *METRICS, "verdict_kind", "verdict", "path"])
    for run in runs:
        writer.writerow(
            [
                run.name,
                *(run.overrides.get(k, MISSING) for k in keys),
                run.status,
                *(_run_csv(run, m) for m in METRICS),
                verdict_kind(run),
                _verdict(run),
                os.path.relpath(run.path.resolve(), out.resolve()),
            ]
        )
    return buffer.getvalue()


def _run_csv(run: Run, name: str) -> str:
    return "inf" if not_reached(run, name) else _csv(metric(run, name))


def _csv(value: float | None) -> str:
    return "" if value is None else repr(value)
