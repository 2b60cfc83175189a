"""Schemas of conf/data/*: the data modules' settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from regopt.config.rules import (
    FRACTION_CLOSED,
    FRACTION_OPEN_CLOSED,
    NON_NEGATIVE,
    POSITIVE_INT,
    SEED,
)
from regopt.config.schema import key
from regopt.config.schemas.base import Target, schema


@dataclass
class DataSchema(Target):
    """What every tensor data module takes (regopt.data.tensor_module)."""

    batch_size: int = key(POSITIVE_INT)  # per device
    eval_batch_size: int = key(POSITIVE_INT)
    seed: int = key(SEED)


@schema("data", "regopt.data.digits.DigitsDataModule")
@dataclass
class Digits(DataSchema):
    train_fraction: float = key(FRACTION_OPEN_CLOSED)
    train_size: int | None = key(POSITIVE_INT)
    label_noise: float = key(FRACTION_CLOSED)
    random_labels: bool = key()
    normalize: Literal["standard", "scale", "none"] = key()


@schema("data", "regopt.data.synthetic.SyntheticDataModule")
@dataclass
class Synthetic(DataSchema):
    n_train: int = key(POSITIVE_INT)
    n_val: int = key(POSITIVE_INT)
    input_dim: int = key(POSITIVE_INT)
    num_classes: int = key(POSITIVE_INT)
    class_sep: float = key(NON_NEGATIVE)
