"""Schemas of conf/callbacks/*, conf/diagnostics/* and conf/logger/*: named entries, each a
callback or a tracker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from regopt.config.rules import (
    INT_FROM_MINUS_ONE,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
)
from regopt.config.schema import key
from regopt.config.schemas.base import Target, schema

MODE = Literal["min", "max"]


@schema("callbacks", "pytorch_lightning.callbacks.ModelCheckpoint")
@dataclass
class ModelCheckpoint(Target):
    dirpath: str | None = key()
    filename: str | None = key()
    monitor: str | None = key()
    mode: MODE = key()
    save_top_k: int = key(INT_FROM_MINUS_ONE)
    save_last: bool | Literal["link"] | None = key()
    save_on_train_epoch_end: bool | None = key()
    save_weights_only: bool = key()
    every_n_epochs: int | None = key(NON_NEGATIVE_INT)
    auto_insert_metric_name: bool = key()
    verbose: bool = key()


@schema("callbacks", "pytorch_lightning.callbacks.EarlyStopping")
@dataclass
class EarlyStopping(Target):
    monitor: str = key()
    mode: MODE = key()
    patience: int = key(NON_NEGATIVE_INT)
    min_delta: float = key(NON_NEGATIVE)
    check_finite: bool = key()
    stopping_threshold: float | None = key()
    divergence_threshold: float | None = key()
    check_on_train_epoch_end: bool | None = key()
    verbose: bool = key()


@schema("callbacks", "regopt.callbacks.learning_rate.LearningRateLog")
@schema("diagnostics", "regopt.diagnostics.best.BestValidation")
@dataclass
class NoSettings(Target):
    pass


@schema("callbacks", "regopt.callbacks.progress.EpochProgress")
@dataclass
class EpochProgress(Target):
    every_n_epochs: int = key(POSITIVE_INT)


@schema("diagnostics", "regopt.diagnostics.train_eval.TrainEvalGap")
@dataclass
class TrainEvalGap(Target):
    max_samples: int = key(POSITIVE_INT)


@schema("diagnostics", "regopt.diagnostics.weights.WeightStats")
@dataclass
class WeightStats(Target):
    sparsity_tol: float = key(NON_NEGATIVE)
    per_layer: bool = key()


@schema("diagnostics", "regopt.diagnostics.gradients.GradientNorms")
@dataclass
class GradientNorms(Target):
    every_n_epochs: int = key(POSITIVE_INT)
    max_samples: int = key(POSITIVE_INT)


@schema("logger", "regopt.tracking.wandb_logger.make_wandb_logger")
@dataclass
class Wandb(Target):
    mode: Literal["offline", "online", "disabled"] = key()  # the default: $WANDB_MODE or offline
    project: str = key()
    entity: str | None = key()
    group: str | None = key()
    job_type: str | None = key()
    save_dir: str | None = key()
    init_timeout_s: float = key(POSITIVE)
