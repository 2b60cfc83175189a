"""The table of experiment=calibrate: each regulariser's strengths against regularizer=none on the
default job, paired over seeds, and the strength the rule below picks as its default.

Effects and intervals are the sweep report's own (regopt.report.stats.effect, printed by
regopt.report.effects.format_interval): setting minus baseline, seed by seed, with the 95%
t-interval of the mean difference. The rule, per regulariser:
  1. of the strengths that lower best val loss beyond seed noise (interval below 0), the one that
     lowers it most;
  2. else the weakest strength that lowers the final gap beyond seed noise (the regulariser acts
     visibly, though no strength helps the best val loss);
  3. else none: the table says so and the default stays as it was.
Reads the local records only (summary.json, overrides). Writes calibrate.md and calibrate.csv
into the sweep dir: `python -m regopt.analysis.calibrate DIR` (`make calibrate`).
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from regopt.record.atomic import write_text_atomic
from regopt.report.aggregate import METRICS
from regopt.report.collect import Run, load_runs
from regopt.report.effects import format_interval
from regopt.report.stats import Interval, effect, mean_interval

MD_NAME, CSV_NAME = "calibrate.md", "calibrate.csv"
BASELINE = "none"
TARGETS = ("best_val_loss", "final_gap_loss")  # the effects the table shows, in this order
RULE = (
    "the strength that lowers best val loss most among those that lower it beyond seed noise; "
    "else the weakest one that lowers the final gap beyond seed noise; else none"
)


@dataclass(frozen=True)
class Cell:
    """One regulariser at one strength: its runs' metrics by seed."""

    reg: str
    level: str
    strength: str  # as the regulariser's label shows it: p=0.2, weight=0.001
    values: dict[str, dict[str, float]]  # metric -> seed -> value


def find_runs(root: Path) -> list[Run]:
    """The runs of `root` and of each sweep dir below it (`none/`, `grid/`), with the planned
    jobs of each that never started."""
    subs = [d for d in sorted(root.iterdir()) if (d / "multirun.yaml").is_file()]
    if (root / "multirun.yaml").is_file() or not subs:
        return load_runs(root)
    return [run for sub in subs for run in load_runs(sub)]


def strength_label(run: Run) -> str:
    """The strength a run used, from its summary (`weight=0.001`; `bound=2.0` for max_norm)."""
    regs = run.summary.get("regularizers") or []
    if not regs:
        return "-"
    label = regs[0].get("label", "")
    inside = label.partition("(")[2].rstrip(")")
    return inside if "=" in inside else f"weight={inside}"


def cells(runs: Sequence[Run]) -> list[Cell]:
    """The completed runs as cells, in sweep order; the baseline is the cell of reg `none`."""
    found: dict[tuple[str, str], Cell] = {}
    for run in runs:
        if run.status != "completed":
            continue
        reg, level = run.overrides.get("reg", "?"), run.overrides.get("level", "s1")
        key = (reg, BASELINE if reg == BASELINE else level)
        cell = found.setdefault(key, Cell(reg, key[1], strength_label(run), {}))
        for name in TARGETS:
            value = METRICS[name][1](run)
            if value is not None and math.isfinite(value):
                cell.values.setdefault(name, {})[run.overrides.get("seed", "0")] = value
    return list(found.values())


def effects(cell: Cell, baseline: Cell) -> dict[str, Interval | None]:
    """The cell's paired effect on each target metric against the baseline."""
    return {
        name: effect(cell.values.get(name, {}), baseline.values.get(name, {})) for name in TARGETS
    }


def below_zero(interval: Interval | None) -> bool:
    return interval is not None and interval.high is not None and interval.high < 0


def choose(levels: Sequence[tuple[Cell, dict[str, Interval | None]]]) -> tuple[Cell | None, str]:
    """The rule (module docstring): the chosen cell and which clause chose it."""
    helps = [(c, e) for c, e in levels if below_zero(e["best_val_loss"])]
    if helps:
        return min(helps, key=lambda ce: ce[1]["best_val_loss"].mean)[0], "best val loss"
    shrinks = [c for c, e in levels if below_zero(e["final_gap_loss"])]
    if shrinks:
        return shrinks[0], "gap"
    return None, "none"


def table(runs: Sequence[Run]) -> tuple[Cell, list[dict[str, str]]]:
    """The baseline cell and one row per regulariser and strength (weakest first)."""
    all_cells = cells(runs)
    baseline = next((c for c in all_cells if c.reg == BASELINE), None)
    if baseline is None:
        raise ValueError("no completed run of regularizer=none: the baseline is missing")
    rows = []
    regs = dict.fromkeys(c.reg for c in all_cells if c.reg != BASELINE)
    for reg in regs:
        levels = [(c, effects(c, baseline)) for c in all_cells if c.reg == reg]
        levels.sort(key=lambda ce: ce[0].level)
        chosen, why = choose(levels)
        for cell, eff in levels:
            row = {"regularizer": reg, "level": cell.level, "strength": cell.strength}
            for name in TARGETS:
                mean = mean_interval(list(cell.values.get(name, {}).values()))
                row[f"{name}_mean"] = f"{mean.mean:.6g}" if mean else ""
                i = eff[name]
                row[f"{name}_vs_none"] = f"{i.mean:.6g}" if i else ""
                row[f"{name}_low"] = f"{i.low:.6g}" if i and i.low is not None else ""
                row[f"{name}_high"] = f"{i.high:.6g}" if i and i.high is not None else ""
                row[f"{name}_n"] = str(i.n) if i else "0"
                row[f"{name}_test"] = i.method if i else ""
                noise = i.within_noise if i else None
                row[f"{name}_within_noise"] = "" if noise is None else str(noise).lower()
                row[f"_{name}_text"] = format_interval(i)
            row["chosen"] = "true" if cell is chosen else "false"
            row["chosen_by"] = why if cell is chosen else ""
            rows.append(row)
    return baseline, rows


