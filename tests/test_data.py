"""Digits splits, label noise and the tensor loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from regopt.data.digits import DigitsDataModule
from regopt.data.splits import corrupt_labels, stratified_split
from regopt.data.tensor_loader import TensorLoader


def test_split_is_stratified_and_disjoint() -> None:
    labels = np.repeat(np.arange(10), 50)
    train, val = stratified_split(labels, 0.2, seed=3)
    assert len(train) == 100 and len(val) == 400
    assert not set(train) & set(val)
    assert np.bincount(labels[train]).tolist() == [10] * 10


def test_label_noise_changes_exactly_the_fraction_and_only_to_other_classes() -> None:
    labels = np.repeat(np.arange(10), 40)
    noisy, changed = corrupt_labels(labels, 0.25, 10, seed=1)
    assert len(changed) == 100
    assert (noisy[changed] != labels[changed]).all()
    untouched = np.setdiff1d(np.arange(len(labels)), changed)
    assert (noisy[untouched] == labels[untouched]).all()
    again, _ = corrupt_labels(labels, 0.25, 10, seed=1)
    assert (again == noisy).all()


def test_noise_leaves_global_random_state_alone() -> None:
    np.random.seed(0)
    expected = np.random.rand()
    np.random.seed(0)
    corrupt_labels(np.arange(100) % 10, 0.5, 10, seed=9)
    assert np.random.rand() == expected


def test_digits_module_corrupts_training_labels_only() -> None:
    clean = DigitsDataModule(train_fraction=0.2, label_noise=0.0, seed=0)
    noisy = DigitsDataModule(train_fraction=0.2, label_noise=0.2, seed=0)
    clean.setup(), noisy.setup()
    assert len(clean.x_train) == 359 and len(clean.x_val) == 1438
    changed = (clean.y_train != noisy.y_train).float().mean().item()
    assert changed == pytest.approx(0.2, abs=1 / 359)
    assert torch.equal(clean.y_val, noisy.y_val)
    # standardised with training statistics
    assert clean.x_train.mean().abs() < 1e-5


def test_train_size_overrides_fraction() -> None:
    module = DigitsDataModule(train_size=100, seed=0)
    module.setup()
    assert len(module.x_train) == 100


def test_loader_covers_every_sample_once_per_epoch_in_a_seeded_order() -> None:
    x, y = torch.arange(10).float()[:, None], torch.arange(10)
    loader = TensorLoader(x, y, batch_size=4, shuffle=True, seed=1)
    assert len(loader) == 3
    epoch0 = torch.cat([b for _, b in loader])
    assert sorted(epoch0.tolist()) == list(range(10))
    assert torch.equal(epoch0, torch.cat([b for _, b in loader]))  # same epoch, same order
    loader.sampler.set_epoch(1)
    epoch1 = torch.cat([b for _, b in loader])
    assert not torch.equal(epoch0, epoch1)
    assert sorted(epoch1.tolist()) == list(range(10))


def test_loader_shards_across_ranks_with_equal_lengths() -> None:
    x, y = torch.zeros(10, 1), torch.arange(10)
    shards = [
        TensorLoader(x, y, batch_size=2, shuffle=True, seed=0, rank=r, world_size=3)
        for r in range(3)
    ]
    seen = [torch.cat([b for _, b in shard]) for shard in shards]
    assert [len(s) for s in seen] == [4, 4, 4]
    assert set(torch.cat(seen).tolist()) == set(range(10))
    assert all(len(shard) == 2 for shard in shards)


def test_random_labels_replace_every_training_label_reproducibly() -> None:
    clean = DigitsDataModule(seed=4)
    clean.setup()
    shuffled = DigitsDataModule(seed=4, random_labels=True)
    shuffled.setup()
    again = DigitsDataModule(seed=4, random_labels=True)
    again.setup()
    assert torch.equal(shuffled.y_train, again.y_train)
    assert torch.equal(shuffled.x_train, clean.x_train)
    assert torch.equal(shuffled.y_val, clean.y_val)  # validation labels stay clean
    kept = (shuffled.y_train == clean.y_train).float().mean().item()
    assert 0.04 < kept < 0.18  # about 1 in 10 by chance, not 0 as with label_noise=1
    assert set(shuffled.y_train.tolist()) == set(range(10))
    assert len(shuffled.noisy_indices) == int((shuffled.y_train != clean.y_train).sum())


def test_train_eval_subset_is_fixed_unshuffled_and_uses_the_training_labels() -> None:
    data = DigitsDataModule(seed=2, label_noise=0.3, eval_batch_size=100)
    data.setup()
    whole = list(data.train_eval_dataloader(10_000))
    x = torch.cat([b[0] for b in whole])
    y = torch.cat([b[1] for b in whole])
    assert torch.equal(x, data.x_train) and torch.equal(y, data.y_train)  # noisy labels included
    assert [len(b[1]) for b in whole] == [100, 100, 100, 59]
    first = torch.cat([b[0] for b in data.train_eval_dataloader(50)])
    second = torch.cat([b[0] for b in data.train_eval_dataloader(50)])
    assert len(first) == 50 and torch.equal(first, second)
    rows = {tuple(r.tolist()) for r in data.x_train}
    assert all(tuple(r.tolist()) in rows for r in first)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [({"train_size": 5000}, "train_size=5000"), ({"train_fraction": 1.0}, "train_fraction=1.0")],
)
def test_all_for_training_warns_naming_the_setting_and_validates_on_it(kwargs, named) -> None:
    data = DigitsDataModule(seed=0, **kwargs)
    with pytest.warns(UserWarning, match=f"^{named} keeps every sample for training"):
        data.setup()
    assert len(data.x_train) == 1797 and torch.equal(data.y_val, data.y_train)
