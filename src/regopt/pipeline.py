"""Wire the configured objects together and fit. No training logic lives here."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from regopt.callbacks.rng_state import RngStateCheckpoint
from regopt.config.cli_errors import ConfigError
from regopt.divergence import Diverged
from regopt.module import RegOptModule
from regopt.objective import Objective
from regopt.optim.factory import OptimizerFactory
from regopt.quiet import quiet_third_party_notices
from regopt.record.atomic import write_text_atomic
from regopt.record.checkpoint_io import AtomicCheckpointIO
from regopt.record.console import summary_table
from regopt.record.epoch_csv import EpochCSVLogger, EpochRowsCheckpoint
from regopt.record.failure import mark_failed
from regopt.record.run_end import RunEnd
from regopt.record.run_info import git_state, hydra_runtime, package_versions
from regopt.record.summary import RunRecord
from regopt.regularizers.base import Regularizer
from regopt.regularizers.schedule import Schedule
from regopt.scale import (
    adapt_strategy_for_sweeps,
    configure_threads,
    is_multirun,
    restore_start_method,
)
from regopt.tasks import make_task
from regopt.tracking.naming import chosen_options, option_config, run_name, run_tags
from regopt.tracking.wandb_logger import finish_wandb

log = logging.getLogger("regopt")

# Trainer keys that the module applies, since it steps the optimiser itself: the Trainer does them
# only for automatic optimisation (and refuses them otherwise).
MODULE_STEPPING_KEYS = ("gradient_clip_val", "gradient_clip_algorithm", "accumulate_grad_batches")


def build_module(cfg: DictConfig, datamodule: pl.LightningDataModule) -> RegOptModule:
    """Model, task, regularisers (prepared: they may change the model) and optimiser factory.

    A regulariser that rejects its settings or does not fit the model or task raises ConfigError
    naming it, before anything trains.
    """
    with _config_error("data"):  # loading may refuse the settings (sizes against the set)
        datamodule.setup("fit")  # the regularisers need the training set size; setup is idempotent
    datamodule.steps_per_call = cfg.get("steps_per_call", 1)
    with _config_error("model"):
        model = instantiate(cfg.model, **model_sizes(cfg.model, datamodule))
        task = make_task(model, datamodule)
    regularizers = {}
    for name, spec in (cfg.regularizer or {}).items():
        with _config_error(f"regularizer.{name}"):
            regularizers[name] = build_regularizer(spec)
    objective = Objective(task, regularizers)
    _warn_unreached_schedules(regularizers, cfg.trainer.get("max_epochs"))
    with _config_error():
        task.check_data(datamodule)
    with _config_error():
        objective.prepare(model, datamodule.num_train_samples)
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    optimizer = OptimizerFactory.from_config(cfg.optimizer)
    stepping = {key: cfg.trainer.get(key) for key in MODULE_STEPPING_KEYS}
    check = cfg.get("divergence_check") or "auto"
    return RegOptModule(model, objective, optimizer, scheduler, **stepping, divergence_check=check)


def _warn_unreached_schedules(regularizers: dict[str, Regularizer], epochs: Any) -> None:
    """A schedule that cannot play out within the run is most likely a mistake: say so."""
    if not isinstance(epochs, int) or epochs < 1:
        return
    for name, regularizer in regularizers.items():
        problem = regularizer.schedule.unreached(epochs)
        if problem:
            log.warning(f"regularizer.{name}.schedule: {problem}")


def build_trainer(cfg: DictConfig, **kwargs: Any) -> pl.Trainer:
    """The configured Trainer, without the keys the module applies (MODULE_STEPPING_KEYS)."""
    kept_away = {**dict.fromkeys(MODULE_STEPPING_KEYS), "accumulate_grad_batches": 1}
    plugins = {} if cfg.trainer.get("plugins") else {"plugins": [AtomicCheckpointIO()]}
    return instantiate(cfg.trainer, **kept_away, **plugins, **kwargs)


def model_sizes(model_cfg: DictConfig, datamodule: pl.LightningDataModule) -> dict[str, Any]:
    """`input_dim` and `num_classes` for every model; `input_shape` too for a model that takes it
    (a CNN). A spatial model on data without a layout fails in one line."""
    sizes: dict[str, Any] = {"input_dim": datamodule.input_dim,
                             "num_classes": datamodule.num_classes}  # fmt: skip
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


def build_regularizer(spec: DictConfig) -> Regularizer:
    """The regulariser of `spec`, following the `schedule` of its config (one Schedule class
    for all: the regulariser's own constructor never sees it)."""
    body = OmegaConf.to_container(spec, resolve=True)
    assert isinstance(body, dict)
    schedule = body.pop("schedule", None)
    regularizer = instantiate(body)
    if schedule is not None:  # a block added on the command line may lack the _target_
        built = instantiate(schedule) if "_target_" in schedule else Schedule(**schedule)
        regularizer.set_schedule(built)
    return regularizer


# What a constructor raises for settings it refuses: a ValueError, or Lightning's own
# MisconfigurationException (enable_checkpointing=false beside a ModelCheckpoint callback).
REFUSALS = (ValueError, MisconfigurationException)


@contextmanager
def _config_error(key: str | None = None) -> Iterator[None]:
    """Turn a ValueError from building `key` into a one-line ConfigError (naming `key`)."""
    try:
        yield
    except InstantiationException as ex:
        cause = ex.__cause__ if isinstance(ex.__cause__, REFUSALS) else None
        if cause is None:
            raise
        raise ConfigError(f"{key}: {cause}" if key else str(cause)) from ex
    except REFUSALS as ex:
        raise ConfigError(f"{key}: {ex}" if key else str(ex)) from ex


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
    }


def build_trackers(cfg: DictConfig, static: dict[str, Any]) -> list[Any]:
    tags, name = run_tags(static), run_name(static["overrides"], cfg.name)
    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    config.update(option_config(static["options"]))
    # a job that resumes continues its W&B run; a new job in an old run dir starts a new one
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    resuming = cfg.get("resume") not in (None, "none") and last.is_file()
    trackers = [
        instantiate(spec, _partial_=True)(
            name=name, tags=tags, run_config=config, resuming=resuming
        )
        for spec in (cfg.logger or {}).values()
    ]
    return [t for t in trackers if t is not None]


def resume_checkpoint(setting: str | None, output_dir: Path) -> Path | None:
    """`resume=auto`: continue from the run dir's last checkpoint, if there is one."""
    if setting in (None, "none"):
        return None
    last = output_dir / "checkpoints" / "last.ckpt"
    if last.is_file():
        log.info(f"resuming from {last}")
        return last
    log.info(f"resume=auto: no checkpoint at {last}, starting from scratch")
    return None


def run(cfg: DictConfig) -> float | None:
    """Fit one configured job; returns the best val/loss (what a sweeper minimises).

    Inside a multirun a job that fails or diverges returns NaN, so the sweep (and an Optuna study)
    records it and goes on; a single run re-raises, with its traceback.
    """
    output_dir = Path(cfg.paths.output_dir)
    try:
        summary = fit(cfg, output_dir)
    except Exception as error:
        if _status(output_dir) == "diverged":  # a child process's Diverged (ddp_spawn)
            log.warning(f"run diverged: see {output_dir / 'summary.json'}")
            return float("nan")
        mark_failed(output_dir / "summary.json", error)
        if not is_multirun():
            error.add_note(f"record: {output_dir / 'summary.json'}")  # for the one-line report
            raise
        log.exception(f"job failed: {type(error).__name__}: {error} (the sweep goes on)")
        return float("nan")
    if summary is None:  # not the global-zero process
        return None
    if summary["status"] != "completed":
        return float("nan")
    return summary["best"]["val/loss"]


def _status(output_dir: Path) -> str | None:
    try:
        return json.loads((output_dir / "summary.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def fit(cfg: DictConfig, output_dir: Path) -> dict[str, Any] | None:
    quiet_third_party_notices()
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    configure_threads(cfg.get("threads"))
    adapt_strategy_for_sweeps(cfg.trainer)
    restore_start_method()
    pl.seed_everything(cfg.seed, workers=True, verbose=False)

    with _config_error("data"):
        datamodule = instantiate(cfg.data)
    module = build_module(cfg, datamodule)
    static = {"seed": cfg.seed, **describe_run(cfg, module)}
    trackers = build_trackers(cfg, static)
    # first: it tells the record the epoch before any other callback logs into that epoch
    callbacks: list[Any] = [EpochRowsCheckpoint()]
    callbacks += [instantiate(spec) for spec in (cfg.callbacks or {}).values()]
    callbacks += [instantiate(spec) for spec in (cfg.get("diagnostics") or {}).values()]
    checkpoint = resume_checkpoint(cfg.get("resume"), output_dir)
    if checkpoint is not None:
        static["resumed_from"] = str(checkpoint)
    rules = instantiate(cfg.verdict) if cfg.get("verdict") else None
    callbacks.append(RunRecord(output_dir / "summary.json", static, rules))
    callbacks.append(RunEnd(output_dir))  # after RunRecord: reads the final summary.json
    callbacks.append(RngStateCheckpoint())  # exact resume, with EpochRowsCheckpoint
    record = EpochCSVLogger(output_dir / "metrics.csv")
    with _config_error("trainer"):  # Lightning refuses flags that contradict the callbacks
        trainer = build_trainer(cfg, logger=[record, *trackers], callbacks=callbacks)
    try:
        # weights_only: a checkpoint is data, never code (a crafted pickle is refused)
        trainer.fit(module, datamodule=datamodule, ckpt_path=checkpoint, weights_only=True)
    except Diverged as diverged:  # RunRecord has recorded it: a result, not a crash
        log.warning(f"run diverged: {diverged}; the record ends with the last good epoch")
    finally:
        for tracker in trackers:
            finish_wandb(tracker)
    if not trainer.is_global_zero:
        return None
    summary = json.loads((output_dir / "summary.json").read_text())
    paths = {"run dir": str(output_dir), "metrics": str(output_dir / "metrics.csv"),
             "summary": str(output_dir / "summary.json")}  # fmt: skip
    log.info("run finished\n" + summary_table(summary, paths))
    return summary
