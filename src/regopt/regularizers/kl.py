"""KL regularisation: beta * KL(posterior || prior), where the model owns posterior and prior.

A model takes part through a small protocol (`KLModel`): it says whether its KL is over global
variables (the weights of a Bayesian network: paid once for the whole data set) or over
per-sample latent variables (a VAE's codes: paid once per sample), and returns the KL. On the
scale of regopt's objective (mean loss per training sample) the first is divided by the training
set size N, the second is averaged over the batch by the model. So beta = 1 gives the negative
evidence lower bound per sample, exactly.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.ranges import NonNegative
from regopt.regularizers.base import Effect, FitContext, Penalty

KL_SCOPES = ("dataset", "sample")


@runtime_checkable
class KLModel(Protocol):
    kl_scope: Literal["dataset", "sample"]

    def kl_divergence(self) -> Tensor:
        """`dataset`: the whole KL of the weights' posterior to their prior.
        `sample`: the KL of the last forward pass's latent posterior to the prior, summed over
        the latent dimensions and averaged over the batch."""
        ...


@checked
class KLDivergence(Penalty):
    log_unweighted = True  # beta = 0 still shows how far the posterior moves from the prior
    needs = ("model=bayes_mlp",)  # or model=vae: a model with a KL term
    effect = Effect("kl_to_prior", "lower")

    def __init__(self, beta: NonNegative = 1.0) -> None:
        super().__init__(weight=beta, params="all")
        self.model: KLModel | None = None
        self.scale = 1.0

    def prepare(self, context: FitContext) -> None:
        model = context.model
        if not isinstance(model, KLModel) or model.kl_scope not in KL_SCOPES:
            raise ValueError(
                "needs a model with a KL term "
                f"(model=bayes_mlp or model=vae); {type(model).__name__} has none"
            )
        self.batch_dependent = model.kl_scope == "sample"
        self.scale = 1.0 / context.train_size if model.kl_scope == "dataset" else 1.0
        self.model = model

    def bind(self, model: nn.Module) -> None:
        self.model = model  # type: ignore[assignment]

    def penalty(self, outputs: Tensor | None = None) -> Tensor:
        if self.model is None:
            raise RuntimeError(f"regulariser '{self.name}' is not bound to a model (call prepare)")
        return self.model.kl_divergence() * self.scale

    def settings(self) -> dict[str, Any]:
        scope = getattr(self.model, "kl_scope", None)
        return {"weight": self.weight, "beta": self.weight, "scope": scope, "scale": self.scale}

    def label(self) -> str:
        return f"{self.name}(beta={self.weight:g})"
