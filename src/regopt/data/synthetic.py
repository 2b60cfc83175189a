"""Gaussian class clusters of any size: for benchmarks and for studying data-set size."""

from __future__ import annotations

from torch import Tensor

from regopt.data.gaussian import gaussian_classes
from regopt.data.tensor_module import TensorDataModule


class SyntheticDataModule(TensorDataModule):
    """`n_train` + `n_val` samples around `num_classes` random centres in `input_dim` dimensions."""

    task = "classification"

    def __init__(
        self,
        n_train: int = 10_000,
        n_val: int = 2_000,
        input_dim: int = 64,
        num_classes: int = 10,
        class_sep: float = 4.0,
        batch_size: int = 128,
        eval_batch_size: int = 2048,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.n_train, self.n_val, self.class_sep = n_train, n_val, class_sep
        self.input_dim, self.num_classes = input_dim, num_classes

    def load(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        x, y = gaussian_classes(self.n_train + self.n_val, self.input_dim, self.num_classes,
                                self.class_sep, self.seed)  # fmt: skip
        n = self.n_train
        return x[:n], y[:n], x[n:], y[n:]
