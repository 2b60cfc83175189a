"""The `regopt-train` entry point: Hydra composes the config, `regopt.job` runs it.

Only Hydra and OmegaConf are imported at module level, so `--help` and `--cfg job` answer
without paying for torch or Lightning.
"""

from __future__ import annotations

import os
import signal
import sys

import hydra
from omegaconf import DictConfig

import regopt.quick_exit  # noqa: F401 - registers the fast end of the process
from regopt.config.cli_errors import CONFIG_DIR, run_reporting_config_errors
from regopt.config.help import overrides_of, print_help, wants_help
from regopt.config.resolvers import register_resolvers
from regopt.config.selections import check_selections


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_app(cfg: DictConfig) -> float | None:
    from regopt.job import run_job

    return run_job(cfg)


def _checked_app() -> None:
    """Hydra's app, after the checks of the command line that Hydra's composition would hide
    ('regularizer=[l2,l2]')."""
    check_selections(overrides_of(sys.argv[1:]))
    _hydra_app()


def main() -> None:
    # A W&B service that a parent process started (its address inherited in WANDB_SERVICE) is
    # not this run's: a job killed there leaves its stream open in it, and the resumed run's
    # record came out empty. Each regopt-train starts its own (jobs in this process share it).
    os.environ.pop("WANDB_SERVICE", None)
    register_resolvers()
    if wants_help(sys.argv[1:]):  # regopt's help: Hydra's lists groups 10x slower
        run_reporting_config_errors(lambda: print_help(sys.argv[1:]))
        return
    try:
        run_reporting_config_errors(_checked_app)
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM outside a fit (which exits by itself)
        if os.environ.get("REGOPT_DEBUG") == "1":
            raise
        name = getattr(stop, "signal", "SIGINT")
        print(f"regopt-train: interrupted ({name})", file=sys.stderr)
        sys.exit(128 + signal.Signals[name].value)
    if any(arg in ("--cfg", "-c") for arg in sys.argv[1:]):  # Hydra printed, nothing ran
        print(
            "regopt-train: --cfg prints the composed config without checking its values; "
            "a run checks them before training",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
