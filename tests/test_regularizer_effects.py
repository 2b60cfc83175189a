"""Each regulariser in conf/regularizer/ moves the quantity it exists to move, the way its class's
`effect` says, against `regularizer=none` on the same seed, data and model.

The quantities are measured here, with plain torch on the trained model (never through regopt's
diagnostics), so a regulariser that stops working fails its test whatever regopt logs about it.
30 epochs of a 64-unit MLP on 20% of the digits (359 samples), Adam at its default lr, no
validation, one thread (a small model's steps are fastest on one; and it keeps them cheap on a
shared machine).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Normal, kl_divergence

from conftest import fit_watched, regularizer_class, regularizer_overrides, regularizers

TRAIN = ["diagnostics=none", "model.widths=[64]", "trainer.max_epochs=30"]
TRAIN.append("trainer.check_val_every_n_epoch=100")  # no validation: nothing here reads it
NEAR_ZERO = 1e-3  # |w| below this counts as a zero (Adam's steps leave L1's zeros near lr)
MARGIN = 0.01  # lower / higher: by at least 1% of the value without the regulariser


def weight_matrices(model: nn.Module) -> list[Tensor]:
    """Every layer's weights as a matrix (a row per unit); no biases, no posterior scales."""
    return [p.flatten(1) for n, p in model.named_parameters() if p.ndim >= 2 and "rho" not in n]


def weight_norm(model: nn.Module, x: Tensor) -> float:
    return torch.cat([w.flatten() for w in weight_matrices(model)]).norm().item()


def near_zero_weights(model: nn.Module, x: Tensor) -> float:
    weights = torch.cat([w.flatten() for w in weight_matrices(model)])
    return (weights.abs() < NEAR_ZERO).double().mean().item()


def max_row_norm(model: nn.Module, x: Tensor) -> float:
    return max(w.norm(dim=1).max().item() for w in weight_matrices(model))


def train_confidence(model: nn.Module, x: Tensor) -> float:
    """The mean largest class probability on the training set, in eval mode."""
    return F.softmax(model(x), dim=-1).max(dim=-1).values.mean().item()


def kl_to_prior(model: nn.Module, x: Tensor) -> float:
    """KL(N(mu, softplus(rho)^2) || N(0, prior_std^2)) over every Bayesian layer's weights and
    biases, by torch.distributions."""
    total = 0.0
    layers = [m for m in model.modules() if hasattr(m, "weight_mu")]
    assert layers, f"{type(model).__name__} has no Bayesian layers"
    for layer in layers:
        prior = Normal(0.0, layer.prior_std)
        for part in ("weight", "bias"):
            mu, rho = getattr(layer, f"{part}_mu"), getattr(layer, f"{part}_rho")
            total += kl_divergence(Normal(mu, F.softplus(rho)), prior).sum().item()
    return total


MEASURES: dict[str, Callable[[nn.Module, Tensor], float]] = {
    "weight_norm": weight_norm,
    "near_zero_weights": near_zero_weights,
    "max_row_norm": max_row_norm,
    "train_confidence": train_confidence,
    "kl_to_prior": kl_to_prior,
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Callable[[list[str]], tuple]:
    """Train once per list of overrides (the baselines are shared); (model in eval mode, the
    training inputs)."""
    cache: dict[tuple[str, ...], tuple[nn.Module, Tensor]] = {}

    def train(overrides: list[str]) -> tuple[nn.Module, Tensor]:
        key = tuple(overrides)
        if key not in cache:
            run_dir = Path(tmp_path_factory.mktemp("effect"))
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                trainer, module = fit_watched([*TRAIN, *overrides], [], run_dir)
            finally:
                torch.set_num_threads(threads)
            cache[key] = (module.model.eval(), trainer.datamodule.x_train)
        return cache[key]

    return train


@pytest.mark.parametrize("name", regularizers())
def test_regularizer_moves_what_it_exists_to_move(name: str, trained) -> None:
    cls = regularizer_class(name)
    effect = cls.effect
    assert effect is not None, f"{cls.__name__} declares no `effect` (regopt.regularizers.base)"
    assert effect.quantity in MEASURES, f"no measure of {effect.quantity!r}; known: {[*MEASURES]}"
    measure = MEASURES[effect.quantity]
    with torch.no_grad():
        value = measure(*trained(regularizer_overrides(name)))
        baseline = measure(*trained([*cls.needs, "regularizer=none"]))
    if effect.direction == "lower":
        assert value < baseline * (1 - MARGIN), (effect.quantity, value, baseline)
    elif effect.direction == "higher":
        assert value > baseline * (1 + MARGIN), (effect.quantity, value, baseline)
    else:  # at_most its own setting, which the run without it exceeds (the bound was active)
        limit = float(effect.settings[effect.limit])
        assert value <= limit * (1 + 1e-6), (effect.quantity, value, limit)
        assert baseline > limit, (effect.quantity, baseline, limit)
