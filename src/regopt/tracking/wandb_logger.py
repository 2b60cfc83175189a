"""Build Lightning's WandbLogger, offline unless asked, and never let it break a run.

`mode` is passed to `wandb.init` rather than using WandbLogger(offline=True): that flag writes
WANDB_MODE into the environment, which would leak into the next job of an in-process multirun.
"""

from __future__ import annotations

import logging
import netrc
import os
import socket
import sys
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from regopt.config.signature import checked
from regopt.ranges import Positive
from regopt.tracking.wandb_summary import define_metrics

log = logging.getLogger("regopt")
Mode = Literal["offline", "online", "disabled"]


@checked
def make_wandb_logger(
    mode: Mode = "offline",
    project: str = "regopt",
    entity: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    save_dir: str | None = ".",  # null outside a Hydra job: the working directory
    init_timeout_s: Positive = 15.0,
    name: str | None = None,
    tags: list[str] | None = None,
    run_config: dict[str, Any] | None = None,
    resuming: bool = False,
) -> Any | None:
    """A started WandbLogger, or None (with a warning) when W&B is off or cannot start.
    `resuming`: the job continues from its checkpoint, so it continues its W&B run too."""
    if mode == "disabled":
        return None
    if mode == "offline":
        # wandb 0.2x-0.3x probes <base_url>/sdk/otel/v1/metrics with its own telemetry even for an
        # offline run (seen with wandb 0.31); offline must mean no network at all.
        os.environ["WANDB_ERROR_REPORTING"] = "false"
    import wandb

    from regopt.tracking.wandb_resume import (
        EpochStepWandbLogger,
        backfill,
        logged_before,
        new_run_id,
        remember_run_id,
        run_id,
    )

    run_dir = Path(save_dir or ".")
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = wandb.Settings(init_timeout=init_timeout_s, silent=True)
    if mode == "online":
        base_url = os.environ.get("WANDB_BASE_URL") or settings.base_url
        server = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or base_url
        if not reachable(server):
            log.warning(
                f"W&B server {server} is unreachable; continuing with the local record only "
                "(upload later: wandb sync <run dir>/wandb/offline-run-* after an offline run)"
            )
            return None
        if at_a_terminal() and not has_credentials(base_url):
            # wandb would ask at the terminal which account to use, and wait for the answer
            log.warning(
                "W&B online needs credentials (WANDB_API_KEY, or `wandb login`); continuing with "
                "the local record only"
            )
            return None
    wandb_id = run_id(run_dir) if resuming else new_run_id()
    logger = EpochStepWandbLogger(
        logged=logged_before(run_dir, wandb_id) if resuming else {},
        id=wandb_id,
        name=name,
        save_dir=save_dir,
        project=project,
        entity=entity,
        group=group,
        job_type=job_type,
        tags=tags,
        config=run_config,
        mode=mode,
        settings=settings,
    )
    logger._wandb_init.pop("anonymous", None)  # deprecated in wandb; Lightning always passes it
    try:
        run = logger.experiment  # start now, so a failure is reported before training, not during
        define_metrics(run)
        remember_run_id(run_dir, wandb_id)
    except Exception as error:  # noqa: BLE001 - any tracker failure must leave the run alone
        log.warning(
            f"W&B could not start ({type(error).__name__}: {error}); "
            "continuing with the local record only"
        )
        return None
    if resuming:  # the epochs a killed process logged but W&B never wrote
        try:
            backfill(run, run_dir, logger._logged)
        except Exception as error:  # noqa: BLE001 - the run and its W&B logging go on
            log.warning(f"W&B: earlier epochs not backfilled ({type(error).__name__}: {error})")
    return logger


def reachable(url: str, timeout_s: float = 3.0) -> bool:
    """A TCP connection to the URL's host opens within `timeout_s`.

    wandb retries an unreachable server until its init timeout (90 s by default); this answers in
    at most a few seconds, while a slow but reachable server still gets the whole init timeout.
    """
    parsed = urlsplit(url if "://" in url else f"http://{url}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "localhost", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def at_a_terminal() -> bool:
    """wandb prompts for a login only when both stdin and stderr are terminals; otherwise it
    raises at once, which make_wandb_logger catches."""
    return all(getattr(stream, "isatty", lambda: False)() for stream in (sys.stdin, sys.stderr))


def has_credentials(base_url: str) -> bool:
    """A W&B key in the environment, or in the netrc file `wandb login` writes, for this host."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    try:
        entry = netrc.netrc(path).authenticators(urlsplit(base_url).hostname or "")
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(entry and entry[2])


def finish_wandb(logger: Any | None) -> None:
    """End the run so the next job of a multirun gets its own W&B run. Called after fitting, in a
    `finally`: an error here would turn a finished run into a failed one, so it only warns."""
    if logger is None:
        return
    try:
        logger.experiment.finish()  # this logger's own run (a no-op stand-in off rank zero)
        import wandb

        if wandb.run is not None:
            wandb.finish()
    except Exception as error:  # noqa: BLE001 - the local record is already complete
        log.warning(f"W&B run not finished cleanly ({type(error).__name__}: {error})")
