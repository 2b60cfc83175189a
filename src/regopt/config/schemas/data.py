"""Schemas of conf/data/*: the data modules' settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from regopt.config.rules import (
    CLASS_COUNT,
    FRACTION_CLOSED,
    FRACTION_OPEN_CLOSED,
    NON_NEGATIVE,
    POSITIVE_INT,
    SEED,
    Rule,
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
    num_classes: int = key(CLASS_COUNT)
    class_sep: float = key(NON_NEGATIVE)


OPEN_FRACTION = Rule(lambda v: 0 < v < 1, "a number in (0, 1)")


@schema("data", "regopt.data.mnist1d.MNIST1DDataModule")
@dataclass
class MNIST1D(DataSchema):
    data_dir: str = key()
    num_samples: int = key(POSITIVE_INT)
    train_split: float = key(OPEN_FRACTION)
    final_seq_length: int = key(POSITIVE_INT)
    corr_noise_scale: float = key(NON_NEGATIVE)
    iid_noise_scale: float = key(NON_NEGATIVE)
    scale_coeff: float = key(NON_NEGATIVE)
    shear_scale: float = key(NON_NEGATIVE)
    max_translation: int = key(POSITIVE_INT)
    shuffle_seq: bool = key()
    data_seed: int = key(SEED)
    train_size: int | None = key(POSITIVE_INT)
    label_noise: float = key(FRACTION_CLOSED)


@schema("data", "regopt.data.teacher.TeacherDataModule")
@dataclass
class Teacher(DataSchema):
    n_train: int = key(POSITIVE_INT)
    n_val: int = key(POSITIVE_INT)
    input_dim: int = key(POSITIVE_INT)
    teacher_width: int = key(POSITIVE_INT)
    output_dim: int = key(POSITIVE_INT)
    noise_std: float = key(NON_NEGATIVE)


@schema("data", "regopt.data.vision.OpenMLImageDataModule")
@dataclass
class OpenMLImages(DataSchema):
    name: Literal["mnist", "fashion_mnist", "cifar10"] = key()
    data_dir: str = key()
    train_size: int | None = key(POSITIVE_INT)
    val_size: int | None = key(POSITIVE_INT)
    test_rows: int = key(POSITIVE_INT)
    normalize: Literal["standard", "scale", "none"] = key()
    label_noise: float = key(FRACTION_CLOSED)
    parser: Literal["auto", "pandas", "liac-arff"] = key()
