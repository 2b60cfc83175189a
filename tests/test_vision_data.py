"""The vision sets through scikit-learn's real fetch_openml code, on tiny local fixtures in
OpenML's file formats; any attempt to reach the network fails the test."""

from __future__ import annotations

import pytest
import torch

import regopt.data.vision as vision
from openml_fixture import pixel, write_openml_images
from regopt.data.vision import DATASETS, OpenMLImageDataModule

ROWS, TEST_ROWS = 40, 10


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    import sklearn.datasets._openml as openml

    def refuse(*args, **kwargs):
        raise AssertionError("tried to reach the network")

    monkeypatch.setattr(openml, "urlopen", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def data_home(tmp_path):
    for data_id, shape in DATASETS.values():
        write_openml_images(tmp_path, data_id, shape, ROWS)
    return tmp_path


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_images_load_in_channel_height_width_order(name, data_home) -> None:
    data = OpenMLImageDataModule(
        name,
        data_dir=str(data_home),
        train_size=None,
        val_size=None,
        test_rows=TEST_ROWS,
        normalize="none",
        parser="liac-arff",
    )
    data.setup()
    c, h, w = DATASETS[name][1]
    assert data.input_shape == (c, h, w) and data.input_dim == c * h * w
    assert data.x_train.shape == (ROWS - TEST_ROWS, c, h, w) and data.x_val.shape[0] == TEST_ROWS
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.long
    # the last TEST_ROWS rows validate; labels as written (row i has class i % 10)
    assert data.y_train.tolist() == [i % 10 for i in range(ROWS - TEST_ROWS)]
    assert data.y_val.tolist() == [i % 10 for i in range(ROWS - TEST_ROWS, ROWS)]
    for i, ch, row, col in [(0, 0, 0, 1), (3, c - 1, 5, 7), (7, c - 1, h - 1, 2), (2, 0, 9, 0)]:
        assert data.x_train[i, ch, row, col].item() == pixel(i, ch, row, col)
    i = ROWS - TEST_ROWS + 1  # first validation image is row ROWS - TEST_ROWS
    assert data.x_val[1, c - 1, 4, 6].item() == pixel(i, c - 1, 4, 6)


def test_second_load_reads_the_npz_cache_and_normalises(data_home, monkeypatch) -> None:
    kwargs = {
        "data_dir": str(data_home),
        "train_size": 20,
        "val_size": 5,
        "test_rows": TEST_ROWS,
        "parser": "liac-arff",
    }
    first = OpenMLImageDataModule("cifar10", **kwargs)
    first.setup()
    assert first.cache_file.is_file()

    def no_fetch(*args, **kwargs):
        raise AssertionError("fetched again instead of reading the cache")

    monkeypatch.setattr(vision, "fetch_images", no_fetch)
    second = OpenMLImageDataModule("cifar10", **kwargs)
    second.setup()
    assert torch.equal(first.x_train, second.x_train)
    assert len(second.y_train) == 20 and len(second.y_val) == 5
    assert sorted(second.y_train.tolist()) == sorted(list(range(10)) * 2)  # stratified subset
    # per-channel standardisation from the training images
    means = second.x_train.mean(dim=(0, 2, 3))
    stds = second.x_train.std(dim=(0, 2, 3))
    assert torch.allclose(means, torch.zeros(3), atol=1e-5)
    assert torch.allclose(stds, torch.ones(3), atol=1e-4)


def test_unknown_name_and_too_many_test_rows_fail_clearly(data_home) -> None:
    with pytest.raises(
        ValueError, match="name='svhn' is not allowed .*; allowed: mnist, fashion_mnist, cifar10"
    ):
        OpenMLImageDataModule("svhn", data_dir=str(data_home))
    data = OpenMLImageDataModule(
        "mnist", data_dir=str(data_home), test_rows=ROWS, parser="liac-arff"
    )
    with pytest.raises(ValueError, match=f"test_rows={ROWS}: the set has {ROWS} rows"):
        data.setup()


def test_a_size_the_set_cannot_give_is_a_one_line_config_error(data_home, tmp_path) -> None:
    """Found only once the data is loaded, and still reported as the user's setting."""
    from hydra.utils import instantiate

    from conftest import compose_config
    from regopt.build import build_module
    from regopt.config.errors import ConfigError

    cfg = compose_config(
        [
            "data=mnist",
            f"data.data_dir={data_home}",
            f"data.test_rows={ROWS}",
            "data.parser=liac-arff",
            "model=mlp",
        ],
        tmp_path,
    )
    with pytest.raises(ConfigError, match=f"^data.test_rows={ROWS}: the set has {ROWS} rows$"):
        build_module(cfg, instantiate(cfg.data))


@pytest.mark.slow
def test_data_mnist_offline_says_it_needs_the_internet_once_and_what_to_do(tmp_path) -> None:
    """No cache and no way out (a proxy on a closed loopback port): one line, exit 2, naming the
    cache file to bring and the setting to point at it."""
    from conftest import run_cli

    closed = "http://127.0.0.1:9"
    env = {
        "https_proxy": closed,
        "http_proxy": closed,
        "HTTPS_PROXY": closed,
        "HTTP_PROXY": closed,
        "no_proxy": "",
        "NO_PROXY": "",
    }
    result = run_cli(
        [
            "data=mnist",
            "logger=none",
            f"paths.data_dir={tmp_path / 'empty'}",
            "trainer.max_epochs=1",
        ],
        tmp_path,
        env=env,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert "mnist is not cached at" in lines[0] and "needs the internet once" in lines[0]
    assert "paths.data_dir=" in lines[0] and "Traceback" not in result.stderr


def test_the_names_the_signature_allows_are_the_data_sets() -> None:
    """The config check reads `name`'s choices from the signature: they are DATASETS' keys."""
    import inspect
    import typing

    init = inspect.unwrap(OpenMLImageDataModule.__init__)
    hints = typing.get_type_hints(init, include_extras=True)
    assert set(typing.get_args(hints["name"])) == set(DATASETS)
