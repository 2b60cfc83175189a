"""What every experiment's report does the same way: read the completed jobs of a sweep (naming
the others, never dropping them silently), write a table as csv, and run as a command."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from regopt.analysis.compare import find_runs

Job = TypeVar("Job")


def completed_jobs(
    sweep_dir: Path, read_job: Callable[[Path], Job | None]
) -> tuple[list[Job], list[str]]:
    """The jobs `read_job` reads, and "<run> (<status>)" for each run it returns None for."""
    jobs, left_out = [], []
    for run in find_runs(sweep_dir):
        job = read_job(run)
        if job is None:
            status = json.loads((run / "summary.json").read_text()).get("status")
            left_out.append(f"{run.name} ({status})")
        else:
            jobs.append(job)
    if not jobs:
        raise SystemExit(f"no completed jobs under {sweep_dir}")
    return jobs, left_out


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def report_command(
    report: Callable[[Path], Path], doc: str | None, argv: list[str] | None = None
) -> None:
    """`python -m regopt.analysis.<name> SWEEP_DIR`: writes the report, prints its markdown."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    print(report(parser.parse_args(argv).sweep_dir).read_text())
