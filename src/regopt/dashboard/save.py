"""Save a workspace or a report to W&B, or say in one line why not (no key, no server)."""

from __future__ import annotations

import os
from typing import Any

from regopt.tracking.wandb_logger import has_credentials, reachable


class SaveError(Exception):
    """One line for the user, and the exit code: 2 for what they must set, 1 for the rest."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def save(obj: Any, kind: str) -> str:
    """`obj.save()` once a key and a reachable server are known; returns the saved URL."""
    import wandb

    base_url = os.environ.get("WANDB_BASE_URL") or wandb.Settings().base_url
    if not has_credentials(base_url):
        raise SaveError(
            f"saving the {kind} needs a W&B key for {base_url} (WANDB_API_KEY or `wandb login`); "
            "--dry-run writes its spec without one",
            code=2,
        )
    server = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or base_url
    if not reachable(server):
        raise SaveError(f"W&B server {server} is unreachable; the {kind} was not saved")
    try:
        obj.save()
        return str(obj.url)
    except Exception as error:  # noqa: BLE001 - any refusal is reported in one line
        reason = (str(error).strip().splitlines() or [""])[0][:300]
        raise SaveError(
            f"W&B did not save the {kind} ({type(error).__name__}: {reason})"
        ) from error
