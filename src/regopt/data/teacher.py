"""A synthetic regression task: a random teacher network plus Gaussian noise.

The student sees x ~ N(0, I) and y = teacher(x) + noise_std * eps. The teacher is a random
one-hidden-layer tanh network whose output is scaled to unit variance, so `noise_std` is the
noise-to-signal ratio and the best possible test MSE is noise_std^2. Small `n_train` with noise is
the classic setting for double descent in the student's width (experiment=double_descent).
"""

from __future__ import annotations

import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.data.tensor_module import TensorDataModule
from regopt.ranges import NonNegative, PositiveInt, Seed


def teacher_data(
    n_samples: int, input_dim: int, teacher_width: int, output_dim: int, noise_std: float, seed: int
) -> tuple[Tensor, Tensor, Tensor]:
    """(inputs, noisy targets, clean targets); its own generator, so global state is untouched."""
    generator = torch.Generator().manual_seed(seed)
    w1 = torch.randn(input_dim, teacher_width, generator=generator) / input_dim**0.5
    w2 = torch.randn(teacher_width, output_dim, generator=generator) / teacher_width**0.5
    inputs = torch.randn(n_samples, input_dim, generator=generator)
    clean = torch.tanh(inputs @ w1) @ w2
    clean = clean / clean.std(dim=0, keepdim=True).clamp_min(1e-12)  # unit signal variance
    noisy = clean + noise_std * torch.randn(n_samples, output_dim, generator=generator)
    return inputs, noisy, clean


@checked
class TeacherDataModule(TensorDataModule):
    """`n_train` + `n_val` samples of a random teacher; noise on both parts, so validation MSE
    cannot fall below noise_std^2. `num_classes` is the number of outputs (what the model emits)."""

    task = "regression"

    def __init__(
        self,
        n_train: PositiveInt = 200,
        n_val: PositiveInt = 1000,
        input_dim: PositiveInt = 16,
        teacher_width: PositiveInt = 32,
        output_dim: PositiveInt = 1,
        noise_std: NonNegative = 0.5,
        batch_size: PositiveInt = 200,
        eval_batch_size: PositiveInt = 2048,
        seed: Seed = 0,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.n_train, self.n_val = n_train, n_val
        self.input_dim, self.teacher_width = input_dim, teacher_width
        self.num_classes = output_dim
        self.input_shape = (input_dim,)
        self.noise_std = float(noise_std)

    def load(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        x, y, _ = teacher_data(
            self.n_train + self.n_val,
            self.input_dim,
            self.teacher_width,
            self.num_classes,
            self.noise_std,
            self.seed,
        )
        n = self.n_train
        return x[:n], y[:n], x[n:], y[n:]
