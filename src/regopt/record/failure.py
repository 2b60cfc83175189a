"""Record a job's failure in its summary.json; light enough to call before torch is imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from regopt.record.atomic import write_json_atomic

FINISHED = ("failed", "diverged", "completed", "pruned")


def mark_failed(path: Path, error: BaseException, *, stale: bool = False) -> None:
    """Set `status: failed` with the error, unless the run already ended with its own status.

    `stale=True`: whatever status is there was left by an earlier start of this job (the job
    failed before it could write one), so it is replaced too.
    """
    summary: dict[str, Any] = {}
    if path.is_file():
        summary = json.loads(path.read_text())
        if summary.get("status") in FINISHED and not stale:
            return
    summary.update(status="failed", error=f"{type(error).__name__}: {error}")
    write_json_atomic(path, summary)
