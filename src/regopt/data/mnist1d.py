"""MNIST-1D (Greydanus, 2020): ten 1D templates, randomly padded, translated, scaled, sheared and
noised into sequences of 40 points. Small (4,000 training samples by default) yet hard enough that
architecture matters: a 1D CNN beats an MLP clearly, which the 8x8 digits cannot show.

Generated locally with the `mnist1d` package's own `make_dataset` (never its `get_dataset`, which
downloads a pickle into the working directory). The generator reseeds the global `random` and numpy
states, so it runs inside `preserved_global_rng`; the arrays are cached in `data_dir`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.data.cache import cache_path, cached_arrays, preserved_global_rng
from regopt.data.splits import check_subset_size, corrupt_labels, stratified_split
from regopt.data.tensor_module import TensorDataModule
from regopt.ranges import Fraction, NonNegative, OpenFraction, PositiveInt, Seed


def generate_mnist1d(settings: dict[str, Any]) -> dict[str, np.ndarray]:
    """The package's generator with `settings` over its defaults; global random state kept."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args(as_dict=True)
    unknown = set(settings) - set(args)
    if unknown:
        raise ValueError(f"unknown MNIST-1D settings: {', '.join(sorted(unknown))}")
    args.update(settings)
    args.pop("url", None)  # never used: nothing is downloaded
    with preserved_global_rng():
        data = make_dataset(_ObjectView(args))
    return {key: np.asarray(data[key]) for key in ("x", "y", "x_test", "y_test")}


class _ObjectView:
    """Attribute access to a dict, as the package's generator expects."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = dict(values)


@checked
class MNIST1DDataModule(TensorDataModule):
    """The package's own train/test split: its test part validates. Samples are (1, length)
    sequences. `train_size` keeps a stratified subset of the training part; `label_noise`
    corrupts training labels only (as for the digits). `shuffle=false` feeds the training set in
    its stored order every epoch, as the MNIST-1D paper's training loop does."""

    task = "classification"
    num_classes = 10

    def __init__(
        self,
        data_dir: str = "data",
        num_samples: PositiveInt = 5000,
        train_split: OpenFraction = 0.8,
        final_seq_length: PositiveInt = 40,
        corr_noise_scale: NonNegative = 0.25,
        iid_noise_scale: NonNegative = 2e-2,
        scale_coeff: NonNegative = 0.4,
        shear_scale: NonNegative = 0.75,
        max_translation: PositiveInt = 48,
        shuffle_seq: bool = False,
        data_seed: Seed = 42,
        train_size: PositiveInt | None = None,
        label_noise: Fraction = 0.0,
        shuffle: bool = True,
        batch_size: PositiveInt = 100,
        eval_batch_size: PositiveInt = 2048,
        seed: Seed = 0,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        check_subset_size(train_size, self.num_classes)
        total = self.num_classes * (num_samples // self.num_classes)  # the generator's per class
        n_train = int(total * train_split)
        if n_train < self.num_classes or total - n_train < 1:
            raise ValueError(
                f"num_samples={num_samples} with train_split={train_split} gives {n_train} "
                f"training and {total - n_train} validation samples; allowed: >= "
                f"{self.num_classes} training samples and >= 1 validation sample"
            )
        self.data_dir = Path(data_dir)
        self.settings = {
            "num_samples": int(num_samples),
            "train_split": float(train_split),
            "final_seq_length": int(final_seq_length),
            "corr_noise_scale": float(corr_noise_scale),
            "iid_noise_scale": float(iid_noise_scale),
            "scale_coeff": float(scale_coeff),
            "shear_scale": float(shear_scale),
            "max_translation": int(max_translation),
            "shuffle_seq": bool(shuffle_seq),
            "seed": int(data_seed),
        }
        self.input_dim = int(final_seq_length)
        self.input_shape = (1, int(final_seq_length))
        self.train_size, self.label_noise = train_size, float(label_noise)
        self.shuffle = bool(shuffle)
        self.noisy_indices: np.ndarray | None = None

    @property
    def cache_file(self) -> Path:
        return cache_path(self.data_dir, "mnist1d", self.settings)

    def load(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        arrays = cached_arrays(self.cache_file, lambda: generate_mnist1d(self.settings))
        x_train, y_train = arrays["x"], arrays["y"].astype(np.int64)
        if self.train_size is not None and self.train_size < len(y_train):
            keep, _ = stratified_split(y_train, int(self.train_size), self.seed)
            x_train, y_train = x_train[keep], y_train[keep]
        y_train, self.noisy_indices = corrupt_labels(
            y_train, self.label_noise, self.num_classes, self.seed
        )
        length = self.input_dim
        return (
            torch.as_tensor(x_train, dtype=torch.float32).reshape(-1, 1, length),
            torch.as_tensor(y_train, dtype=torch.long),
            torch.as_tensor(arrays["x_test"], dtype=torch.float32).reshape(-1, 1, length),
            torch.as_tensor(arrays["y_test"].astype(np.int64), dtype=torch.long),
        )
