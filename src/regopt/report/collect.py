"""Find run dirs under a path and read their local records (summary.json, metrics.csv, overrides);
in a sweep dir, also the planned jobs that never started.

Nothing here talks to W&B: a report works with `logger=none` runs and on a machine without network.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regopt.sweep.plan import sweep_dir_plan

# status as the report shows it: summary.json's own, or what its absence means
UNFINISHED = "unfinished"  # summary.json still says running: killed, or still going
NO_RECORD = "no record"  # Hydra started the job, but it never reached fitting
NOT_STARTED = "not started"  # in the sweep's plan (its multirun.yaml), but no job dir


@dataclass
class Run:
    path: Path
    name: str  # the run dir relative to the report's root
    status: str
    overrides: dict[str, str]
    summary: dict[str, Any] = field(default_factory=dict)
    derived: dict[str, float] = field(default_factory=dict)  # the report's own (convergence.py)
    _rows: list[dict[str, float]] | None = None

    @property
    def rows(self) -> list[dict[str, float]]:
        if self._rows is None:
            self._rows = read_metrics(self.path / "metrics.csv")
        return self._rows


def find_run_dirs(root: Path) -> list[Path]:
    """`root` itself when it is a run dir, else every run dir below it (job dirs in job order)."""
    if _is_run_dir(root):
        return [root]
    found = {p.parent for p in root.rglob("summary.json")}
    found |= {p.parent for p in root.rglob(".hydra") if p.is_dir()}
    dirs = [d for d in found if _is_run_dir(d) and "wandb" not in d.relative_to(root).parts]
    return sorted(dirs, key=lambda d: _natural_key(d.relative_to(root).as_posix()))


def load_runs(root: Path) -> list[Run]:
    root = root.resolve()
    runs = []
    for path in find_run_dirs(root):
        summary = _read_json(path / "summary.json")
        if summary is None:
            status = NO_RECORD
        else:
            status = summary.get("status") or UNFINISHED
            status = UNFINISHED if status == "running" else status
        overrides = summary.get("overrides") if summary else None
        if overrides is None:
            overrides = _hydra_overrides(path)
        name = path.relative_to(root).as_posix() if path != root else path.name
        runs.append(Run(path, name, status, parse_overrides(overrides), summary or {}))
    return _with_jobs_never_started(root, runs)


def _with_jobs_never_started(root: Path, runs: list[Run]) -> list[Run]:
    """A sweep dir's planned jobs without a dir of their own (the sweep stopped before them)
    are runs too, `not started`, so a report shows what is missing."""
    plan = sweep_dir_plan(root)
    if plan is None:
        return runs
    present = {run.path.name for run in runs if run.path.parent == root}
    missing = [
        Run(root / str(num), str(num), NOT_STARTED, parse_overrides(overrides))
        for num, overrides in enumerate(plan)
        if str(num) not in present
    ]
    return sorted([*runs, *missing], key=lambda run: _natural_key(run.name))


def short_key(key: str) -> str:
    """An experiment's own group (`experiment/sequential_vs_joint/arm`) or setting
    (`experiment.switch_epoch`) by its own name (`arm`, `switch_epoch`); any other key as is."""
    if key.startswith("experiment/"):
        return key.rsplit("/", 1)[1]
    return key.removeprefix("experiment.")


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """`key=value` pairs (keys by `short_key`); `+`/`++`/`~` prefixes dropped, list values as
    written."""
    parsed = {}
    for override in overrides:
        key, sep, value = override.lstrip("+~").partition("=")
        if sep and not key.startswith("hydra."):
            parsed[short_key(key)] = value.strip()
    return parsed


def read_metrics(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [
            {k: _to_float(v) for k, v in row.items() if v not in ("", None)}
            for row in csv.DictReader(handle)
        ]


def _to_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return math.nan


def _is_run_dir(path: Path) -> bool:
    return (path / "summary.json").is_file() or (path / ".hydra" / "overrides.yaml").is_file()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _hydra_overrides(path: Path) -> list[str]:
    file = path / ".hydra" / "overrides.yaml"
    if not file.is_file():
        return []
    import yaml

    return [str(item) for item in yaml.safe_load(file.read_text()) or []]


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]
