"""Mixup against independent computations: a batch whose mixing can be read off by hand, the
mixup loss lam * CE(y) + (1 - lam) * CE(y[perm]), scipy's Beta distribution, torch's own label
smoothing when the two compose, and a config error for a task that is not classification."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from scipy import stats

from conftest import compose_config, read_metrics, run_job
from regopt.build import build_module
from regopt.config.errors import ConfigError
from regopt.models.mlp import MLP
from regopt.objective import Objective
from regopt.regularizers.data import LabelSmoothing
from regopt.regularizers.mixup import Mixup
from regopt.regularizers.schedule import Schedule
from regopt.tasks import Classification

N, K = 8, 3
LABELS = torch.tensor([0, 1, 2, 0, 1, 2, 1, 0])


def objective(*names: str, alpha: float = 0.4, smoothing: float = 0.2) -> Objective:
    built = {"mixup": Mixup(alpha), "label_smoothing": LabelSmoothing(smoothing)}
    result = Objective(Classification(K), {name: built[name] for name in names})
    result.prepare(MLP(N, K, widths=[4]), train_size=N)
    return result


def read_mixing(mixed: torch.Tensor) -> tuple[float, list[int]]:
    """lam and the pairing from a mixed identity matrix: row i is lam e_i + (1 - lam) e_perm(i)."""
    perm, lams = [], []
    for i, row in enumerate(mixed):
        others = [j for j in torch.nonzero(row).flatten().tolist() if j != i]
        assert len(others) <= 1, row  # every row mixes with one other sample at most
        perm.append(others[0] if others else i)
        if others:
            lams.append(row[i].item())
            assert row[i] + row[others[0]] == pytest.approx(1.0, abs=1e-12)
    assert lams and max(lams) - min(lams) < 1e-12  # one lam for the whole batch
    assert sorted(perm) == list(range(N))  # a pairing within the batch
    return lams[0], perm


def test_mixup_mixes_inputs_and_one_hot_targets_with_one_lambda() -> None:
    torch.manual_seed(0)
    x = torch.eye(N, dtype=torch.float64)
    mixed, targets = objective("mixup").transform_batch(x, LABELS)
    lam, perm = read_mixing(mixed)
    assert 0 < lam < 1 and perm != list(range(N))
    one_hot = torch.eye(K, dtype=torch.float64)
    expected = lam * one_hot[LABELS] + (1 - lam) * one_hot[LABELS[perm]]
    torch.testing.assert_close(targets, expected, rtol=0, atol=1e-12)
    # the training loss on soft targets is the mixup paper's lam CE(y) + (1 - lam) CE(y[perm])
    logits = torch.randn(N, K, dtype=torch.float64)
    loss = objective("mixup").training_terms(logits, targets).data
    paper = lam * F.cross_entropy(logits, LABELS) + (1 - lam) * F.cross_entropy(
        logits, LABELS[perm]
    )
    torch.testing.assert_close(loss, paper, rtol=1e-12, atol=0)
    # the same seed gives the same batch; the next batch draws anew
    torch.manual_seed(0)
    again, _ = objective("mixup").transform_batch(x, LABELS)
    assert torch.equal(again, mixed)
    assert not torch.equal(objective("mixup").transform_batch(x, LABELS)[0], mixed)


def test_mixup_lambda_follows_beta_alpha_alpha_and_alpha_zero_leaves_the_batch() -> None:
    torch.manual_seed(0)
    mixup = Mixup(alpha=0.4)
    draws = [mixup.draw_lambda() for _ in range(4000)]
    assert stats.kstest(draws, stats.beta(0.4, 0.4).cdf).pvalue > 1e-3
    assert stats.kstest(draws, stats.beta(2.0, 2.0).cdf).pvalue < 1e-6  # the test can tell
    off = objective("mixup", alpha=0.0)
    x = torch.randn(N, 5)
    state = torch.get_rng_state()
    same_x, same_y = off.transform_batch(x, LABELS)
    assert same_x is x and same_y is LABELS
    assert torch.equal(torch.get_rng_state(), state)  # nothing drawn


def test_mixup_alpha_follows_its_schedule() -> None:
    """alpha is its strength: 0 before a delayed start (the batch untouched), then scheduled; lam
    follows the alpha of the epoch (Beta(1, 1) is uniform)."""
    mixup = Mixup(alpha=2.0)
    mixup.set_schedule(Schedule("linear", start=1, end=3))
    both = Objective(Classification(K), {"mixup": mixup})
    both.prepare(MLP(N, K, widths=[4]), train_size=N)
    x = torch.eye(N, dtype=torch.float64)
    assert both.set_epoch(1) == {"mixup": 0.0}
    assert both.transform_batch(x, LABELS)[0] is x
    torch.manual_seed(0)
    for epoch, alpha in ((2, 1.0), (3, 2.0)):
        assert both.set_epoch(epoch) == {"mixup": alpha}
        draws = [mixup.draw_lambda() for _ in range(4000)]
        assert stats.kstest(draws, stats.beta(alpha, alpha).cdf).pvalue > 1e-3, epoch
        assert read_mixing(both.transform_batch(x, LABELS)[0])[1] != list(range(N))


@pytest.mark.parametrize("order", [("mixup", "label_smoothing"), ("label_smoothing", "mixup")])
def test_mixup_and_label_smoothing_compose_in_either_order(order) -> None:
    """Smoothing the mixed targets: (1 - s) t + s / K, whose cross-entropy is the mix of torch's
    own label-smoothed cross-entropies of the two labels."""
    s = 0.2
    torch.manual_seed(0)
    x = torch.eye(N, dtype=torch.float64)
    both = objective(*order, smoothing=s)
    mixed, targets = both.transform_batch(x, LABELS)
    lam, perm = read_mixing(mixed)
    logits = torch.randn(N, K, dtype=torch.float64)
    loss = both.training_terms(logits, targets).data
    smoothed = lam * F.cross_entropy(logits, LABELS, label_smoothing=s) + (
        1 - lam
    ) * F.cross_entropy(logits, LABELS[perm], label_smoothing=s)
    torch.testing.assert_close(loss, smoothed, rtol=1e-12, atol=0)
    soft = (1 - s) * targets + s / K  # the formula on mixup's own targets
    log_p = F.log_softmax(logits, dim=-1)
    torch.testing.assert_close(loss, -(soft * log_p).sum(dim=-1).mean(), rtol=1e-12, atol=0)


def test_mixup_with_label_smoothing_runs_the_same_in_either_order(tmp_path) -> None:
    args = ["callbacks=none", "diagnostics=none", "data.train_fraction=0.1", "model.widths=[32]"]
    args.append("trainer.max_epochs=2")
    first = run_job([*args, "regularizer=[mixup,label_smoothing]"], tmp_path / "a")
    second = run_job([*args, "regularizer=[label_smoothing,mixup]"], tmp_path / "b")
    assert first["status"] == second["status"] == "completed"
    assert {r["name"] for r in first["regularizers"]} == {"mixup", "label_smoothing"}
    rows = read_metrics(tmp_path / "a")
    assert rows == read_metrics(tmp_path / "b")
    assert all(0 <= row["train/acc"] <= 1 for row in rows)


def test_mixup_refuses_a_task_that_is_not_classification(tmp_path) -> None:
    cfg = compose_config(["model=vae", "regularizer=mixup"], tmp_path)
    with pytest.raises(ConfigError, match=r"^regularizer.mixup: needs a classification task; VAE"):
        build_module(cfg, instantiate(cfg.data))
    with pytest.raises(ValueError, match="alpha=-1"):
        Mixup(alpha=-1)
