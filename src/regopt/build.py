"""The configured objects of a job, each from its `_target_`: the module (model, task,
regularisers, optimiser factory), the Trainer, the trackers, and the run's description."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pytorch_lightning as pl
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from regopt.config.construct import naming_the_key
from regopt.config.errors import ConfigError
from regopt.module import RegOptModule
from regopt.objective import Objective, build_regularizer
from regopt.optim.factory import OptimizerFactory
from regopt.record.checkpoint_io import AtomicCheckpointIO
from regopt.record.run_info import git_state, hydra_runtime, package_versions, slurm_job
from regopt.regularizers.base import Regularizer
from regopt.scale import (
    progress_bar,
)
from regopt.settings import RunSettings
from regopt.tasks import make_task
from regopt.tracking.naming import chosen_options, option_config, run_name, run_tags

log = logging.getLogger("regopt")


def build_module(cfg: DictConfig, datamodule: pl.LightningDataModule) -> RegOptModule:
    """Model, task, regularisers (prepared: they may change the model) and optimiser factory.

    A regulariser that rejects its settings or does not fit the model or task raises ConfigError
    naming it, before anything trains.
    """
    settings = RunSettings.from_config(cfg)
    with naming_the_key("data", settings.data):  # loading may refuse the settings (sizes)
        datamodule.setup("fit")  # the regularisers need the training set size; setup is idempotent
    with naming_the_key("model", settings.model):
        model = instantiate(cfg.model, **model_sizes(cfg.model, datamodule))
        task = make_task(model, datamodule)
    regularizers = {}
    for name, spec in settings.regularizer.items():
        with naming_the_key(f"regularizer.{name}", spec):
            regularizers[name] = build_regularizer(spec, settings.schedule)
    objective = Objective(task, regularizers)
    _warn_unreached_schedules(regularizers, cfg.trainer.get("max_epochs"))
    with naming_the_key(""):
        task.check_data(datamodule)
    with naming_the_key(""):
        shape = getattr(datamodule, "input_shape", None)
        objective.prepare(model, datamodule.num_train_samples, shape)
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    optimizer = OptimizerFactory.from_config(cfg.optimizer)
    return RegOptModule(
        model,
        objective,
        optimizer,
        scheduler,
        divergence_check=settings.divergence_check,
        input_dim=datamodule.input_dim,
    )


def _warn_unreached_schedules(regularizers: dict[str, Regularizer], epochs: Any) -> None:
    """A schedule that cannot play out within the run is most likely a mistake: say so."""
    if not isinstance(epochs, int) or epochs < 1:
        return
    for name, regularizer in regularizers.items():
        problem = regularizer.schedule.unreached(epochs)
        if problem:
            log.warning(f"regularizer.{name}.schedule: {problem}")


def build_trainer(cfg: DictConfig, **kwargs: Any) -> pl.Trainer:
    """The configured Trainer, every key passed as Lightning documents it; only
    `enable_progress_bar: null` (auto) is resolved here (regopt.scale.progress_bar)."""
    settings: dict[str, Any] = {
        "enable_progress_bar": progress_bar(
            cfg.trainer.get("enable_progress_bar"), kwargs.get("callbacks") or ()
        )
    }
    if not cfg.trainer.get("plugins"):
        settings["plugins"] = [AtomicCheckpointIO()]
    with naming_the_key("trainer", OmegaConf.to_container(cfg.trainer, resolve=True)):
        return instantiate(cfg.trainer, **{**settings, **kwargs})


def model_sizes(model_cfg: DictConfig, datamodule: pl.LightningDataModule) -> dict[str, Any]:
    """`input_dim` and `num_classes` for every model; `input_shape` too for a model that takes it
    (a CNN). A spatial model on data without a layout fails in one line."""
    sizes: dict[str, Any] = {
        "input_dim": datamodule.input_dim,
        "num_classes": datamodule.num_classes,
    }
    target = get_class(model_cfg._target_)
    if "input_shape" in inspect.signature(target).parameters:
        shape = getattr(datamodule, "input_shape", None)
        if shape is None:
            raise ConfigError(
                f"model={target.__name__} needs inputs with a spatial layout; "
                f"{type(datamodule).__name__} has none (use model=mlp)"
            )
        sizes["input_shape"] = tuple(shape)
    return sizes


def describe_run(cfg: DictConfig, module: RegOptModule) -> dict[str, Any]:
    choices, overrides = hydra_runtime()
    factory = module.optimizer_factory
    name = choices.get("optimizer") or factory.algorithm.__name__.lower()
    optimizer = {"name": name, **factory.describe()}
    regularizers = list(module.objective.regularizers)
    return {
        "name": cfg.name,
        "task": module.task.describe(),
        "regularizers": [
            reg.describe() | {"name": n} for n, reg in module.objective.regularizers.items()
        ],
        "optimizer": optimizer,
        "options": chosen_options({**choices, "optimizer": name}, regularizers),
        "overrides": overrides,
        "git": git_state(),
        "versions": package_versions(),
        **({"slurm": job} if (job := slurm_job()) else {}),
    }


def build_trackers(cfg: DictConfig, static: dict[str, Any], resuming: bool = False) -> list[Any]:
    """The trackers (W&B); `resuming`: the job continues from a checkpoint, so it continues its
    W&B run too (a new job in an old run dir starts a new one)."""
    tags, name = run_tags(static), run_name(static["overrides"], cfg.name)
    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    config.update(option_config(static["options"]))
    trackers = [
        instantiate(spec, _partial_=True)(
            name=name, tags=tags, run_config=config, resuming=resuming
        )
        for spec in (cfg.logger or {}).values()
    ]
    return [t for t in trackers if t is not None]
