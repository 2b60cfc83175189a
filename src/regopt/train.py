"""The `regopt-train` entry point: Hydra composes the config, the pipeline wires the objects.

Only Hydra and OmegaConf are imported at module level, so `--help` and `--cfg job` answer
without paying for torch or Lightning.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from regopt.config.cli_errors import (
    CONFIG_DIR,
    ConfigError,
    exit_on_config_error,
    run_reporting_config_errors,
)
from regopt.config.resolvers import register_resolvers


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_app(cfg: DictConfig) -> float | None:
    from regopt.config.validate import validate_config

    try:
        validate_config(cfg)
    except ConfigError as ex:  # exit here: Hydra would log a multi-line job error first
        exit_on_config_error(ex)
    from regopt.pipeline import run  # heavy imports only once the config is known to be good

    try:
        return run(cfg)
    except ConfigError as ex:  # a regulariser that does not fit the model, found before training
        exit_on_config_error(ex)
        return None


def main() -> None:
    register_resolvers()
    run_reporting_config_errors(_hydra_app)


if __name__ == "__main__":
    main()
