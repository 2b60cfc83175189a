"""One Hydra job: validate the config, then fit; how a bad config ends depends on the run mode.

A single run stops at once with a one-line message, and leaves no run dir. Inside a multirun a
bad config ends only its own job, marked `failed` (an Optuna sample out of range, say), and the
sweep goes on. So does `resume=auto` on a run dir whose checkpoint was trained with another config.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig, open_dict

from regopt.config.cli_errors import exit_on_config_error
from regopt.config.errors import ConfigError
from regopt.config.validate import validate_config
from regopt.interrupt import resume_command, stop_signals_interrupt
from regopt.quiet import quiet_third_party_notices
from regopt.record.resume_check import check_resume
from regopt.record.run_dir import holds_nothing, remove_refused, status_of
from regopt.scale import is_multirun, requeued_resume


def run_job(cfg: DictConfig) -> float | None:
    output_dir = Path(cfg.paths.output_dir)
    fresh = holds_nothing(output_dir)  # only what Hydra wrote for this start
    quiet_third_party_notices()  # the check builds Lightning objects too
    with open_dict(cfg):
        cfg.resume = requeued_resume(cfg.get("resume"))
    try:
        validate_config(cfg)
        check_resume(cfg)  # before the pipeline overwrites the run dir's config.yaml
    except ConfigError as error:
        if not is_multirun():  # exit here: Hydra would log a multi-line job error first
            _refuse(cfg, error, fresh)
        return _record_config_failure(cfg, error)
    from regopt.pipeline import run  # heavy imports only once the config is known to be good

    try:
        with stop_signals_interrupt():
            return run(cfg)
    except ConfigError as error:  # e.g. a regulariser that does not fit the model, found early
        _refuse(cfg, error, fresh)
        return None
    except (KeyboardInterrupt, SystemExit) as stop:  # Lightning turns Ctrl-C into exit(1)
        interrupted = isinstance(stop, KeyboardInterrupt) or status_of(output_dir) == "interrupted"
        if interrupted and not is_multirun():  # a sweep's own end says how to resume it all
            _tell_how_to_resume(output_dir)
        raise


def _tell_how_to_resume(output_dir: Path) -> None:
    from hydra.core.hydra_config import HydraConfig

    overrides = HydraConfig.get().overrides
    command = resume_command(
        [*overrides.hydra, *overrides.task], "hydra.run.dir", str(output_dir), multirun=False
    )
    print(f"regopt-train: interrupted; resume with: {command}", file=sys.stderr)


def _refuse(cfg: DictConfig, error: ConfigError, fresh: bool) -> None:
    """A single run refused for its config: one line, exit 2, and no run dir left behind unless
    it held something before this start (a resume target keeps everything it had)."""
    if fresh:
        remove_refused(Path(cfg.paths.output_dir), Path(cfg.paths.log_dir))
    exit_on_config_error(error)


def _record_config_failure(cfg: DictConfig, error: ConfigError) -> float:
    from regopt.record.failure import mark_failed

    print(f"regopt-train: config error: {error} (this job is marked failed)", file=sys.stderr)
    # stale: this job wrote nothing yet; a status there is a previous start's (resume=auto)
    mark_failed(Path(cfg.paths.output_dir) / "summary.json", error, stale=True)
    return float("nan")
