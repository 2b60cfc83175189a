"""MNIST-1D (generated, cached, global random state untouched) and the teacher regression data."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import regopt.data.mnist1d as mnist1d_module
from regopt.data.mnist1d import MNIST1DDataModule
from regopt.data.teacher import TeacherDataModule, teacher_data

SMALL = {"num_samples": 600, "train_split": 0.5}


def _global_draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_mnist1d_shapes_labels_and_package_split(tmp_path) -> None:
    data = MNIST1DDataModule(data_dir=str(tmp_path), **SMALL)
    data.setup()
    assert data.x_train.shape == (300, 1, 40) and data.x_val.shape == (300, 1, 40)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.long
    assert data.input_shape == (1, 40) and data.input_dim == 40 and data.task == "classification"
    assert set(data.y_train.tolist()) == set(range(10))
    # the generator standardises the whole set: mean 0, std 1
    both = torch.cat([data.x_train, data.x_val])
    assert abs(both.mean().item()) < 1e-3 and both.std().item() == pytest.approx(1.0, abs=1e-2)
    assert not torch.equal(data.x_train[:10], data.x_val[:10])


def test_mnist1d_generation_leaves_global_random_state_alone(tmp_path) -> None:
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    expected = _global_draws()
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    MNIST1DDataModule(data_dir=str(tmp_path), **SMALL).setup()  # generates (reseeds numpy inside)
    assert _global_draws() == expected


def test_mnist1d_second_load_reads_the_cache(tmp_path, monkeypatch) -> None:
    first = MNIST1DDataModule(data_dir=str(tmp_path), **SMALL)
    first.setup()
    assert first.cache_file.is_file() and first.cache_file.parent == tmp_path

    def no_generation(settings):
        raise AssertionError("generated again instead of reading the cache")

    monkeypatch.setattr(mnist1d_module, "generate_mnist1d", no_generation)
    second = MNIST1DDataModule(data_dir=str(tmp_path), **SMALL)
    second.setup()
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_val, second.y_val)
    # another generation setting is another file: the cache is never stale
    other = MNIST1DDataModule(data_dir=str(tmp_path), iid_noise_scale=0.1, **SMALL)
    assert other.cache_file != first.cache_file
    with pytest.raises(AssertionError, match="generated again"):
        other.setup()


def test_mnist1d_noise_settings_change_the_data_and_the_data_seed_fixes_it(tmp_path) -> None:
    base = MNIST1DDataModule(data_dir=str(tmp_path), **SMALL)
    again = MNIST1DDataModule(data_dir=str(tmp_path / "b"), **SMALL)
    noisier = MNIST1DDataModule(data_dir=str(tmp_path), corr_noise_scale=1.0, **SMALL)
    for data in (base, again, noisier):
        data.setup()
    assert torch.equal(base.x_train, again.x_train)  # generated twice, identical
    assert torch.equal(base.y_train, noisier.y_train)  # same seed: same labels and order
    assert not torch.allclose(base.x_train, noisier.x_train)


def test_mnist1d_train_size_and_label_noise(tmp_path) -> None:
    clean = MNIST1DDataModule(data_dir=str(tmp_path), train_size=100, **SMALL)
    noisy = MNIST1DDataModule(data_dir=str(tmp_path), train_size=100, label_noise=0.2, **SMALL)
    clean.setup(), noisy.setup()
    assert len(clean.y_train) == 100 and torch.equal(clean.x_train, noisy.x_train)
    assert int((clean.y_train != noisy.y_train).sum()) == 20
    assert torch.equal(clean.y_val, noisy.y_val)  # validation stays clean


def test_teacher_data_is_seeded_noisy_and_unit_variance() -> None:
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    x, y, clean = teacher_data(4000, 8, 16, 1, 0.5, seed=3)
    assert torch.equal(torch.rand(1), expected)  # own generator
    assert x.shape == (4000, 8) and y.shape == (4000, 1) and y.dtype == torch.float32
    assert clean.std().item() == pytest.approx(1.0, rel=1e-5)
    assert (y - clean).std().item() == pytest.approx(0.5, rel=0.05)
    assert torch.equal(teacher_data(4000, 8, 16, 1, 0.5, seed=3)[1], y)
    assert not torch.equal(teacher_data(4000, 8, 16, 1, 0.5, seed=4)[1], y)


def test_teacher_module_splits_and_declares_regression() -> None:
    data = TeacherDataModule(n_train=50, n_val=70, input_dim=5, output_dim=2, noise_std=0.0)
    data.setup()
    assert data.x_train.shape == (50, 5) and data.y_val.shape == (70, 2)
    assert data.task == "regression" and data.num_classes == 2 and data.input_dim == 5
