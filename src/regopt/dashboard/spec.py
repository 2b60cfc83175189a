"""Workspaces and reports as JSON, and back: the `--dry-run` output, checked offline.

wandb-workspaces 0.4.13 has no public serialisation: its objects are pydantic dataclasses whose
dump carries private fields that the same dataclasses then refuse. What `save()` sends is the
wire model from `_to_model()` (`internal.View` for a workspace, `internal.ReportViewspec` for a
report). That is the spec written here, and it is checked the way the library reads a saved
view: the wire model validates it and `_from_model` turns it back into a Workspace or Report.
Both private calls live here and nowhere else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from regopt.record.atomic import write_text_atomic


def to_spec(obj: Any) -> dict[str, Any]:
    """What `obj.save()` would upload, as JSON-ready data (no network)."""
    return obj._to_model().model_dump(mode="json", by_alias=True, exclude_none=True)


def workspace_from_spec(spec: dict[str, Any]) -> Any:
    from wandb_workspaces.workspaces import Workspace, internal

    return Workspace._from_model(internal.View.model_validate(spec))


def report_from_spec(spec: dict[str, Any]) -> Any:
    from wandb_workspaces.reports.v2 import Report, internal

    return Report._from_model(internal.ReportViewspec.model_validate(spec))


def write_spec(obj: Any, path: Path) -> Path:
    write_text_atomic(path, json.dumps(to_spec(obj), indent=1, sort_keys=True) + "\n")
    return path
