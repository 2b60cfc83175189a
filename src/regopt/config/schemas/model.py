"""Schemas of conf/model/*: the models' settings (input and output sizes come from the data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from regopt.config.rules import NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, PROBABILITY_BELOW_ONE
from regopt.config.schema import key
from regopt.config.schemas.base import Target, schema

ACTIVATION = Literal["relu", "gelu", "tanh", "silu"]


@dataclass
class Layers(Target):
    """Hidden widths, activation and the dropout layers every regopt model has."""

    widths: list[int] = key(POSITIVE_INT)
    activation: ACTIVATION = key()
    dropout: float = key(PROBABILITY_BELOW_ONE)


@schema("model", "regopt.models.mlp.MLP")
@dataclass
class MLP(Layers):
    pass


@schema("model", "regopt.models.bayes_mlp.BayesMLP")
@dataclass
class BayesMLP(Layers):
    prior_std: float = key(POSITIVE)
    init_std: float = key(POSITIVE)
    eval_samples: int = key(NON_NEGATIVE_INT)


@schema("model", "regopt.models.vae.VAE")
@dataclass
class VAE(Layers):
    latent_dim: int = key(POSITIVE_INT)
    likelihood: Literal["bernoulli", "gaussian"] = key()


@schema("model", "regopt.models.cnn.CNN1D")
@dataclass
class CNN1D(Target):
    channels: list[int] = key(POSITIVE_INT)
    kernel_size: int = key(POSITIVE_INT)
    activation: ACTIVATION = key()
    dropout: float = key(PROBABILITY_BELOW_ONE)


@schema("model", "regopt.models.cnn.CNN")
@dataclass
class CNN(Target):
    channels: list[int] = key(POSITIVE_INT)
    hidden: int = key(POSITIVE_INT)
    activation: ACTIVATION = key()
    dropout: float = key(PROBABILITY_BELOW_ONE)
