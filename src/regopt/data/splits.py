"""Splitting and corrupting labelled data, reproducibly from a seed."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def stratified_split(
    labels: np.ndarray, train_size: float | int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a training part and a validation part with the same class proportions.

    `train_size` is a fraction (a float) or a number of samples (an int), as in scikit-learn.
    """
    indices = np.arange(len(labels))
    whole = train_size >= len(labels) if isinstance(train_size, int) else train_size >= 1.0
    if whole:
        return indices, indices[:0]
    train_idx, val_idx = train_test_split(
        indices, train_size=train_size, stratify=labels, random_state=seed
    )
    return np.sort(train_idx), np.sort(val_idx)


def corrupt_labels(
    labels: np.ndarray, fraction: float, num_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Replace exactly round(fraction * n) labels by a different class drawn at random.

    Returns the new labels and the indices that were changed. Uses its own generator, so the
    global random state is untouched.
    """
    rng = np.random.default_rng(seed)
    count = int(round(fraction * len(labels)))
    changed = np.sort(rng.choice(len(labels), size=count, replace=False))
    shift = rng.integers(1, num_classes, size=count)  # never 0: the new class always differs
    noisy = labels.copy()
    noisy[changed] = (labels[changed] + shift) % num_classes
    return noisy, changed


def random_labels(count: int, num_classes: int, seed: int) -> np.ndarray:
    """`count` labels drawn uniformly from all classes (about 1/num_classes keep their class).

    Zhang et al. (2017): a network that fits these has memorised; nothing can generalise.
    """
    return np.random.default_rng([seed, 1]).integers(0, num_classes, size=count)


def fixed_subset(size: int, max_samples: int, seed: int) -> np.ndarray:
    """Sorted indices of at most `max_samples` of `size` samples, the same for a given seed."""
    if max_samples >= size:
        return np.arange(size)
    rng = np.random.default_rng([seed, 2])
    return np.sort(rng.choice(size, size=max_samples, replace=False))
