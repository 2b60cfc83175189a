"""Regularisers that change the model, the inputs, the targets or the weights after each step, and
gradient clipping: unit checks of their formulas and checks inside a real Lightning fit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from pytorch_lightning.callbacks import Callback

from conftest import fit_watched
from regopt.models.mlp import MLP
from regopt.models.vae import VAE
from regopt.objective import Objective
from regopt.regularizers.constraints import MaxNorm
from regopt.regularizers.data import InputNoise, LabelSmoothing
from regopt.regularizers.dropout import Dropout, dropout_layers
from regopt.tasks import Classification, Reconstruction


def fit(overrides: list[str], callbacks: list[Callback], tmp_path) -> torch.nn.Module:
    """A real fit, wired by the pipeline's own builders, with extra callbacks to watch it."""
    return fit_watched(overrides, callbacks, tmp_path)[1]


def test_dropout_sets_p_is_identity_in_eval_and_keeps_the_mean_in_training() -> None:
    torch.manual_seed(0)
    model = MLP(8, 3, widths=[16, 16]).double()
    x = torch.randn(20, 8, dtype=torch.float64)
    model.eval()
    without = model(x)
    Objective(Classification(3), {"dropout": Dropout(p=0.5)}).prepare(model, train_size=20)
    assert [layer.p for layer in dropout_layers(model)] == [0.5, 0.5]
    assert torch.equal(model(x), without)  # eval mode: the identity
    model.train()
    assert not torch.equal(model(x), without)
    # training mode: each unit kept with probability 0.5 and scaled by 2. Over n = 10^6 units the
    # mean is 1 within 5 standard errors (5 * sqrt(p / (1 - p) / n) = 0.005), and the dropped
    # fraction is p within 5 * sqrt(p (1 - p) / n) = 0.0025.
    layer = dropout_layers(model)[0]
    out = layer(torch.ones(1_000_000, dtype=torch.float64))
    assert abs(out.mean().item() - 1.0) < 0.005
    assert abs((out == 0).double().mean().item() - 0.5) < 0.0025
    assert set(out.unique().tolist()) == {0.0, 2.0}


def test_dropout_needs_dropout_layers() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="needs a model with dropout layers"):
        Objective(Classification(2), {"dropout": Dropout(0.2)}).prepare(model, train_size=4)


def test_label_smoothing_matches_its_formula_in_training_only() -> None:
    """float64, tolerance 1e-12: (1 - e) CE(y) + e * mean_k(-log p_k), as torch's own option."""
    torch.manual_seed(0)
    logits = torch.randn(12, 5, dtype=torch.float64)
    y = torch.randint(0, 5, (12,))
    eps = 0.2
    objective = Objective(Classification(5), {"label_smoothing": LabelSmoothing(eps)})
    objective.prepare(MLP(3, 5, widths=[4]), train_size=12)
    log_p = F.log_softmax(logits, dim=-1)
    formula = (1 - eps) * F.nll_loss(log_p, y) + eps * (-log_p).mean(dim=-1).mean()
    train = objective.training_terms(logits, y).data
    torch.testing.assert_close(train, formula, rtol=1e-12, atol=0)
    torch.testing.assert_close(
        train, F.cross_entropy(logits, y, label_smoothing=eps), rtol=1e-12, atol=0
    )
    # validation (and val/loss) keeps the hard labels
    torch.testing.assert_close(
        objective.validation_terms(logits, y).data, F.cross_entropy(logits, y)
    )
    with pytest.raises(ValueError, match="needs a classification task"):
        Objective(Reconstruction(), {"label_smoothing": LabelSmoothing(eps)}).prepare(
            VAE(4, widths=[3]), train_size=4
        )


def test_input_noise_has_the_configured_std_and_keeps_the_targets() -> None:
    torch.manual_seed(0)
    targets = torch.randint(0, 3, (200_000,))
    noisy, kept = InputNoise(std=0.3).transform_batch(
        torch.zeros(200_000, dtype=torch.float64), targets
    )
    assert kept is targets
    assert abs(noisy.std().item() - 0.3) < 0.003  # 5 standard errors of a std estimate
    assert abs(noisy.mean().item()) < 5 * 0.3 / 200_000**0.5


