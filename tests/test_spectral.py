"""diagnostics=spectral: the CSN power-law fit gives back the exponent of Pareto samples (and the
start of a power-law tail above a body that is not one), the same alpha as WeightWatcher on a
random matrix, and the diagnostic fits each layer's eigenvalues of W^T W."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from regopt.diagnostics.powerlaw import fit_power_law
from regopt.diagnostics.spectral import ALPHA, SpectralAlpha


def pareto(alpha: float, xmin: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Samples of the density ~ x^-alpha above xmin, by inverting its CDF."""
    return xmin * (1.0 - rng.random(n)) ** (-1.0 / (alpha - 1.0))


@pytest.mark.parametrize("alpha", [2.0, 3.5, 6.0])
def test_the_fit_gives_back_the_exponent_of_pareto_samples(alpha: float) -> None:
    rng = np.random.default_rng(0)
    n = 2000
    fit = fit_power_law(pareto(alpha, 1.0, n, rng))
    se = (alpha - 1.0) / np.sqrt(fit.tail_size)  # the MLE's standard error
    assert abs(fit.alpha - alpha) < 4 * se


def test_the_ks_distance_finds_where_the_tail_starts() -> None:
    rng = np.random.default_rng(1)
    body = rng.uniform(0.01, 1.0, 1500)  # not a power law
    tail = pareto(3.0, 1.0, 1500, rng)
    fit = fit_power_law(np.concatenate([body, tail]))
    assert 0.9 <= fit.xmin <= 1.3
    assert abs(fit.alpha - 3.0) < 4 * 2.0 / np.sqrt(fit.tail_size)
    whole = 1.0 + len(tail) * 2 / np.log(np.concatenate([body, tail]) / 0.01).sum()
    assert abs(whole - 3.0) > 0.5  # fitting from the smallest value instead would be far off


def test_the_diagnostic_fits_each_layers_eigenvalues_of_wtw() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(80, 60), nn.ReLU(), nn.Linear(60, 10))
    alphas = SpectralAlpha(min_evals=50).measure(model)
    assert set(alphas) == {"spectral/0/alpha", ALPHA}  # 10 eigenvalues are too few for a fit
    w = model[0].weight.detach().double().numpy()
    evals = np.linalg.eigvalsh(w.T @ w)[-60:]  # the 60 non-zero eigenvalues of the 80 x 80 matrix
    assert alphas["spectral/0/alpha"] == pytest.approx(fit_power_law(evals).alpha, rel=1e-6)
    assert alphas[ALPHA] == alphas["spectral/0/alpha"]


@pytest.mark.slow  # WeightWatcher's import alone takes about 5 s
def test_the_same_alpha_as_weightwatcher_on_a_random_matrix() -> None:
    ww = pytest.importorskip("weightwatcher")  # pip install -e .[reference]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(500, 200))
    with torch.no_grad():
        model[0].weight.copy_(torch.distributions.StudentT(3.0).sample((200, 500)) / 30)
    expected = ww.WeightWatcher(model=model).analyze()
    alphas = SpectralAlpha(min_evals=50).measure(model)
    assert alphas["spectral/0/alpha"] == pytest.approx(float(expected.alpha[0]), rel=1e-9)