def to_csv(rows: Sequence[dict[str, str]]) -> str:
    fields = [k for k in rows[0] if not k.startswith("_")]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def timing(runs: Sequence[Run]) -> str:
    """How long the sweep took: the jobs' own training time summed, and the wall-clock span from
    the first job's start to the last one's end (summary.json's mtime minus its wall time)."""
    done = [r for r in runs if r.status == "completed" and (r.path / "summary.json").is_file()]
    if not done:
        return ""
    ends = [(r.path / "summary.json").stat().st_mtime for r in done]
    took = [float(r.summary.get("wall_time_s") or 0.0) for r in done]
    span = max(ends) - min(e - w for e, w in zip(ends, took, strict=True))
    return (
        f"{len(done)} runs, {sum(took) / 60:.0f} min of training in all, "
        f"{span / 60:.0f} min from the first start to the last end."
    )


def to_markdown(
    baseline: Cell, rows: Sequence[dict[str, str]], left_out: Sequence[Run], took: str = ""
) -> str:
    def base(name: str) -> str:
        i = mean_interval(list(baseline.values.get(name, {}).values()))
        return f"{i.mean:.4f}" if i else "-"

    seeds = len(baseline.values.get("best_val_loss", {}))
    lines = [
        "# Calibration of the default strengths (experiment=calibrate)",
        "",
        f"Default job, each strength against regularizer=none over the same {seeds} seeds "
        f"(none: best val loss {base('best_val_loss')}, final gap {base('final_gap_loss')}). "
        "Effects are setting minus none, paired by seed, with the 95% t-interval of the mean "
        "difference (negative: lower than without the regulariser).",
        "",
        f"Rule: {RULE}. **chosen** marks the pick.{' ' + took if took else ''}",
        "",
        "| regulariser | strength | best val loss | effect on best val loss | final gap "
        "| effect on final gap | chosen |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        mark = f"**chosen** ({r['chosen_by']})" if r["chosen"] == "true" else ""
        lines.append(
            f"| {r['regularizer']} | {r['strength']} | {float(r['best_val_loss_mean']):.4f} "
            f"| {r['_best_val_loss_text']} | {float(r['final_gap_loss_mean']):.4f} "
            f"| {r['_final_gap_loss_text']} | {mark} |"
        )
    for reg in dict.fromkeys(r["regularizer"] for r in rows):
        if not any(r["chosen"] == "true" for r in rows if r["regularizer"] == reg):
            lines.append(f"\n{reg}: no strength of the grid passes the rule.")
    if left_out:
        lines += ["", "Left out, not completed: " + left_out_text(left_out, rows)]
    return "\n".join(lines) + "\n"


def left_out_text(left_out: Sequence[Run], rows: Sequence[dict[str, str]]) -> str:
    """`24 not started, 2 interrupted; no strength of mixup, max_norm completed`."""
    counts: dict[str, int] = {}
    for run in left_out:
        counts[run.status] = counts.get(run.status, 0) + 1
    text = ", ".join(f"{n} {status}" for status, n in counts.items())
    tabled = {r["regularizer"] for r in rows} | {BASELINE}
    missing = dict.fromkeys(r.overrides.get("reg", "?") for r in left_out)
    missing_text = ", ".join(reg for reg in missing if reg not in tabled)
    return f"{text}; no strength of {missing_text} completed" if missing_text else text


def write_report(sweep_dir: Path) -> str:
    """calibrate.md and calibrate.csv into `sweep_dir`; returns the markdown."""
    runs = find_runs(sweep_dir)
    baseline, rows = table(runs)
    left_out = [r for r in runs if r.status != "completed"]
    text = to_markdown(baseline, rows, left_out, timing(runs))
    write_text_atomic(sweep_dir / MD_NAME, text)
    write_text_atomic(sweep_dir / CSV_NAME, to_csv(rows))
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m regopt.analysis.calibrate")
    parser.add_argument("sweep_dir", type=Path, help="the dir holding the grid and none sweeps")
    args = parser.parse_args(argv)
    try:
        print(write_report(args.sweep_dir), end="")
    except ValueError as error:
        raise SystemExit(f"regopt.analysis.calibrate: {error}") from None


if __name__ == "__main__":
    main()
