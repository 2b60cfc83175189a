"""A Bayesian MLP trained by Bayes by Backprop (Blundell et al., 2015).

Every weight and bias has a Gaussian variational posterior N(mu, sigma^2) with
sigma = softplus(rho), and a Gaussian prior N(0, prior_std^2). Training draws one set of weights
per forward pass by reparameterisation (w = mu + sigma * eps), so gradients reach mu and rho.
The KL of the posterior to the prior is the model's (closed form); `regularizer=kl` adds
beta * KL / N to the objective. Evaluation averages the predictive probabilities of
`eval_samples` weight draws (0: the posterior means alone).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.models.gaussian import gaussian_kl, softplus_inverse, softplus_scale
from regopt.models.mlp import ACTIVATIONS
from regopt.ranges import Activation, NonNegativeInt, Positive, PositiveInt, Probability


class BayesLinear(nn.Module):
    # Posterior scales are not weights: the `weights` rule of penalties, weight decay and
    # max_norm leaves them out (see regopt.params).
    scale_parameters = ("weight_rho", "bias_rho")

    def __init__(
        self, in_features: int, out_features: int, prior_std: float, init_std: float
    ) -> None:
        super().__init__()
        self.prior_std = float(prior_std)
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's initialisation for the means
        self.weight_mu = nn.Parameter(
            torch.empty(out_features, in_features).uniform_(-bound, bound)
        )
        self.bias_mu = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        rho = softplus_inverse(init_std)
        self.weight_rho = nn.Parameter(torch.full((out_features, in_features), rho))
        self.bias_rho = nn.Parameter(torch.full((out_features,), rho))

    def forward(self, x: Tensor, sample: bool = True) -> Tensor:
        if not sample:
            return F.linear(x, self.weight_mu, self.bias_mu)
        weight_std, bias_std = softplus_scale(self.weight_rho), softplus_scale(self.bias_rho)
        weight = self.weight_mu + weight_std * torch.randn_like(weight_std)
        bias = self.bias_mu + bias_std * torch.randn_like(bias_std)
        return F.linear(x, weight, bias)

    def kl_divergence(self) -> Tensor:
        weight_kl = gaussian_kl(
            self.weight_mu, softplus_scale(self.weight_rho), 0.0, self.prior_std
        )
        bias_kl = gaussian_kl(self.bias_mu, softplus_scale(self.bias_rho), 0.0, self.prior_std)
        return weight_kl.sum() + bias_kl.sum()


@checked
class BayesMLP(nn.Module):
    """A classifier; dropout layers are present (p=0) so `regularizer=dropout` still composes."""

    task = "classification"
    kl_scope = "dataset"

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        widths: Sequence[PositiveInt] = (128,),
        activation: Activation = "relu",
        dropout: Probability = 0.0,
        prior_std: Positive = 1.0,
        init_std: Positive = 0.05,
        eval_samples: NonNegativeInt = 10,
    ) -> None:
        super().__init__()
        self.eval_samples = int(eval_samples)
        sizes = [input_dim, *widths, num_classes]
        self.layers = nn.ModuleList(
            BayesLinear(a, b, prior_std, init_std) for a, b in zip(sizes, sizes[1:], strict=False)
        )
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)

    def _logits(self, x: Tensor, sample: bool) -> Tensor:
        h = x.flatten(1)
        for layer in self.layers[:-1]:
            h = self.dropout(self.activation(layer(h, sample)))
        return self.layers[-1](h, sample)

    def forward(self, x: Tensor) -> Tensor:
        """Training: the logits of one weight draw. Evaluation: log of the mean predictive
        probabilities over `eval_samples` draws (cross-entropy and argmax read them as logits)."""
        if self.training:
            return self._logits(x, sample=True)
        if self.eval_samples == 0:
            return self._logits(x, sample=False)
        log_probs = torch.stack(
            [F.log_softmax(self._logits(x, sample=True), dim=-1) for _ in range(self.eval_samples)]
        )
        return torch.logsumexp(log_probs, dim=0) - math.log(self.eval_samples)

    def kl_divergence(self) -> Tensor:
        return torch.stack([layer.kl_divergence() for layer in self.layers]).sum()
