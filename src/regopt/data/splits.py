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


def check_split_sizes(
    key: str, value: float, n_train: int, total: int, classes: int, of: str
) -> None:
    """Both parts of a stratified split need a sample of every class (scikit-learn refuses it
    otherwise, deep in its own traceback). `key=value` is the setting that gave `n_train`."""
    if n_train >= classes and total - n_train >= classes:
        return
    low, high = classes, total - classes
    allowed = (
        f"a whole number in [{low}, {high}], or >= {total} (all)"
        if key.endswith("size")
        else f"a fraction leaving >= {low} samples in each part (about {low / total:.4f} to "
        f"{high / total:.4f}), or 1"
    )
    raise ValueError(
        f"{key}={value!r} leaves {n_train} of {of} {total} samples for training and "
        f"{total - n_train} for validation; each part needs >= {classes} (one per class); "
        f"allowed: {allowed}"
    )


def check_subset_size(train_size: int | None, classes: int) -> None:
    """A stratified subset of `train_size` samples needs one sample of every class."""
    if train_size is not None and train_size < classes:
        raise ValueError(
            f"train_size={train_size} is too small for a stratified subset; allowed: a whole "
            f"number >= {classes} (one sample per class), or null"
        )
