"""Gaussian class clusters: a classification set of any size, generated from a seed.

Torch only (no Lightning), so the plain-PyTorch benchmark loop can build the very same tensors.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_classes(
    n_samples: int, input_dim: int, num_classes: int, class_sep: float, seed: int
) -> tuple[Tensor, Tensor]:
    """Samples around `num_classes` random centres (unit noise; centres `class_sep` apart on
    average); balanced labels in a random order. Uses its own generator: global state untouched."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_classes, input_dim, generator=generator)
    centres *= class_sep / (2 * input_dim) ** 0.5
    labels = torch.arange(n_samples) % num_classes
    labels = labels[torch.randperm(n_samples, generator=generator)]
    inputs = centres[labels] + torch.randn(n_samples, input_dim, generator=generator)
    return inputs, labels
