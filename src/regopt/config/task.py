"""A job's task config: its config without the `hydra` node, every interpolation resolved.

What Hydra's `run_job` hands the task function (a copy without the Hydra node), resolved as the
task resolves it; the caller sets Hydra's config to the job's first (`${hydra:...}` reads it).
Resolved key by key under the job's own config, so nothing is copied first: a deep copy of the
whole config, Hydra node included, was as long as the resolution itself.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf


def resolved_task(config: DictConfig) -> DictConfig:
    content = {}
    for key in config:
        if key == "hydra":
            continue
        if OmegaConf.is_missing(config, key):
            content[key] = "???"
            continue
        value = config[key]
        content[key] = (
            OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        )
    return OmegaConf.create(content)
