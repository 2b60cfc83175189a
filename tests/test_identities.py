"""The identities between penalties and optimiser settings, in float64.

Tolerances: trajectories of 20 steps agree to 1e-12 (absolute, on weights of order 0.1-1); a
single step to 1e-15. Where two things must differ, they differ by more than 1e-4.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from regopt.models.mlp import MLP
from regopt.objective import Objective
from regopt.optim.factory import OptimizerFactory
from regopt.params import select_parameters
from regopt.regularizers.penalties import ElasticPenalty, L1Penalty, L2Penalty
from regopt.tasks import Classification

STEPS, LAM = 20, 0.05
SAME, DIFFERENT = 1e-12, 1e-4


@pytest.fixture
def problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = MLP(6, 3, widths=[8]).double()
    x = torch.randn(32, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (32,))
    return model, x, y


def factory(target: str, **options) -> OptimizerFactory:
    return OptimizerFactory.from_config({"_target_": target, "_partial_": True, **options})


def train(model, x, y, optimizer_factory, regularizers=None, steps=STEPS) -> nn.Module:
    """`steps` full-batch steps on cross-entropy + the regularisers' penalties, through regopt's
    own objective and optimiser factory (so penalty and decay cover regopt's parameter set)."""
    model = copy.deepcopy(model)
    objective = Objective(Classification(3), regularizers or {})
    objective.prepare(model, train_size=len(x))
    optimizer = optimizer_factory(model)
    for _ in range(steps):
        optimizer.zero_grad()
        objective.training_terms(model(x), y).total.backward()
        optimizer.step()
        objective.after_step()
    return model


def max_difference(a: nn.Module, b: nn.Module) -> float:
    return max(
        (p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters(), strict=True)
    )


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_on_l2_penalty_equals_sgd_weight_decay(problem, momentum) -> None:
    model, x, y = problem
    sgd = dict(lr=0.1, momentum=momentum)
    penalised = train(model, x, y, factory("torch.optim.SGD", **sgd), {"l2": L2Penalty(LAM)})
    decayed = train(model, x, y, factory("torch.optim.SGD", weight_decay=LAM, **sgd))
    plain = train(model, x, y, factory("torch.optim.SGD", **sgd))
    assert max_difference(penalised, decayed) < SAME
    assert max_difference(penalised, plain) > DIFFERENT  # the decay did something


def test_penalty_and_decay_cover_the_same_parameters(problem) -> None:
    """After one step from the same weights, decay moves exactly the weights the penalty covers,
    by -lr * lambda * w, and leaves the biases where plain SGD puts them."""
    model, x, y = problem
    decayed = train(model, x, y, factory("torch.optim.SGD", lr=0.1, weight_decay=LAM), steps=1)
    penalised = train(
        model, x, y, factory("torch.optim.SGD", lr=0.1), {"l2": L2Penalty(LAM)}, steps=1
    )
    plain = train(model, x, y, factory("torch.optim.SGD", lr=0.1), steps=1)
    covered = {id(p) for _, p in select_parameters(model, "weights")}
    assert len(covered) == 2
    for w0, a, b, c in zip(
        model.parameters(),
        decayed.parameters(),
        penalised.parameters(),
        plain.parameters(),
        strict=True,
    ):
        expected = c - 0.1 * LAM * w0 if id(w0) in covered else c
        torch.testing.assert_close(a, expected, rtol=0, atol=1e-15)
        torch.testing.assert_close(b, expected, rtol=0, atol=1e-15)


def test_adam_on_l2_penalty_equals_adam_weight_decay_not_adamw(problem) -> None:
    model, x, y = problem
    penalised = train(model, x, y, factory("torch.optim.Adam", lr=0.01), {"l2": L2Penalty(LAM)})
    coupled = train(model, x, y, factory("torch.optim.Adam", lr=0.01, weight_decay=LAM))
    adamw = train(model, x, y, factory("torch.optim.AdamW", lr=0.01, weight_decay=LAM))
    assert max_difference(penalised, coupled) < SAME
    assert max_difference(penalised, adamw) > DIFFERENT


def test_one_adamw_step_is_a_shrink_then_the_adam_update(problem) -> None:
    model, x, y = problem
    lr, wd = 0.01, 0.3
    adamw = train(model, x, y, factory("torch.optim.AdamW", lr=lr, weight_decay=wd), steps=1)
    adam = train(model, x, y, factory("torch.optim.Adam", lr=lr), steps=1)
    for w0, w_adamw, w_adam in zip(
        model.parameters(), adamw.parameters(), adam.parameters(), strict=True
    ):
        covered = w0.ndim >= 2  # the `weights` rule: biases are not decayed
        shrunk = w0 * (1 - lr * wd) if covered else w0
        adam_update = w0 - w_adam
        torch.testing.assert_close(w_adamw, shrunk - adam_update, rtol=0, atol=1e-15)
        if covered:
            assert (w_adamw - w_adam).abs().max() > 1e-6


def test_decoupled_weight_decay_setting(problem) -> None:
    """Any optimiser's `decoupled_weight_decay`: Adam with it is AdamW; plain SGD with it is SGD's
    coupled decay; with momentum it is not (the decay no longer passes through the momentum)."""
    model, x, y = problem
    adam_decoupled = train(
        model,
        x,
        y,
        factory("torch.optim.Adam", lr=0.01, weight_decay=LAM, decoupled_weight_decay=True),
    )
    adamw = train(model, x, y, factory("torch.optim.AdamW", lr=0.01, weight_decay=LAM))
    assert max_difference(adam_decoupled, adamw) < SAME
    for momentum, relation in [(0.0, "same"), (0.9, "different")]:
        sgd = dict(lr=0.1, momentum=momentum, weight_decay=LAM)
        decoupled = train(
            model, x, y, factory("torch.optim.SGD", decoupled_weight_decay=True, **sgd)
        )
        coupled = train(model, x, y, factory("torch.optim.SGD", **sgd))
        difference = max_difference(decoupled, coupled)
        assert difference < SAME if relation == "same" else difference > DIFFERENT, momentum
    assert factory("torch.optim.SGD", lr=0.1, decoupled_weight_decay=True).weight_decay_kind == (
        "decoupled"
    )


def test_l1_gradient_is_lambda_sign_and_elastic_is_its_formula(problem) -> None:
    model, _, _ = problem
    with torch.no_grad():
        model.net[1].weight[0, :3] = 0.0  # sign(0) = 0: no push on weights already at zero
    weights = [p for _, p in select_parameters(model)]
    l1 = L1Penalty(weight=0.3)
    l1.bind(model)
    grads = torch.autograd.grad(l1.weighted_penalty(), weights)
    for w, g in zip(weights, grads, strict=True):
        torch.testing.assert_close(g, 0.3 * torch.sign(w), rtol=0, atol=0)

    # elastic against a hand computation on the named matrices (not against L1Penalty + L2Penalty,
    # which share its norm functions): value and gradient ratio * sign(w) + (1 - ratio) * w
    weight, ratio = 0.2, 0.3
    elastic = ElasticPenalty(weight, l1_ratio=ratio)
    elastic.bind(model)
    named = [model.net[1].weight, model.net[4].weight]
    assert [id(w) for w in weights] == [id(w) for w in named]
    l1_part = sum(w.detach().abs().sum() for w in named)
    l2_part = 0.5 * sum((w.detach() ** 2).sum() for w in named)
    by_hand = weight * (ratio * l1_part + (1 - ratio) * l2_part)
    torch.testing.assert_close(elastic.weighted_penalty(), by_hand, rtol=1e-14, atol=0)
    for w, g in zip(named, torch.autograd.grad(elastic.weighted_penalty(), named), strict=True):
        expected = weight * (ratio * torch.sign(w) + (1 - ratio) * w)
        torch.testing.assert_close(g, expected.detach(), rtol=1e-14, atol=1e-16)
