"""KL regularisation: the closed forms, the two models that own a KL, and the `kl` regulariser."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from conftest import read_metrics, run_job
from regopt.models.bayes_mlp import BayesLinear, BayesMLP
from regopt.models.gaussian import gaussian_kl, softplus_inverse, standard_normal_kl
from regopt.models.mlp import MLP
from regopt.models.vae import VAE
from regopt.objective import Objective
from regopt.params import select_parameters
from regopt.regularizers.kl import KLDivergence
from regopt.regularizers.penalties import L2Penalty
from regopt.tasks import Classification, Reconstruction


def test_gaussian_kl_matches_torch_distributions() -> None:
    """float64, relative tolerance 1e-12."""
    g = torch.Generator().manual_seed(0)
    mu_q, mu_p = (
        torch.randn(50, generator=g, dtype=torch.float64),
        torch.randn(50, generator=g, dtype=torch.float64),
    )
    std_q = torch.rand(50, generator=g, dtype=torch.float64) + 0.05
    std_p = torch.rand(50, generator=g, dtype=torch.float64) + 0.05
    expected = kl_divergence(Normal(mu_q, std_q), Normal(mu_p, std_p))
    torch.testing.assert_close(gaussian_kl(mu_q, std_q, mu_p, std_p), expected, rtol=1e-12, atol=0)
    logvar = 2 * torch.log(std_q)
    torch.testing.assert_close(
        standard_normal_kl(mu_q, logvar),
        kl_divergence(Normal(mu_q, std_q), Normal(0.0, 1.0)),
        rtol=1e-12,
        atol=1e-15,
    )


def test_gaussian_kl_matches_a_monte_carlo_estimate() -> None:
    """E_q[log q - log p] from 400,000 draws agrees within 5 standard errors of the estimate."""
    mu_q = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    std_q = torch.tensor([0.5, 1.5, 0.2], dtype=torch.float64)
    mu_p, std_p = 0.1, 0.8
    q, p = Normal(mu_q, std_q), Normal(torch.tensor(mu_p, dtype=torch.float64), std_p)
    torch.manual_seed(1)
    draws = q.sample((400_000,))
    log_ratio = (q.log_prob(draws) - p.log_prob(draws)).sum(dim=1)
    estimate, error = log_ratio.mean(), log_ratio.std() / math.sqrt(len(log_ratio))
    closed = gaussian_kl(mu_q, std_q, mu_p, std_p).sum()
    assert abs(estimate - closed) < 5 * error
    assert error < 0.01 * closed  # the test has the power to see a 5% error


def test_bayes_layer_kl_is_the_sum_over_its_weights_and_biases() -> None:
    torch.manual_seed(0)
    layer = BayesLinear(4, 3, prior_std=0.5, init_std=0.1).double()
    with torch.no_grad():
        layer.weight_rho.uniform_(-3, 1)
    expected = sum(
        kl_divergence(Normal(mu, torch.nn.functional.softplus(rho)), Normal(0.0, 0.5)).sum()
        for mu, rho in [(layer.weight_mu, layer.weight_rho), (layer.bias_mu, layer.bias_rho)]
    )
    torch.testing.assert_close(layer.kl_divergence(), expected, rtol=1e-12, atol=0)
    rho = torch.tensor(softplus_inverse(0.1), dtype=torch.float64)
    assert torch.nn.functional.softplus(rho).item() == pytest.approx(0.1, rel=1e-12)


def test_bayes_mlp_samples_in_training_and_averages_predictions_in_eval() -> None:
    torch.manual_seed(0)
    model = BayesMLP(5, 3, widths=[7], init_std=0.3, eval_samples=4).double()
    x = torch.randn(6, 5, dtype=torch.float64)
    assert not torch.equal(model(x), model(x))  # a fresh weight draw per pass
    logits = model(x)
    logits.sum().backward()
    assert model.layers[0].weight_rho.grad.abs().sum() > 0  # reparameterisation reaches rho
    model.eval()
    torch.manual_seed(5)
    predictive = model(x)
    torch.manual_seed(5)
    draws = torch.stack([torch.softmax(model._logits(x, sample=True), -1) for _ in range(4)])
    torch.testing.assert_close(predictive.exp(), draws.mean(0), rtol=1e-12, atol=1e-15)
    model.eval_samples = 0
    assert torch.equal(model(x), model(x))  # posterior means only: deterministic
    # rho is a scale, not a weight: the `weights` rule leaves it out
    names = [n for n, _ in select_parameters(model, "weights")]
    assert names == ["layers.0.weight_mu", "layers.1.weight_mu"]


def test_vae_kl_term_is_its_closed_form_averaged_over_the_batch() -> None:
    torch.manual_seed(0)
    model = VAE(6, latent_dim=3, widths=[5]).double()
    x = torch.rand(8, 6, dtype=torch.float64)
    model(x)
    mu, logvar = model.encode(x)
    closed = (-0.5 * (1 + logvar - mu**2 - logvar.exp())).sum(dim=1).mean()
    torch.testing.assert_close(model.kl_divergence(), closed, rtol=1e-12, atol=0)
    reference = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(model.kl_divergence(), reference, rtol=1e-12, atol=0)


def test_kl_regulariser_scales_weight_kl_by_the_data_set_and_latent_kl_per_sample() -> None:
    torch.manual_seed(0)
    bayes = BayesMLP(5, 3, widths=[4]).double()
    kl = KLDivergence(beta=2.0)
    objective = Objective(Classification(3), {"kl": kl})
    objective.prepare(bayes, train_size=250)
    x, y = torch.randn(10, 5, dtype=torch.float64), torch.randint(0, 3, (10,))
    terms = objective.training_terms(bayes(x), y)
    torch.testing.assert_close(terms.unweighted["kl"], bayes.kl_divergence() / 250)
    torch.testing.assert_close(terms.penalties["kl"], 2.0 * bayes.kl_divergence() / 250)
    torch.testing.assert_close(terms.total, terms.data + terms.penalties["kl"])
    assert objective.penalty_names("val") == []  # the weights' KL does not depend on a batch
    assert set(objective.weighted_penalties()) == {"kl"}

    vae = VAE(6, latent_dim=2, widths=[4]).double()
    objective = Objective(Reconstruction("bernoulli"), {"kl": KLDivergence(beta=0.5)})
    objective.prepare(vae, train_size=250)
    x = torch.rand(10, 6, dtype=torch.float64)
    terms = objective.training_terms(vae(x), x)
    torch.testing.assert_close(terms.penalties["kl"], 0.5 * vae.kl_divergence())  # not / N
    assert objective.penalty_names("val") == ["penalty/kl", "unweighted/kl"]
    assert objective.weighted_penalties() == {}  # a latent KL has no value between batches


def test_kl_regulariser_refuses_a_model_without_a_kl() -> None:
    objective = Objective(Classification(3), {"kl": KLDivergence()})
    with pytest.raises(ValueError, match="needs a model with a KL term.*MLP has none"):
        objective.prepare(MLP(5, 3, widths=[4]), train_size=10)


@pytest.mark.parametrize("model", ["bayes_mlp", "vae"])
def test_kl_models_train_log_the_kl_and_write_the_full_record(model, tmp_path) -> None:
    summary = run_job(
        [f"model={model}", "regularizer=kl", "regularizer.kl.beta=0.5", "trainer.max_epochs=3"],
        tmp_path,
    )
    rows = read_metrics(tmp_path)
    assert summary["status"] == "completed" and summary["epochs"] == 3
    assert (tmp_path / "config.yaml").is_file() and (tmp_path / "checkpoints/last.ckpt").is_file()
    assert summary["regularizers"][0]["label"] == "kl(beta=0.5)"
    for row in rows:  # the KL term on its own, weighted and not
        assert row["train/penalty/kl"] == pytest.approx(0.5 * row["train/unweighted/kl"], rel=1e-6)
        parts = row["train/loss_data"] + row["train/penalty/kl"]
        assert row["train/loss"] == pytest.approx(parts, rel=1e-5)
    assert rows[-1]["train/loss"] < rows[0]["train/loss"]
    state = torch.load(tmp_path / "checkpoints/last.ckpt", weights_only=True)["state_dict"]
    weights = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
    if model == "bayes_mlp":
        net = BayesMLP(64, 10)
        net.load_state_dict(weights)
        expected = 0.5 * net.kl_divergence().item() / 359  # beta * KL / N at the final weights
        assert rows[-1]["penalty/kl"] == pytest.approx(expected, rel=1e-5)
        assert summary["task"]["name"] == "classification"
        assert 0 < summary["final"]["val/acc"] <= 1 and summary["best"]["val/acc"] is not None
    else:
        assert summary["task"] == {"name": "reconstruction", "likelihood": "bernoulli"}
        assert all(row["val/penalty/kl"] > 0 for row in rows)  # measured on validation too
        assert "penalty/kl" not in rows[-1] and "val/acc" not in rows[-1]
        # no accuracy: the record keeps the keys, with null
        assert summary["final"]["train/acc"] is None and summary["final"]["val/acc"] is None
        assert summary["best"]["val/acc"] is None and summary["best"]["epoch"] is not None
        assert summary["final"]["val/penalty/kl"] == rows[-1]["val/penalty/kl"]


def test_weight_kl_over_n_pulls_the_means_as_the_l2_prior_std_penalty() -> None:
    """docs/concepts.md, item 5: the gradient of KL / N in a weight mean is mu / (N s^2), which is
    the gradient of the l2 penalty given prior_std=s (two code paths: gaussian_kl and L2Penalty)."""
    torch.manual_seed(0)
    n, s = 50, 0.7
    model = BayesMLP(5, 3, widths=[4], prior_std=s).double()
    kl = Objective(Classification(3), {"kl": KLDivergence(beta=1.0)})
    kl.prepare(model, train_size=n)
    l2 = L2Penalty(prior_std=s)
    Objective(Classification(3), {"l2": l2}).prepare(model, train_size=n)
    means = [layer.weight_mu for layer in model.layers]
    from_kl = torch.autograd.grad(kl.weighted_penalties()["kl"], means)
    from_l2 = torch.autograd.grad(l2.weighted_penalty(), means)
    for mu, a, b in zip(means, from_kl, from_l2, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
        torch.testing.assert_close(a, mu.detach() / (n * s**2), rtol=1e-12, atol=0)
