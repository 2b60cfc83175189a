"""Curvature of a loss from Hessian-vector products: the top eigenvalue by power iteration and
the trace by Hutchinson's estimator, never forming the Hessian (parameter count squared entries).

One forward and one backward pass with `create_graph=True` give the gradient as a graph; each
product H v is then one more backward pass through it (double backward, `torch.autograd.grad`),
so the parameters' `.grad` is never touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

Vectors = list[Tensor]  # one tensor per parameter: a vector of the parameter space
HVP = Callable[[Vectors], Vectors]


def hessian_vector_product(loss: Tensor, params: Sequence[Tensor]) -> HVP:
    """v -> H v for the Hessian of `loss` in `params` (the gradient's graph is kept for reuse)."""
    params = list(params)
    grads = torch.autograd.grad(loss, params, create_graph=True)

    def product(vectors: Vectors) -> Vectors:
        return list(torch.autograd.grad(grads, params, vectors, retain_graph=True))

    return product


def _dot(a: Vectors, b: Vectors) -> Tensor:
    return sum((x * y).sum() for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _random(like: Sequence[Tensor], generator: torch.Generator, rademacher: bool) -> Vectors:
    out = []
    for p in like:
        draw = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        if rademacher:
            draw = draw.sign()
        out.append(draw.to(p.device))
    return out


def top_eigenvalue(
    hvp: HVP,
    like: Sequence[Tensor],
    generator: torch.Generator,
    iterations: int = 20,
    tol: float = 1e-3,
) -> tuple[Tensor, int]:
    """The Hessian eigenvalue of largest magnitude (power iteration; at a minimum, the largest)
    and the iterations it took: it stops once the Rayleigh quotient changes by less than `tol`
    (relative) between two iterations."""
    v = _random(like, generator, rademacher=False)
    norm = torch.sqrt(_dot(v, v))
    v = [x / norm for x in v]
    eigenvalue = torch.zeros((), dtype=like[0].dtype, device=like[0].device)
    for done in range(1, iterations + 1):
        hv = hvp(v)
        new = _dot(v, hv).detach()
        norm = torch.sqrt(_dot(hv, hv)).detach()
        if float(norm) == 0.0:
            return new, done
        v = [x.detach() / norm for x in hv]
        if done > 1 and float((new - eigenvalue).abs()) <= tol * float(new.abs()):
            return new, done
        eigenvalue = new
    return eigenvalue, iterations


def hutchinson_trace(
    hvp: HVP, like: Sequence[Tensor], generator: torch.Generator, probes: int = 10
) -> tuple[Tensor, Tensor]:
    """tr(H) ~ mean of z^T H z over Rademacher probes z, and the standard error of that mean
    (the sample standard deviation over sqrt(probes); 0 for a single probe)."""
    samples = []
    for _ in range(probes):
        z = _random(like, generator, rademacher=True)
        samples.append(_dot(z, hvp(z)).detach())
    values = torch.stack(samples)
    spread = values.std() if probes > 1 else torch.zeros_like(values[0])
    return values.mean(), spread / math.sqrt(probes)
