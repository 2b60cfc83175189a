"""MNIST-1D as the paper has it (Greydanus & Kobak, 2024; github.com/greydanus/mnist1d): the
models of experiment=mnist1d against the paper's own model code (copied below from its
notebooks/models.py, weights shared), the parameter counts its notebook prints, its training
setup, and the generated data against the published mnist1d_data.pkl."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from torch import nn

from conftest import compose_config
from regopt.data.mnist1d import MNIST1DDataModule
from regopt.models.cnn import CNN1D
from regopt.models.gru import GRU

# what notebooks/mnist1d-classification.ipynb prints for ConvBase, GRUBase, MLPBase, LinearBase
PAPER_PARAMETERS = {"cnn": 5210, "gru": 5134, "mlp": 15210, "logistic": 410}


class PaperConvBase(nn.Module):  # notebooks/models.py: ConvBase
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, 25, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
        self.linear = nn.Linear(125, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 1, x.shape[-1])
        h = self.conv3(self.conv2(self.conv1(x).relu()).relu()).relu()
        return self.linear(h.view(h.shape[0], -1))


class PaperGRUBase(nn.Module):  # notebooks/models.py: GRUBase(input_size=1, output_size=10)
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(input_size=1, hidden_size=6, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * 6 * 40, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(*x.shape[:2], 1)
        output, _ = self.gru(x, torch.zeros(2, x.shape[0], 6))
        return self.linear(output.reshape(output.shape[0], -1))


def test_cnn1d_is_the_papers_convnet() -> None:
    torch.manual_seed(0)
    ours, paper = CNN1D((1, 40), 10), PaperConvBase()
    convs = [m for m in ours.features if isinstance(m, nn.Conv1d)]
    with torch.no_grad():
        for mine, theirs in zip(convs, (paper.conv1, paper.conv2, paper.conv3), strict=True):
            mine.weight.copy_(theirs.weight), mine.bias.copy_(theirs.bias)
        ours.head[1].weight.copy_(paper.linear.weight), ours.head[1].bias.copy_(paper.linear.bias)
    x = torch.randn(7, 40)
    assert torch.allclose(ours(x), paper(x), atol=1e-6)


def test_gru_is_the_papers_gru() -> None:
    torch.manual_seed(0)
    ours, paper = GRU((1, 40), 10), PaperGRUBase()
    ours.gru.load_state_dict(paper.gru.state_dict())
    ours.head.load_state_dict(paper.linear.state_dict())
    x = torch.randn(7, 40)
    assert torch.allclose(ours(x), paper(x), atol=1e-6)
    assert ours(x.reshape(7, 1, 40)).shape == (7, 10)


def test_gru_reads_channels_as_features_per_step() -> None:
    """A (3, 40) sample is 40 steps of 3 features: the same as nn.GRU on the transposed input."""
    torch.manual_seed(0)
    model = GRU((3, 40), 4, hidden_size=5, bidirectional=False)
    x = torch.randn(2, 3, 40)
    outputs, _ = model.gru(x.transpose(1, 2))
    assert torch.allclose(model(x), model.head(outputs.reshape(2, -1)))
    with pytest.raises(ValueError, match="needs \\(channels, length\\)"):
        GRU((1, 8, 8), 10)


@pytest.mark.parametrize("arch", sorted(PAPER_PARAMETERS))
def test_experiment_models_and_training_follow_the_paper(arch, tmp_path) -> None:
    cfg = compose_config(["experiment=mnist1d", f"experiment/mnist1d/arch={arch}"], tmp_path)
    data = MNIST1DDataModule(num_samples=cfg.data.num_samples, train_split=cfg.data.train_split)
    model = instantiate(
        cfg.model, input_dim=data.input_dim, num_classes=10, **_shape(cfg.model, data)
    )
    assert sum(p.numel() for p in model.parameters()) == PAPER_PARAMETERS[arch]
    assert cfg.experiment.arch == arch and cfg.regularizer == {}
    assert cfg.optimizer._target_ == "torch.optim.Adam" and cfg.optimizer.lr == 0.01
    assert cfg.optimizer.weight_decay == 0 and cfg.data.batch_size == 100
    n_train = int(cfg.data.num_samples * cfg.data.train_split)
    assert n_train == 4000 and cfg.trainer.max_epochs * n_train // 100 == 6000  # steps
    assert cfg.trainer.max_epochs % cfg.trainer.check_val_every_n_epoch == 0  # last one validates


def _shape(model_cfg, data) -> dict:
    return {} if "mlp" in model_cfg._target_ else {"input_shape": data.input_shape}


@pytest.mark.slow
def test_generated_data_is_the_published_data_set(tmp_path) -> None:
    """Fingerprint of the repository's mnist1d_data.pkl (4,000 + 1,000 samples, seed 42)."""
    data = MNIST1DDataModule(data_dir=str(tmp_path))
    data.setup()
    x, x_test = data.x_train.double().squeeze(1).numpy(), data.x_val.double().squeeze(1).numpy()
    assert x.shape == (4000, 40) and x_test.shape == (1000, 40)
    published_first = [-0.3320056673693902, -0.4719103656557236, -0.778697076293495]
    published_last = [0.6598756470890784, 0.8777343497528006, 1.193151836835276]
    assert np.allclose(x[0, :3], published_first, atol=1e-6)  # float32 in regopt
    assert np.allclose(x_test[-1, -3:], published_last, atol=1e-6)
    assert data.y_train[:10].tolist() == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1]
    assert data.y_val[:10].tolist() == [2, 6, 3, 9, 4, 3, 1, 9, 5, 2]
    assert np.bincount(data.y_train.numpy()).tolist() == [
        398,
        396,
        411,
        394,
        394,
        402,
        401,
        404,
        402,
        398,
    ]
    assert x.sum() == pytest.approx(-51.78746787509559, abs=1e-2)
    assert np.abs(x_test).sum() == pytest.approx(29977.877540866408, rel=1e-6)


def test_gru_members_of_a_stack_give_their_own_models_outputs() -> None:
    """vmap cannot batch a GRU: the stacked launcher runs each GRU member's own model instead."""
    from contextlib import nullcontext

    from regopt.stacked.forward import StackedForward

    torch.manual_seed(0)
    models = [GRU((1, 40), 10) for _ in range(3)]
    stack = StackedForward(models)
    inputs = [torch.randn(4, 1, 40) for _ in models]
    outputs = stack([0, 1, 2], inputs, lambda index: nullcontext())
    for model, x, out in zip(models, inputs, outputs, strict=True):
        assert torch.equal(out, model(x))


def test_unshuffled_mnist1d_feeds_the_stored_order_every_epoch(tmp_path) -> None:
    """shuffle=false: the batches of the paper's loop, x[k * 100:(k + 1) * 100], at every epoch."""
    small = {"data_dir": str(tmp_path), "num_samples": 600, "train_split": 0.5}
    data = MNIST1DDataModule(shuffle=False, batch_size=100, **small)
    data.setup()
    for epoch in (0, 3):
        loader = data.train_dataloader()
        loader.sampler.set_epoch(epoch)
        batches = list(loader)
        assert len(batches) == 3
        for k, (x, y) in enumerate(batches):
            assert torch.equal(x, data.x_train[k * 100 : (k + 1) * 100])
            assert torch.equal(y, data.y_train[k * 100 : (k + 1) * 100])
    shuffled = MNIST1DDataModule(batch_size=100, **small)
    shuffled.setup()
    x, _ = next(iter(shuffled.train_dataloader()))
    assert not torch.equal(x, shuffled.x_train[:100])
