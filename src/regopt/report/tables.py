"""report.md, report.csv (one row per group) and runs.csv (one row per run)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from regopt.report.aggregate import (
    METRICS,
    MISSING,
    TABLE_METRICS,
    Group,
    metric,
    pivot,
    verdict_kind,
)
from regopt.report.collect import Run


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
    header = ["run", *keys, "status", "epochs", "best val loss", "final gap/loss", "onset",
              "verdict"]  # fmt: skip
    rows = []
    for run in runs:
        values = [
            metric(run, m) for m in ("epochs", "best_val_loss", "final_gap_loss", "onset_epoch")
        ]
        rows.append([run.name, *(run.overrides.get(k, MISSING) for k in keys), run.status,
                     *(_number(v) for v in values), _verdict(run)])  # fmt: skip
    return markdown_table(header, rows)


def _verdict(run: Run) -> str:
    return run.summary.get("verdict") or run.summary.get("error") or run.status


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def groups_csv(groups: Sequence[Group], keys: Sequence[str]) -> str:
    header = [*keys, "runs", "completed", "statuses", "verdicts"]
    for name in METRICS:
        header += [f"{name}_mean", f"{name}_std", f"{name}_n"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for group in groups:
        row = [*group.key, len(group.runs), len(group.completed),
               group.counts(lambda r: r.status), group.counts(verdict_kind)]  # fmt: skip
        for name in METRICS:
            s = group.stat(name)
            row += [_csv(s.mean), _csv(s.std), s.n]
        writer.writerow(row)
    return buffer.getvalue()


def runs_csv(runs: Sequence[Run], keys: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run", *keys, "status", *METRICS, "verdict_kind", "verdict", "path"])
    for run in runs:
        writer.writerow([run.name, *(run.overrides.get(k, MISSING) for k in keys), run.status,
                         *(_csv(metric(run, m)) for m in METRICS), verdict_kind(run),
                         _verdict(run), str(run.path)])  # fmt: skip
    return buffer.getvalue()


def _csv(value: float | None) -> str:
    return "" if value is None else repr(value)
