"""Wire a job's configured objects (regopt.build) together, fit, and keep its record. No
training logic lives here."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from regopt.build import build_module, build_trackers, build_trainer, describe_run
from regopt.callbacks.averaging import averaging_last
from regopt.callbacks.rng_state import RngStateCheckpoint
from regopt.config.construct import naming_the_key
from regopt.config.errors import ConfigError
from regopt.divergence import Diverged
from regopt.module import RegOptModule
from regopt.monitor_check import check_monitors
from regopt.quiet import quiet_third_party_notices
from regopt.record.atomic import write_text_atomic
from regopt.record.checkpoint_choice import (
    UnreadableCheckpoint,
    choose_checkpoint,
    newest_hpc_checkpoint,
)
from regopt.record.console import summary_table
from regopt.record.epoch_csv import EpochCSVLogger, EpochRowsCheckpoint
from regopt.record.failure import mark_failed
from regopt.record.run_dir import status_of
from regopt.record.run_end import RunEnd
from regopt.record.summary import RunRecord
from regopt.scale import (
    adapt_strategy_for_sweeps,
    configure_threads,
    is_multirun,
    restore_start_method,
    slurm_tasks,
)
from regopt.settings import RunSettings
from regopt.stack_room import with_room
from regopt.tracking.wandb_logger import finish_wandb

log = logging.getLogger("regopt")


def resume_checkpoint(setting: str | None, output_dir: Path) -> Path | None:
    """`resume=auto` (last.ckpt) or `resume=newest_readable`: the checkpoint to continue, if
    there is one. It is checked to load before the run dir is touched (UnreadableCheckpoint).

    Under SLURM, Lightning's auto-requeue also saves `hpc_ckpt_<n>.ckpt` in the run dir when the
    job is signalled, mid-epoch. last.ckpt (an epoch's end) is preferred: continuing from it
    gives the uninterrupted run's numbers exactly, where a mid-epoch checkpoint restarts its
    epoch's data and running means. With no last.ckpt (stopped in the first epoch) the newest hpc
    checkpoint is continued, as Lightning would itself, and the record says so."""
    if setting in (None, "none"):
        return None
    checkpoint = choose_checkpoint(setting, output_dir / "checkpoints")
    if checkpoint is None and slurm_tasks():
        checkpoint = newest_hpc_checkpoint(output_dir)
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
    if summary["status"] not in ("completed", "pruned"):
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
    configured, averaging = averaging_last(configured, settings)  # one set of weights
    if averaging is not None:
        static["weight_averaging"] = averaging
    pruning = None  # a trial of an Optuna study: it reports each epoch (the averaged weights'
    if cfg.get("hparams_search"):  # score under EMA) and may stop the run
        with naming_the_key("hparams_search", settings.hparams_search):
            pruning = instantiate(cfg.hparams_search)
        configured.append(("hparams_search", pruning))
    check_monitors(module, configured)  # before training: Lightning would find out after an epoch
    callbacks: list[Any] = [EpochRowsCheckpoint(), *(callback for _, callback in configured)]
    if checkpoint is not None:
        static["resumed_from"] = str(checkpoint)
    rules = instantiate(cfg.verdict) if cfg.get("verdict") else None
    callbacks.append(RunRecord(output_dir / "summary.json", static, rules, pruning))
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
        with_room(  # regopt.stack_room: no frame-stack chunk mapped and freed at every step
            trainer.fit,
            job.module,
            datamodule=job.datamodule,
            ckpt_path=job.checkpoint,
            weights_only=True,
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
