"""A variational autoencoder (Kingma and Welling, 2014) for small images such as the digits.

The encoder gives a diagonal Gaussian posterior q(z|x) = N(mu, exp(logvar)); one z is drawn by
reparameterisation per input (in training and evaluation alike, so train and validation losses are
the same estimator); the decoder gives the logits (bernoulli) or means (gaussian) of p(x|z). The
data loss is the reconstruction's negative log-likelihood (regopt.tasks.Reconstruction); the KL of
q(z|x) to N(0, I) is the model's, and `regularizer=kl` adds beta * KL: the beta-VAE objective, the
negative ELBO at beta = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.models.gaussian import standard_normal_kl
from regopt.models.mlp import ACTIVATIONS
from regopt.ranges import Activation, PositiveInt, Probability


def _mlp(sizes: Sequence[int], activation: str, dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(a, b), ACTIVATIONS[activation](), nn.Dropout(dropout)]
    return layers


@checked
class VAE(nn.Module):
    task = "reconstruction"
    kl_scope = "sample"

    def __init__(
        self,
        input_dim: int,
        num_classes: int | None = None,  # given by the pipeline to every model; unused here
        latent_dim: PositiveInt = 8,
        widths: Sequence[PositiveInt] = (256,),
        activation: Activation = "relu",
        dropout: Probability = 0.0,
        likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
    ) -> None:
        super().__init__()
        self.likelihood = likelihood
        widths = list(widths)
        self.encoder = nn.Sequential(nn.Flatten(), *_mlp([input_dim, *widths], activation, dropout))
        self.to_mu = nn.Linear(widths[-1] if widths else input_dim, latent_dim)
        self.to_logvar = nn.Linear(widths[-1] if widths else input_dim, latent_dim)
        decoder = _mlp([latent_dim, *reversed(widths)], activation, dropout)
        self.decoder = nn.Sequential(
            *decoder, nn.Linear(widths[0] if widths else latent_dim, input_dim)
        )
        self._kl: Tensor | None = None

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def forward(self, x: Tensor) -> Tensor:
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        self._kl = standard_normal_kl(mu, logvar).sum(dim=1).mean()
        return self.decoder(z)

    def kl_divergence(self) -> Tensor:
        if self._kl is None:
            raise RuntimeError("the VAE's KL is that of the last forward pass: run one first")
        return self._kl
