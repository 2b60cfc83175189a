"""diagnostics=sharpness against the exact Hessian of a small float64 model: power iteration finds
its top eigenvalue (torch.linalg.eigvalsh), Hutchinson's trace lies within its standard error of
the exact trace, and that standard error is the one the Rademacher variance formula gives."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.func import functional_call

from conftest import read_metrics, run_job
from regopt.diagnostics.sharpness import TOP_EIGENVALUE, TRACE, TRACE_SE, Sharpness
from regopt.tasks import Classification


class Tiny(nn.Module):
    """Stands in for the LightningModule: a model with the module's `task`."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()
        self.task = Classification(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def data() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(20, 4, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 3, (20,), generator=generator)
    return [(x[:12], y[:12]), (x[12:], y[12:])]  # two batches of unequal size: a weighted mean


def exact_hessian(module: Tiny, batches) -> torch.Tensor:
    names = [n for n, _ in module.named_parameters()]
    shapes = [p.shape for p in module.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in module.parameters()])
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])

    def loss(vector: torch.Tensor) -> torch.Tensor:
        pieces = torch.split(vector, [math.prod(s) for s in shapes])
        params = {n: v.reshape(s) for n, v, s in zip(names, pieces, shapes, strict=True)}
        return nn.functional.cross_entropy(functional_call(module, params, (x,)), y)

    return torch.autograd.functional.hessian(loss, flat)


def test_power_iteration_finds_the_top_eigenvalue_of_the_exact_hessian() -> None:
    module, batches = Tiny(), data()
    eigenvalues = torch.linalg.eigvalsh(exact_hessian(module, batches))
    top = eigenvalues.max()
    assert top.abs() > eigenvalues.min().abs()  # the largest in magnitude, as power iteration needs
    found = Sharpness(iterations=300, tol=1e-10, probes=0).measure(module, batches)
    assert set(found) == {TOP_EIGENVALUE}
    assert found[TOP_EIGENVALUE].item() == pytest.approx(top.item(), rel=1e-6)
    few = Sharpness(iterations=2, tol=0.0, probes=0).measure(module, batches)[TOP_EIGENVALUE]
    assert few.item() < top.item()  # two iterations fall short: the iterations do the work


def test_hutchinson_trace_is_within_its_standard_error_of_the_exact_trace() -> None:
    module, batches = Tiny(), data()
    hessian = exact_hessian(module, batches)
    probes = 200
    found = Sharpness(iterations=1, probes=probes).measure(module, batches)
    # Var(z^T H z) = 2 (||H||_F^2 - sum_i H_ii^2) for Rademacher z
    expected_se = math.sqrt(2 * ((hessian**2).sum() - (hessian.diag() ** 2).sum()) / probes)
    assert found[TRACE_SE].item() == pytest.approx(expected_se, rel=0.25)
    assert abs(found[TRACE].item() - hessian.trace().item()) <= 3 * found[TRACE_SE].item()
    again = Sharpness(iterations=1, probes=probes).measure(module, batches)
    assert again[TRACE].item() == found[TRACE].item()  # the same probes every epoch
    assert all(p.grad is None for p in module.parameters())  # .grad is never touched


def test_sharpness_and_spectral_compose_with_the_default_diagnostics(tmp_path) -> None:
    """'diagnostics=[default,sharpness,spectral]': every epoch's default keys, the curvature and
    the spectra at epochs 0, 2 (every_n_epochs=2), each key declared in logged_keys."""
    overrides = [
        "diagnostics=[default,sharpness,spectral]",
        "diagnostics.sharpness.every_n_epochs=2",
        "diagnostics.spectral.every_n_epochs=2",
        "data.train_fraction=0.1",
        "model.widths=[64]",
        "trainer.max_epochs=3",
        "callbacks=none",
    ]
    summary = run_job(overrides, tmp_path)
    assert summary["status"] == "completed"
    rows = read_metrics(tmp_path)
    measured = [int(r["epoch"]) for r in rows if TOP_EIGENVALUE in r]
    assert measured == [0, 2] == [int(r["epoch"]) for r in rows if "spectral/alpha" in r]
    assert all("gap/loss" in r for r in rows)  # the default ones are still there
    assert all(r[TOP_EIGENVALUE] > 0 and r[TRACE_SE] >= 0 for r in rows if TOP_EIGENVALUE in r)
    spectral = {k for k in rows[0] if k.startswith("spectral/")}
    assert spectral == {"spectral/net.1/alpha", "spectral/alpha"}  # 64 x 64; 10 x 64 is too small
