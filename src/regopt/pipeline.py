"""Wire the configured objects together and fit. No training logic lives here."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from regopt.module import RegOptModule
from regopt.objective import Objective
from regopt.optim.factory import OptimizerFactory
from regopt.record.atomic import write_text_atomic
from regopt.record.console import summary_table
from regopt.record.epoch_csv import EpochCSVLogger
from regopt.record.run_end import RunEnd
from regopt.record.run_info import git_state, hydra_runtime, package_versions
from regopt.record.summary import RunRecord
from regopt.tracking.naming import run_name, run_tags
from regopt.tracking.wandb_logger import finish_wandb

log = logging.getLogger("regopt")


def build_module(cfg: DictConfig, datamodule: pl.LightningDataModule) -> RegOptModule:
    model = instantiate(
        cfg.model, input_dim=datamodule.input_dim, num_classes=datamodule.num_classes
    )
    regularizers = {name: instantiate(spec) for name, spec in (cfg.regularizer or {}).items()}
    objective = Objective(nn.CrossEntropyLoss(), regularizers)
    scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
    optimizer = OptimizerFactory.from_config(cfg.optimizer)
    return RegOptModule(model, objective, optimizer, scheduler, datamodule.num_classes)


def describe_run(cfg: DictConfig, module: RegOptModule) -> dict[str, Any]:
    choices, overrides = hydra_runtime()
    factory = module.optimizer_factory
    name = choices.get("optimizer") or factory.algorithm.__name__.lower()
    optimizer = {"name": name, **factory.describe()}
    return {
        "name": cfg.name,
        "regularizers": [
            reg.describe() | {"name": n} for n, reg in module.objective.regularizers.items()
        ],
        "optimizer": optimizer,
        "overrides": overrides,
        "git": git_state(),
        "versions": package_versions(),
    }


def build_trackers(cfg: DictConfig, static: dict[str, Any]) -> list[Any]:
    tags, name = run_tags(static), run_name(static["overrides"], cfg.name)
    config = OmegaConf.to_container(cfg, resolve=True)
    trackers = [
        instantiate(spec, _partial_=True)(name=name, tags=tags, run_config=config)
        for spec in (cfg.logger or {}).values()
    ]
    return [t for t in trackers if t is not None]


def run(cfg: DictConfig) -> float | None:
    """Fit one configured job; returns the best val/loss (what a sweeper minimises)."""
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    pl.seed_everything(cfg.seed, workers=True, verbose=False)

    datamodule = instantiate(cfg.data)
    module = build_module(cfg, datamodule)
    static = {"seed": cfg.seed, **describe_run(cfg, module)}
    trackers = build_trackers(cfg, static)
    callbacks = [instantiate(spec) for spec in (cfg.callbacks or {}).values()]
    callbacks += [instantiate(spec) for spec in (cfg.get("diagnostics") or {}).values()]
    rules = instantiate(cfg.verdict) if cfg.get("verdict") else None
    callbacks.append(RunRecord(output_dir / "summary.json", static, rules))
    callbacks.append(RunEnd(output_dir))  # after RunRecord: reads the final summary.json
    record = EpochCSVLogger(output_dir / "metrics.csv")
    trainer: pl.Trainer = instantiate(cfg.trainer, logger=[record, *trackers], callbacks=callbacks)
    try:
        trainer.fit(module, datamodule=datamodule)
    finally:
        for tracker in trackers:
            finish_wandb(tracker)
    if not trainer.is_global_zero:
        return None
    summary = json.loads((output_dir / "summary.json").read_text())
    paths = {
        "run dir": str(output_dir),
        "metrics": str(output_dir / "metrics.csv"),
        "summary": str(output_dir / "summary.json"),
    }
    log.info("run finished\n" + summary_table(summary, paths))
    return summary["best"]["val/loss"]
