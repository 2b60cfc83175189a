"""A run dir's state as its files tell it, and removing the dir of a refused job.

A refused job leaves no run dir: Hydra creates it (with `.hydra/` and an empty log) before the
job can check its config, and a dir without a record would show up in reports as a run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def status_of(run_dir: Path) -> str | None:
    """summary.json's `status`; None when there is none to read."""
    try:
        return json.loads((run_dir / "summary.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def holds_nothing(path: Path) -> bool:
    """Whether `path` holds only what Hydra writes before a job starts: `.hydra/` and empty
    logs. Anything else (a record, a checkpoint: a resume target) means it must be kept."""
    if not path.is_dir():
        return True
    for entry in path.iterdir():
        empty_log = entry.suffix == ".log" and entry.is_file() and entry.stat().st_size == 0
        if entry.name != ".hydra" and not empty_log:
            return False
    return True


def remove_refused(path: Path, log_dir: Path) -> None:
    """Delete the refused job's dir, then the dirs above it that are left empty, up to and
    including `log_dir` (a dir given outside it loses only itself)."""
    shutil.rmtree(path, ignore_errors=True)
    top = log_dir.resolve()
    parent = path.resolve().parent
    while parent == top or top in parent.parents:
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent
