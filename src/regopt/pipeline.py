"""Wire the configured objects together and fit. No training logic lives here."""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from regopt.callbacks.rng_state import RngStateCheckpoint
from regopt.config.cli_errors import ConfigError
from regopt.config.construct import naming_the_key
from regopt.divergence import Diverged
from regopt.module import RegOptModule
from regopt.monitor_check import check_monitors
from regopt.objective import Objective, build_regularizer
from regopt.optim.factory import OptimizerFactory
from regopt.quiet import quiet_third_party_notices
from regopt.record.atomic import write_text_atomic
from regopt.record.checkpoint_choice import UnreadableCheckpoint, choose_checkpoint
from regopt.record.checkpoint_io import AtomicCheckpointIO
from regopt.record.console import summary_table
from regopt.record.epoch_csv import EpochCSVLogger, EpochRowsCheckpoint
from regopt.record.failure import mark_failed
from regopt.record.run_dir import status_of
from regopt.record.run_end import RunEnd
from regopt.record.run_info import git_state, hydra_runtime, package_versions
from regopt.record.summary import RunRecord
from regopt.regularizers.base import Regularizer
from regopt.scale import (
    adapt_strategy_for_sweeps,
    configure_threads,
    is_multirun,
    progress_bar,
    restore_start_method,
)
from regopt.settings import RunSettings
from regopt.tasks import make_task
from regopt.tracking.naming import chosen_options, option_config, run_name, run_tags
from regopt.tracking.wandb_logger import finish_wandb

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
        objective.prepare(model, datamodule.num_train_samples)
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


def resume_checkpoint(setting: str | None, output_dir: Path) -> Path | None:
    """`resume=auto` (last.ckpt) or `resume=newest_readable`: the checkpoint to continue, if
    there is one. It is checked to load before the run dir is touched (UnreadableCheckpoint)."""
    if setting in (None, "none"):
        return None
    checkpoint = choose_checkpoint(setting, output_dir / "checkpoints")
    if checkpoint is None:
        log.info(
            f"resume={setting}: no checkpoint in {output_dir / 'checkpoints'}, "
            "starting from scratch"
        )
    else:
        log.info(f"resuming from {checkpoint}")
    return checkpoint


def run(cfg: DictConfig) -> float | None:
    """Fit one configured job; returns the best val/loss (what a sweeper minimises).

    Inside a multirun a job that fails or diverges returns NaN, so the sweep (and an Optuna study)
    records it and goes on; a single run re-raises, with its traceback. A single run refused for
    its config (ConfigError) records nothing: regopt.job prints the line. A checkpoint that does
    not load refuses the job before the run dir is touched, so its record stays as it was.
    """
    output_dir = Path(cfg.paths.output_dir)
    try:
        summary = fit(cfg, output_dir)
    except UnreadableCheckpoint as error:
        if not is_multirun():
            raise
        log.error(f"job refused: {error} (the sweep goes on)")
        return float("nan")
    except Exception as error:
        if isinstance(error, ConfigError) and not is_multirun():
            raise
        if status_of(output_dir) == "diverged":  # a child process's Diverged (ddp_spawn)
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


@dataclass
class Job:
    """One job's parts before its Trainer: what `fit` trains and what records it. The stacked
    engine (regopt.stacked) assembles one per member, so a member's record is a separate run's."""

    datamodule: pl.LightningDataModule
    module: RegOptModule
    callbacks: list[Any]
    record: EpochCSVLogger
    trackers: list[Any]
    checkpoint: Path | None


def assemble(cfg: DictConfig, output_dir: Path) -> Job:
    """Everything a job does before its Trainer: config.yaml, the seed, the data, the module,
    the trackers, the callbacks and the record, in the order that fixes the random stream."""
    quiet_third_party_notices()
    checkpoint = resume_checkpoint(cfg.get("resume"), output_dir)  # before anything is written
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    settings = RunSettings.from_config(cfg)
    configure_threads(settings.threads)
    adapt_strategy_for_sweeps(cfg.trainer)
    restore_start_method()
    pl.seed_everything(settings.seed, workers=True, verbose=False)

    with naming_the_key("data", settings.data):
        datamodule = instantiate(cfg.data)
    module = build_module(cfg, datamodule)
    static = {"seed": settings.seed, **describe_run(cfg, module)}
    trackers = build_trackers(cfg, static, resuming=checkpoint is not None)
    # first: it tells the record the epoch before any other callback logs into that epoch
    configured: list[tuple[str, Any]] = []
    for group in ("callbacks", "diagnostics"):
        for name, spec in (cfg.get(group) or {}).items():
            with naming_the_key(f"{group}.{name}", getattr(settings, group)[name]):
                configured.append((f"{group}.{name}", instantiate(spec)))
    check_monitors(module, configured)  # before training: Lightning would find out after an epoch
    callbacks: list[Any] = [EpochRowsCheckpoint(), *(callback for _, callback in configured)]
    if checkpoint is not None:
        static["resumed_from"] = str(checkpoint)
    rules = instantiate(cfg.verdict) if cfg.get("verdict") else None
    callbacks.append(RunRecord(output_dir / "summary.json", static, rules))
    callbacks.append(RunEnd(output_dir))  # after RunRecord: reads the final summary.json
    callbacks.append(RngStateCheckpoint())  # exact resume, with EpochRowsCheckpoint
    record = EpochCSVLogger(output_dir / "metrics.csv")
    return Job(datamodule, module, callbacks, record, trackers, checkpoint)


def fit(cfg: DictConfig, output_dir: Path) -> dict[str, Any] | None:
    job = assemble(cfg, output_dir)
    record, trackers = job.record, job.trackers
    trainer = build_trainer(cfg, logger=[record, *trackers], callbacks=job.callbacks)
    if trainer.fast_dev_run:  # Lightning swaps every logger for a dummy: the local record stays
        trainer.loggers = [record]
    try:
        # weights_only: a checkpoint is data, never code (a crafted pickle is refused)
        trainer.fit(
            job.module, datamodule=job.datamodule, ckpt_path=job.checkpoint, weights_only=True
        )
    except Diverged as diverged:  # RunRecord has recorded it: a result, not a crash
        log.warning(f"run diverged: {diverged}; the record ends with the last good epoch")
    finally:
        for tracker in trackers:
            finish_wandb(tracker)
    if not trainer.is_global_zero:
        return None
    return report(output_dir)


def report(output_dir: Path) -> dict[str, Any]:
    """The final summary.json, and its console table."""
    summary = json.loads((output_dir / "summary.json").read_text())
    files = {"metrics": output_dir / "metrics.csv", "summary": output_dir / "summary.json"}
    paths = {"run dir": str(output_dir)}
    paths.update({name: str(path) for name, path in files.items() if path.is_file()})
    log.info("run finished\n" + summary_table(summary, paths))
    return summary
