"""MNIST, Fashion-MNIST and CIFAR-10 from OpenML, through scikit-learn's `fetch_openml`.

scikit-learn is maintained and already a dependency: `fetch_openml` does the real download (with
OpenML's MD5 check) and the ARFF parsing, and keeps the raw files under `<data_dir>/openml`. The
parsed arrays are then cached as `.npz` in `data_dir`, so only the first run needs the internet
and the parser. (torchvision is not used: its PyPI wheel does not import beside the CPU torch.)

OpenML stores one image per row: MNIST's `pixel1..pixel784` row-major; CIFAR-10's `a0..a3071` as
1,024 red, then 1,024 green, then 1,024 blue values, each row-major: reshaped here to
(channels, height, width). The last `test_rows` rows are the official test images (10,000 for
each set): they validate.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.data.cache import cache_path, cached_arrays
from regopt.data.splits import check_subset_size, corrupt_labels, fixed_subset, stratified_split
from regopt.data.tensor_module import TensorDataModule
from regopt.ranges import Fraction, Normalize, PositiveInt, Seed

# name -> (OpenML data id, image shape)
DATASETS: dict[str, tuple[int, tuple[int, int, int]]] = {
    "mnist": (554, (1, 28, 28)),  # mnist_784
    "fashion_mnist": (40996, (1, 28, 28)),  # Fashion-MNIST
    "cifar10": (40927, (3, 32, 32)),  # CIFAR_10
}


def fetch_images(name: str, data_dir: Path, parser: str = "auto") -> dict[str, np.ndarray]:
    """All images (uint8, N x C x H x W) and labels (int64) of one set, via OpenML."""
    from sklearn.datasets import fetch_openml

    data_id, shape = DATASETS[name]
    if parser == "auto":  # pandas parses much faster; liac-arff needs nothing more
        parser = "pandas" if importlib.util.find_spec("pandas") else "liac-arff"
    with warnings.catch_warnings():  # its retries: the failure itself is reported once
        warnings.filterwarnings("ignore", message="A network error occurred")
        x, y = fetch_openml(
            data_id=data_id,
            data_home=str(data_dir),
            as_frame=False,
            parser=parser,
            return_X_y=True,
        )
    images = np.asarray(x, dtype=np.float64).reshape(len(x), *shape)
    return {"x": images.round().astype(np.uint8), "y": np.asarray(y).astype(np.int64)}


@checked
class OpenMLImageDataModule(TensorDataModule):
    """`train_size` training images (a stratified subset of the training rows; null: all) and
    `val_size` test images (a fixed subset; null: all). CPU training on the full sets is slow."""

    task = "classification"
    num_classes = 10

    def __init__(
        self,
        name: Literal["mnist", "fashion_mnist", "cifar10"],  # the keys of DATASETS
        data_dir: str = "data",
        train_size: PositiveInt | None = 10_000,
        val_size: PositiveInt | None = 2_000,
        test_rows: PositiveInt = 10_000,
        normalize: Normalize = "standard",
        label_noise: Fraction = 0.0,
        parser: Literal["auto", "pandas", "liac-arff"] = "auto",
        batch_size: PositiveInt = 128,
        eval_batch_size: PositiveInt = 2048,
        seed: Seed = 0,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        check_subset_size(train_size, self.num_classes)
        self.name, self.data_dir, self.parser = name, Path(data_dir).expanduser(), parser
        self.train_size, self.val_size, self.test_rows = train_size, val_size, int(test_rows)
        self.normalize, self.label_noise = normalize, float(label_noise)
        self.input_shape = DATASETS[name][1]
        self.input_dim = int(np.prod(self.input_shape))

    @property
    def cache_file(self) -> Path:
        return cache_path(self.data_dir, self.name, {"openml_id": DATASETS[self.name][0]})

    def load(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        try:
            arrays = cached_arrays(
                self.cache_file, lambda: fetch_images(self.name, self.data_dir, self.parser)
            )
        except OSError as error:  # urllib's URLError: no internet, a proxy, a refused connection
            raise ValueError(self._offline_advice(error)) from error
        x, y = arrays["x"], arrays["y"]
        if not 0 < self.test_rows < len(y):
            raise ValueError(f"test_rows={self.test_rows}: the set has {len(y)} rows")
        split = len(y) - self.test_rows
        x_train, y_train, x_val, y_val = x[:split], y[:split], x[split:], y[split:]
        if self.train_size is not None and self.train_size < len(y_train):
            keep, _ = stratified_split(y_train, int(self.train_size), self.seed)
            x_train, y_train = x_train[keep], y_train[keep]
        if self.val_size is not None:
            keep = fixed_subset(len(y_val), int(self.val_size), self.seed)
            x_val, y_val = x_val[keep], y_val[keep]
        y_train, _ = corrupt_labels(y_train, self.label_noise, self.num_classes, self.seed)
        train, val = _normalise(x_train, x_val, self.normalize)
        return (
            train,
            torch.as_tensor(y_train, dtype=torch.long),
            val,
            torch.as_tensor(y_val, dtype=torch.long),
        )

    def _offline_advice(self, error: OSError) -> str:
        reason = getattr(error, "reason", None) or error
        file = self.cache_file
        return (
            f"{self.name} is not cached at {file} and downloading it from OpenML failed "
            f"({reason}): it needs the internet once. On a machine with internet, run "
            f"`regopt-train data={self.name} trainer.max_epochs=1 paths.data_dir=<dir>`, copy "
            f"<dir>/{file.name} into a folder here and set paths.data_dir=<that folder>"
        )


def _normalise(x_train: np.ndarray, x_val: np.ndarray, how: str) -> tuple[Tensor, Tensor]:
    """Pixels to [0, 1] (`scale`), then per-channel standardisation from the training images."""
    train = torch.as_tensor(x_train, dtype=torch.float32)
    val = torch.as_tensor(x_val, dtype=torch.float32)
    if how == "none":
        return train, val
    train, val = train / 255.0, val / 255.0
    if how == "standard":
        mean = train.mean(dim=(0, 2, 3), keepdim=True)
        std = train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
        train, val = (train - mean) / std, (val - mean) / std
    return train, val
