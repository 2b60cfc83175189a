"""Closed forms for diagonal Gaussians, shared by the Bayesian MLP and the VAE.

`torch.distributions.kl_divergence` gives the same numbers (the tests check it) but builds
distribution objects and validates arguments at every call; these are a few fused tensor ops.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian_kl(mu_q: Tensor, std_q: Tensor, mu_p: Tensor | float, std_p: Tensor | float) -> Tensor:
    """Elementwise KL(N(mu_q, std_q^2) || N(mu_p, std_p^2)); sum it for a diagonal Gaussian."""
    var_ratio = (std_q / std_p) ** 2
    mean_term = ((mu_q - mu_p) / std_p) ** 2
    return 0.5 * (var_ratio + mean_term - 1.0 - torch.log(var_ratio))


def standard_normal_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """Elementwise KL(N(mu, exp(logvar)) || N(0, 1)) = -0.5 (1 + logvar - mu^2 - exp(logvar))."""
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())


def softplus_inverse(value: float) -> float:
    """rho such that softplus(rho) = value: a posterior scale of `value` at initialisation."""
    return value + math.log(-math.expm1(-value))


def softplus_scale(rho: Tensor) -> Tensor:
    """A positive scale from an unconstrained parameter (smooth, and linear for large rho)."""
    return F.softplus(rho)
