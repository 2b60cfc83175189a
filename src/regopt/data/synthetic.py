"""Gaussian class clusters of any size: for benchmarks and for studying data-set size."""

from __future__ import annotations

from torch import Tensor

from regopt.config.signature import checked
from regopt.data.gaussian import gaussian_classes
from regopt.data.tensor_module import TensorDataModule
from regopt.ranges import ClassCount, NonNegative, PositiveInt, Seed


@checked
class SyntheticDataModule(TensorDataModule):
    """`n_train` + `n_val` samples around `num_classes` random centres in `input_dim` dimensions."""

    task = "classification"

    def __init__(
        self,
        n_train: PositiveInt = 10_000,
        n_val: PositiveInt = 2_000,
        input_dim: PositiveInt = 64,
        num_classes: ClassCount = 10,
        class_sep: NonNegative = 4.0,
        batch_size: PositiveInt = 128,
        eval_batch_size: PositiveInt = 2048,
        seed: Seed = 0,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.n_train, self.n_val, self.class_sep = n_train, n_val, class_sep
        self.input_dim, self.num_classes = input_dim, num_classes

    def load(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        x, y = gaussian_classes(
            self.n_train + self.n_val, self.input_dim, self.num_classes, self.class_sep, self.seed
        )
        n = self.n_train
        return x[:n], y[:n], x[n:], y[n:]
