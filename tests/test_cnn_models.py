"""The 1D and 2D CNNs: output shapes, what counts as weights, and the constraints on kernels."""

from __future__ import annotations

import pytest
import torch

from conftest import compose_config
from regopt.config.cli_errors import ConfigError
from regopt.models.cnn import CNN, CNN1D
from regopt.params import select_parameters
from regopt.regularizers.constraints import MaxNorm


@pytest.mark.parametrize("batch", [torch.randn(6, 1, 40), torch.randn(6, 40)])
def test_cnn1d_takes_flat_or_shaped_sequences(batch) -> None:
    model = CNN1D((1, 40), 10, channels=(8, 8, 8), kernel_size=5)
    assert model(batch).shape == (6, 10)


@pytest.mark.parametrize(("shape", "batch"), [((1, 8, 8), (5, 64)), ((1, 28, 28), (5, 1, 28, 28)),
                                              ((3, 32, 32), (5, 3, 32, 32))])  # fmt: skip
def test_cnn_output_shape(shape, batch) -> None:
    model = CNN(shape, 7, channels=(4, 8), hidden=16)
    assert model(torch.randn(*batch)).shape == (5, 7)


def test_cnn_reads_channels_in_order() -> None:
    """A flat row is viewed as (C, H, W): zeroing the last channel's block of the flat input equals
    zeroing channel 2 of the image."""
    torch.manual_seed(0)
    model = CNN((3, 4, 4), 2, channels=(2,), hidden=4)
    image = torch.randn(1, 3, 4, 4)
    flat = image.flatten(1).clone()
    flat[:, 32:] = 0
    image[:, 2] = 0
    assert torch.allclose(model(flat), model(image))


def test_kernels_are_weights_and_biases_are_not() -> None:
    model = CNN((1, 8, 8), 10, channels=(4, 8), hidden=16)
    names = [n for n, _ in select_parameters(model, "weights")]
    assert names == ["features.0.weight", "features.4.weight", "head.1.weight", "head.4.weight"]
    assert len(select_parameters(model, "all")) == 8


def test_max_norm_bounds_every_filter_of_a_conv_kernel() -> None:
    model = CNN1D((1, 40), 10, channels=(6,), kernel_size=5)
    with torch.no_grad():
        model.features[0].weight.mul_(100.0)
    constraint = MaxNorm(bound=0.5)
    constraint.bind(model)
    constraint.after_step()
    norms = model.features[0].weight.flatten(1).norm(dim=1)
    assert norms.max().item() == pytest.approx(0.5, rel=1e-4)
    assert model.features[0].bias.abs().max() < 1.0  # biases untouched (their init is small)


def test_bad_shapes_fail_in_one_line(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"needs \(channels, height, width\)"):
        CNN((1, 40), 10)
    with pytest.raises(ValueError, match="too small for 3 pooling layers"):
        CNN((1, 4, 4), 10, channels=(2, 2, 2))
    from hydra.utils import instantiate

    from regopt.pipeline import build_module

    cfg = compose_config(["data=synthetic", "model=cnn", "logger=none"], tmp_path)
    with pytest.raises(ConfigError, match="model=CNN needs inputs with a spatial layout"):
        build_module(cfg, instantiate(cfg.data))
