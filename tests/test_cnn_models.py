"""The 1D and 2D CNNs: output shapes, what counts as weights, and the constraints on kernels."""

from __future__ import annotations

import pytest
import torch

from conftest import compose_config
from regopt.config.errors import ConfigError
from regopt.models.cnn import CNN, CNN1D
from regopt.params import select_parameters
from regopt.regularizers.constraints import MaxNorm


@pytest.mark.parametrize("batch", [torch.randn(6, 1, 40), torch.randn(6, 40)])
def test_cnn1d_takes_flat_or_shaped_sequences(batch) -> None:
    model = CNN1D((1, 40), 10, channels=(8, 8, 8), kernel_sizes=(5, 3, 3))
    assert model(batch).shape == (6, 10)


@pytest.mark.parametrize(
    ("shape", "batch"),
    [((1, 8, 8), (5, 64)), ((1, 28, 28), (5, 1, 28, 28)), ((3, 32, 32), (5, 3, 32, 32))],
)
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
    """Every filter (out channel: in_channels x kernel) outside the ball is scaled onto it, along
    its own direction; one inside stays bit for bit; the bias and the head's bias are untouched."""
    torch.manual_seed(0)
    model = CNN1D((3, 40), 10, channels=(6,), kernel_sizes=(5,))  # 3 in channels: a filter is 3 x 5
    conv = model.features[0]
    with torch.no_grad():
        conv.weight.mul_(100.0)
        conv.weight[2].mul_(0.1 / conv.weight[2].norm())  # one filter inside the ball
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    constraint = MaxNorm(bound=0.5)
    constraint.bind(model)
    constraint.after_step()
    old = before["features.0.weight"].flatten(1)
    old_norms = old.norm(dim=1, keepdim=True)
    outside = (old_norms > 0.5).squeeze(1)
    assert outside.sum() == 5
    expected = torch.where(outside[:, None], old * 0.5 / old_norms, old)
    torch.testing.assert_close(conv.weight.detach().flatten(1), expected, rtol=1e-6, atol=0)
    assert torch.equal(conv.weight[2], before["features.0.weight"][2])
    for name in ("features.0.bias", "head.1.bias"):
        assert torch.equal(dict(model.named_parameters())[name], before[name]), name


def test_bad_shapes_fail_in_one_line(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"needs \(channels, height, width\)"):
        CNN((1, 40), 10)
    with pytest.raises(ValueError, match="too small for 3 pooling layers"):
        CNN((1, 4, 4), 10, channels=(2, 2, 2))
    from hydra.utils import instantiate

    from regopt.build import build_module

    cfg = compose_config(["data=synthetic", "model=cnn", "logger=none"], tmp_path)
    with pytest.raises(ConfigError, match="model=CNN needs inputs with a spatial layout"):
        build_module(cfg, instantiate(cfg.data))


def test_cnn1d_wants_one_kernel_size_per_conv_layer() -> None:
    with pytest.raises(ValueError, match=r"kernel_sizes=\[5\]: one per conv layer"):
        CNN1D((1, 40), 10, channels=(8, 8), kernel_sizes=(5,))
    with pytest.raises(ValueError, match="too short for 3 conv layers"):
        CNN1D((1, 4), 10, kernel_sizes=(5, 5, 5), padding=0)
