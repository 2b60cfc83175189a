"""scikit-learn's 8x8 digits: 1,797 images that ship inside the wheel, so no download."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import Tensor

from regopt.config.signature import checked
from regopt.data.splits import check_split_sizes, corrupt_labels, random_labels, stratified_split
from regopt.data.tensor_module import TensorDataModule
from regopt.ranges import Fraction, Normalize, PositiveFraction, PositiveInt, Seed


@checked
class DigitsDataModule(TensorDataModule):
    """Training part of `train_fraction` (or `train_size` samples), stratified; the rest validates.

    Label noise corrupts training labels only, so validation still measures the clean task;
    `random_labels` replaces every training label by a uniformly drawn class. Normalisation
    statistics come from the training part alone.
    """

    task = "classification"
    input_dim = 64
    num_classes = 10
    num_samples = 1797  # tests/test_config_consistency.py checks both against load_digits
    input_shape = (1, 8, 8)  # stored flat; a CNN views each row as one 8x8 image

    def __init__(
        self,
        train_fraction: PositiveFraction = 0.2,
        train_size: PositiveInt | None = None,
        label_noise: Fraction = 0.0,
        random_labels: bool = False,
        normalize: Normalize = "standard",
        batch_size: PositiveInt = 32,
        eval_batch_size: PositiveInt = 2048,
        seed: Seed = 0,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        if random_labels and label_noise:
            raise ValueError(
                f"label_noise={label_noise!r} with random_labels=true: random labels replace "
                "every training label; allowed: label_noise=0 when random_labels=true"
            )
        key, value = (
            ("train_size", train_size) if train_size else ("train_fraction", train_fraction)
        )
        n_train = train_size or int(train_fraction * self.num_samples)
        if n_train < self.num_samples:  # all for training: validated on the training set
            check_split_sizes(
                key, value, n_train, self.num_samples, self.num_classes, "the digits'"
            )
        self.train_fraction, self.train_size = train_fraction, train_size
        self.label_noise, self.normalize = label_noise, normalize
        self.random_labels = bool(random_labels)
        self.noisy_indices: np.ndarray | None = None

    def load(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        images, labels = load_digits(return_X_y=True)
        train_idx, val_idx = stratified_split(
            labels, self.train_size or float(self.train_fraction), self.seed
        )
        if len(val_idx) == 0:
            setting = (
                f"train_size={self.train_size}"
                if self.train_size
                else f"train_fraction={self.train_fraction}"
            )
            warnings.warn(
                f"{setting} keeps every sample for training: no held-out data, "
                "validating on the training set",
                stacklevel=2,
            )
            val_idx = train_idx
        x_train, x_val = images[train_idx], images[val_idx]
        y_train, self.noisy_indices = corrupt_labels(
            labels[train_idx], self.label_noise, self.num_classes, self.seed
        )
        if self.random_labels:
            y_train = random_labels(len(train_idx), self.num_classes, self.seed)
            self.noisy_indices = np.flatnonzero(y_train != labels[train_idx])
        x_train, x_val = _normalise(x_train, x_val, self.normalize)
        return (
            torch.as_tensor(x_train, dtype=torch.float32),
            torch.as_tensor(y_train, dtype=torch.long),
            torch.as_tensor(x_val, dtype=torch.float32),
            torch.as_tensor(labels[val_idx], dtype=torch.long),
        )


def _normalise(x_train: np.ndarray, x_val: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    if how == "scale":
        return x_train / 16.0, x_val / 16.0
    if how == "standard":
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # border pixels are constant in some splits
        return (x_train - mean) / std, (x_val - mean) / std
    if how == "none":
        return x_train, x_val
    raise ValueError(f"normalize={how!r}; allowed: standard, scale, none")
