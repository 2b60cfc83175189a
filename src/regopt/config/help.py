"""`regopt-train --help`: the config groups, their options and the composed config, fast.

Hydra's own `--help` lists the groups by building a config repository per group (about 130 deep
copies of every registered config): 1.4 s on 2 cores, before anything is printed. The groups are
folders of YAML files, so regopt lists them from the file system and composes the config once
(with the user's overrides, as Hydra's help does). `--hydra-help` still shows Hydra's own help.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from regopt.config.cli_errors import CONFIG_DIR

HELP_FLAGS = ("--help", "-h")
HEADER = """\
regopt-train: train one job (or a sweep, with -m) of regularisation versus optimisation.

Choose an option of a group with group=option ('regularizer=[l1,l2]' selects several), set a key
with key=value (optimizer.lr=0.01), add any key the node's _target_ accepts with +key=value
(+trainer.profiler=simple). Every key is checked against its target's signature before anything
trains; a bad one stops in one line, exit code 2 (REGOPT_DEBUG=1 for the traceback). --cfg job
prints the composed config and trains nothing.

  regopt-train optimizer=sgd 'regularizer=[l1,l2]' regularizer.l1.weight=1e-4
  regopt-train -m optimizer=sgd,adam seed=0,1,2               a sweep (Hydra multirun)
  regopt-train -m experiment=l2_vs_weight_decay               a prepared experiment
  regopt-train hparams_search=optuna hparams_search/pruner=hyperband   a pruned Optuna study

Docs: README.md, docs/architecture.md, docs/reliability.md, docs/search.md.
"""
# Hydra's own groups that regopt adds options to; Hydra and its installed plugins add more.
HYDRA_GROUPS = ("hydra/launcher", "hydra/sweeper")


def wants_help(argv: Sequence[str]) -> bool:
    return any(arg in HELP_FLAGS for arg in argv)


def config_groups(config_dir: Path = CONFIG_DIR) -> dict[str, list[str]]:
    """Every group (a folder of YAML files, nested ones as `a/b`) and its options, sorted."""
    groups: dict[str, list[str]] = {}
    for path in sorted(config_dir.rglob("*.yaml")):
        group = path.parent.relative_to(config_dir).as_posix()
        if group != "." and (not group.startswith("hydra") or group in HYDRA_GROUPS):
            groups.setdefault(group, []).append(path.stem)
    for group, options in plugin_options().items():
        groups.setdefault(group, []).extend(options)
    return {group: sorted(set(options)) for group, options in sorted(groups.items())}


def plugin_options() -> dict[str, list[str]]:
    """The launchers and sweepers Hydra and its installed plugins register (basic, joblib,
    submitit_local, ...): discovering them registers configs only, it imports no plugin's heavy
    dependencies."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    Plugins.instance()
    store = ConfigStore.instance()
    return {
        group: [name.removesuffix(".yaml") for name in store.list(group) if name.endswith(".yaml")]
        for group in HYDRA_GROUPS
    }


def render_help(overrides: Sequence[str]) -> str:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from regopt.config.resolvers import register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides))
    groups = "\n".join(
        f"{group}: {', '.join(options)}" for group, options in config_groups().items()
    )
    return (
        f"{HEADER}\n== Configuration groups ==\nChoose an option with group=option; several "
        f"regularisers with 'regularizer=[a,b]'.\n\n{groups}\n\n== Config ==\n"
        f"Override anything in the config (foo.bar=value)\n\n{OmegaConf.to_yaml(cfg)}\n"
        "Hydra's own help (launchers, sweepers, flags): regopt-train --hydra-help\n"
    )


# Hydra's flags that take the next argument as their value (`--cfg job`): not an override.
FLAGS_WITH_VALUE = (
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--experimental-rerun",
)


def overrides_of(argv: Sequence[str]) -> list[str]:
    """The overrides among the arguments: not flags, nor the values of flags that take one."""
    overrides, skip = [], False
    for arg in argv:
        if not skip and not arg.startswith("-"):
            overrides.append(arg)
        skip = arg in FLAGS_WITH_VALUE
    return overrides


def print_help(argv: Sequence[str]) -> None:
    sys.stdout.write(render_help(overrides_of(argv)))
