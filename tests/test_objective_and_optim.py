"""Penalties, the parameter rule they share with weight decay, and the optimiser factory."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from regopt.models.mlp import MLP
from regopt.objective import Objective
from regopt.optim.decoupled import GROUP_KEY
from regopt.optim.factory import OptimizerFactory, parameter_groups
from regopt.optim.schedulers import warmup_cosine_factor
from regopt.params import select_parameters
from regopt.regularizers.penalties import ElasticPenalty, L1Penalty, L2Penalty
from regopt.tasks import Classification


class WithNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)
        self.batch_norm = nn.BatchNorm1d(3)


def test_weights_rule_leaves_out_biases_and_normalisation() -> None:
    names = [n for n, _ in select_parameters(WithNorm(), "weights")]
    assert names == ["linear.weight"]
    assert len(select_parameters(WithNorm(), "all")) == 6
    with pytest.raises(ValueError, match="allowed: weights, all"):
        select_parameters(WithNorm(), "biases")


def test_penalties_and_their_gradients() -> None:
    model = nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]))
    l1, l2 = L1Penalty(weight=0.1), L2Penalty(weight=0.2)
    elastic = ElasticPenalty(weight=0.3, l1_ratio=0.25)
    Objective(Classification(2), {"l1": l1, "l2": l2, "elastic": elastic}).prepare(model, 4)
    assert l1.penalty().item() == pytest.approx(7.5)
    assert l2.penalty().item() == pytest.approx(0.5 * 15.25)
    assert elastic.penalty().item() == pytest.approx(0.25 * 7.5 + 0.75 * 0.5 * 15.25)
    l1.weighted_penalty().backward()
    assert torch.allclose(model.weight.grad, 0.1 * torch.sign(model.weight))
    assert model.bias.grad is None  # biases are not covered
    model.zero_grad()
    l2.weighted_penalty().backward()
    assert torch.allclose(model.weight.grad, 0.2 * model.weight)


def test_objective_sums_data_loss_and_weighted_penalties() -> None:
    """Against a float64 hand computation on the MLP's two weight matrices (named, not selected)."""
    torch.manual_seed(0)
    model = MLP(4, 3, widths=[5]).double()
    objective = Objective(Classification(3), {"l1": L1Penalty(0.01), "l2": L2Penalty(0.02)})
    objective.prepare(model, train_size=8)
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,))
    terms = objective(model(x), y)
    weights = [model.net[1].weight.detach(), model.net[4].weight.detach()]
    log_p = torch.log_softmax(model(x).detach(), dim=-1)
    data = -log_p[torch.arange(8), y].mean()
    l1 = 0.01 * sum(w.abs().sum() for w in weights)
    l2 = 0.02 * 0.5 * sum((w**2).sum() for w in weights)
    torch.testing.assert_close(terms.data, data, rtol=1e-14, atol=0)
    torch.testing.assert_close(terms.penalties["l1"], l1, rtol=1e-14, atol=0)
    torch.testing.assert_close(terms.penalties["l2"], l2, rtol=1e-14, atol=0)
    torch.testing.assert_close(terms.total, data + l1 + l2, rtol=1e-14, atol=0)


@pytest.mark.parametrize("decoupled", [False, True])
def test_weight_decay_covers_the_weight_matrices_only(decoupled: bool) -> None:
    """The decay group is the three weight matrices (named here, not selected by the rule under
    test); the biases are in a group with no decay, coupled or decoupled."""
    model = MLP(4, 3, widths=[5, 5])
    decay, no_decay = parameter_groups(model, 0.1, "weights", decoupled=decoupled)
    layers = [model.net[1], model.net[4], model.net[7]]
    assert [id(p) for p in decay["params"]] == [id(layer.weight) for layer in layers]
    assert [id(p) for p in no_decay["params"]] == [id(layer.bias) for layer in layers]
    rate = {"weight_decay": 0.0, GROUP_KEY: 0.1} if decoupled else {"weight_decay": 0.1}
    assert {k: decay[k] for k in rate} == rate
    assert no_decay["weight_decay"] == 0.0 and no_decay.get(GROUP_KEY, 0.0) == 0.0


def test_factory_builds_from_config_and_names_the_decay() -> None:
    adamw = OptimizerFactory.from_config(
        {
            "_target_": "torch.optim.AdamW",
            "_partial_": True,
            "lr": 0.01,
            "weight_decay": 0.5,
            "weight_decay_params": "all",
        }
    )
    optimizer = adamw(MLP(4, 3, widths=[5]))
    assert isinstance(optimizer, torch.optim.AdamW)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.5]  # "all": one group
    assert adamw.weight_decay_kind == "decoupled"
    adam = OptimizerFactory.from_config(
        {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.01, "weight_decay": 0.5}
    )
    assert adam.weight_decay_kind == "coupled"
    assert adam.describe()["lr"] == 0.01


def test_warmup_cosine_factor() -> None:
    assert warmup_cosine_factor(0, 4, 20, 0.0) == pytest.approx(0.25)
    assert warmup_cosine_factor(3, 4, 20, 0.0) == pytest.approx(1.0)
    assert warmup_cosine_factor(4, 4, 20, 0.0) == pytest.approx(1.0)
    assert warmup_cosine_factor(12, 4, 20, 0.0) == pytest.approx(0.5)
    assert warmup_cosine_factor(20, 4, 20, 0.1) == pytest.approx(0.1)
    assert math.isclose(warmup_cosine_factor(30, 4, 20, 0.1), 0.1)


class Tied(nn.Module):
    """Two layers sharing one weight matrix (weight tying, as an autoencoder's decoder may)."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Linear(3, 3)
        self.decode = nn.Linear(3, 3)
        self.decode.weight = self.encode.weight


def test_a_shared_weight_is_penalised_and_decayed_once() -> None:
    """A tied matrix is one parameter: 0.5 * ||w||^2 once, and one SGD step with weight_decay
    moves it by -lr * wd * w once (with no gradient of the data), not twice."""
    torch.manual_seed(0)
    model = Tied().double()
    w = model.encode.weight
    assert [p for _, p in select_parameters(model, "weights")] == [w]
    l2 = L2Penalty(weight=1.0)
    l2.bind(model)
    torch.testing.assert_close(l2.penalty(), 0.5 * (w.detach() ** 2).sum(), rtol=1e-15, atol=0)
    optimizer = OptimizerFactory.from_config(
        {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1, "weight_decay": 0.5}
    )(model)
    before = w.detach().clone()
    w.grad = torch.zeros_like(w)
    optimizer.step()
    torch.testing.assert_close(w.detach(), before * (1 - 0.1 * 0.5), rtol=0, atol=1e-15)
