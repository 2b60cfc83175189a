"""Schemas of conf/trainer/* (Lightning's Trainer arguments regopt uses or allows) and
conf/scheduler/* (learning-rate schedulers, stepped once per epoch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from regopt.config.rules import (
    FRACTION_CLOSED,
    INT_FROM_MINUS_ONE,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
)
from regopt.config.schema import key
from regopt.config.schemas.base import Target, schema

ACCELERATOR = Literal["cpu", "gpu", "cuda", "mps", "tpu", "auto"]
PRECISION = Literal["64-true", "64", "32-true", "32", "16-mixed", "bf16-mixed", "16-true",
                    "bf16-true", "transformer-engine", 64, 32, 16]  # fmt: skip


@schema("trainer", "pytorch_lightning.Trainer")
@dataclass
class Trainer(Target):
    default_root_dir: str | None = key()
    max_epochs: int = key(POSITIVE_INT)
    min_epochs: int | None = key(NON_NEGATIVE_INT)
    max_steps: int = key(INT_FROM_MINUS_ONE)
    accelerator: ACCELERATOR = key()
    devices: int | str | list[int] = key()  # 2, -1, "auto", "0,1", [0, 1]: config/consistency.py
    num_nodes: int = key(POSITIVE_INT)
    strategy: str = key()
    precision: PRECISION = key()
    deterministic: bool | Literal["warn"] | None = key()
    benchmark: bool | None = key()
    gradient_clip_val: float | None = key(NON_NEGATIVE)
    gradient_clip_algorithm: Literal["norm", "value"] = key()
    accumulate_grad_batches: int = key(POSITIVE_INT)
    check_val_every_n_epoch: int | None = key(POSITIVE_INT)
    num_sanity_val_steps: int = key(INT_FROM_MINUS_ONE)
    log_every_n_steps: int = key(POSITIVE_INT)
    limit_train_batches: int | float | None = key(POSITIVE)
    limit_val_batches: int | float | None = key(NON_NEGATIVE)
    val_check_interval: int | float | None = key(POSITIVE)
    enable_progress_bar: bool | None = key()  # null: auto (regopt.scale.progress_bar)
    enable_model_summary: bool = key()
    enable_checkpointing: bool = key()
    detect_anomaly: bool = key()
    fast_dev_run: bool | int = key(NON_NEGATIVE_INT)
    overfit_batches: int | float = key(NON_NEGATIVE)
    profiler: str | None = key()  # simple, advanced, pytorch, ...


@schema("scheduler", "torch.optim.lr_scheduler.CosineAnnealingLR")
@dataclass
class Cosine(Target):
    T_max: int = key(POSITIVE_INT)
    eta_min: float = key(NON_NEGATIVE)


@schema("scheduler", "torch.optim.lr_scheduler.StepLR")
@dataclass
class Step(Target):
    step_size: int = key(POSITIVE_INT)
    gamma: float = key(POSITIVE)


@schema("scheduler", "regopt.optim.schedulers.warmup_cosine")
@dataclass
class WarmupCosine(Target):
    warmup_epochs: int = key(NON_NEGATIVE_INT)
    max_epochs: int = key(POSITIVE_INT)
    min_lr_ratio: float = key(FRACTION_CLOSED)