def test_max_norm_projects_rows_after_every_step() -> None:
    torch.manual_seed(0)
    model = MLP(6, 3, widths=[8]).double()
    objective = Objective(Classification(3), {"max_norm": MaxNorm(bound=0.4)})
    objective.prepare(model, train_size=32)
    x, y = torch.randn(32, 6, dtype=torch.float64), torch.randint(0, 3, (32,))
    optimizer = torch.optim.SGD(model.parameters(), lr=2.0)
    weights = [model.net[1].weight, model.net[4].weight]
    for _ in range(20):
        optimizer.zero_grad()
        objective.training_terms(model(x), y).total.backward()
        optimizer.step()
        before = [w.detach().clone() for w in weights]
        objective.after_step()
        for w, old in zip(weights, before, strict=True):
            norms, old_norms = w.norm(dim=1), old.norm(dim=1)
            assert norms.max() <= 0.4 + 1e-12
            inside = old_norms <= 0.4
            assert torch.equal(w[inside], old[inside])  # rows inside the ball are untouched
            torch.testing.assert_close(norms[~inside], torch.full_like(norms[~inside], 0.4))
    assert (model.net[1].weight.norm(dim=1) > 0.4 - 1e-6).any()  # the constraint was active


class WatchSteps(Callback):
    """Records the largest row norm of each weight matrix after every optimiser step (seen just
    before the next step, and at the epoch's end), and counts the steps."""

    def __init__(self) -> None:
        self.max_row_norms: list[float] = []
        self.batches = 0

    def _record(self, pl_module) -> None:
        norms = [p.norm(dim=1).max().item() for p in pl_module.model.parameters() if p.ndim == 2]
        self.max_row_norms.append(max(norms))

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        if self.batches:  # the first step has nothing before it to check
            self._record(pl_module)
        self.batches += 1

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._record(pl_module)


def test_module_applies_max_norm_after_each_step_and_noise_to_training_inputs(tmp_path) -> None:
    watch = WatchSteps()
    calls = {"train": 0}
    original = InputNoise.transform_batch

    def counting(self, inputs, targets):
        calls["train"] += 1
        return original(self, inputs, targets)

    InputNoise.transform_batch = counting  # counted at the class: the objective holds the instance
    try:
        fit(
            [
                "regularizer=[max_norm,input_noise]",
                "regularizer.max_norm.bound=0.5",
                "optimizer=sgd",
                "optimizer.lr=0.5",
                "trainer.max_epochs=2",
                "data.train_fraction=0.1",
            ],
            [watch],
            tmp_path,
        )
    finally:
        InputNoise.transform_batch = original
    assert watch.batches == 2 * 6  # 179 samples in batches of 32
    assert max(watch.max_row_norms) <= 0.5 + 1e-6
    assert calls["train"] == watch.batches  # once per training batch, never in validation


def test_gradient_clipping_from_the_trainer_config_bounds_each_step(tmp_path) -> None:
    """With gradient_clip_val=c (norm), one SGD step moves the weights by at most lr * c."""

    class StepSizes(Callback):
        """The weights just before each optimiser step, and at the epoch's end: consecutive
        snapshots differ by exactly one step."""

        def __init__(self) -> None:
            self.snapshots: list[torch.Tensor] = []

        def _snap(self, pl_module) -> None:
            self.snapshots.append(torch.cat([p.detach().flatten() for p in pl_module.parameters()]))

        def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
            self._snap(pl_module)

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            self._snap(pl_module)

        @property
        def sizes(self) -> list[float]:
            pairs = zip(self.snapshots, self.snapshots[1:], strict=False)
            return [(after - before).norm().item() for before, after in pairs]

    args = [
        "regularizer=none",
        "optimizer=sgd",
        "optimizer.lr=0.1",
        "trainer.max_epochs=1",
        "data.train_fraction=0.1",
    ]
    clipped, free = StepSizes(), StepSizes()
    fit([*args, "trainer.gradient_clip_val=0.05"], [clipped], tmp_path / "clipped")
    fit(args, [free], tmp_path / "free")
    assert len(clipped.sizes) == len(free.sizes) == 6  # 179 samples in batches of 32
    assert max(clipped.sizes) <= 0.1 * 0.05 * (1 + 1e-5)
    assert min(free.sizes) > 0.1 * 0.05 * 2  # without clipping the steps are larger
