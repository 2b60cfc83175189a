"""Weight norms (L2 and L1, per layer and in total) and sparsity, once per epoch, on the device.

The weights are those the penalties cover by default (`regopt.params`, rule `weights`: matrices and
kernels, no biases or normalisation). The L2 norm here is the plain norm sqrt(sum w^2), not the
penalty's 0.5 * sum w^2. Sparsity is the fraction of weights with |w| < `sparsity_tol`.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.diagnostics.epoch_log import EpochDiagnostic
from regopt.params import select_parameters
from regopt.ranges import NonNegative
from regopt.tracking.keys import WEIGHT_L1, WEIGHT_L2, WEIGHT_SPARSITY


def layer_name(param_name: str) -> str:
    return param_name.removesuffix(".weight")


def weight_stats(named: list[tuple[str, nn.Parameter]], tol: float) -> dict[str, Tensor]:
    """`weights/{l2,l1,sparsity}` in total and `weights/{l2,l1,sparsity}/<layer>` per layer."""
    if not named:
        return {}
    stats: dict[str, Tensor] = {}
    squares, absolutes, small, count = [], [], [], 0
    with torch.no_grad():
        for name, param in named:
            w = param.detach().float()
            square, absolute = w.pow(2).sum(), w.abs().sum()
            below = (w.abs() < tol).sum()
            layer = layer_name(name)
            stats[f"{WEIGHT_L2}/{layer}"] = square.sqrt()
            stats[f"{WEIGHT_L1}/{layer}"] = absolute
            stats[f"{WEIGHT_SPARSITY}/{layer}"] = below.float() / w.numel()
            squares.append(square)
            absolutes.append(absolute)
            small.append(below)
            count += w.numel()
        stats[WEIGHT_L2] = torch.stack(squares).sum().sqrt()
        stats[WEIGHT_L1] = torch.stack(absolutes).sum()
        stats[WEIGHT_SPARSITY] = torch.stack(small).sum().float() / count
    return stats


@checked
class WeightStats(EpochDiagnostic):
    def __init__(self, sparsity_tol: NonNegative = 1e-3, per_layer: bool = True) -> None:
        self.sparsity_tol = float(sparsity_tol)
        self.per_layer = bool(per_layer)

    def logged_keys(self, pl_module: pl.LightningModule) -> set[str]:
        keys = {WEIGHT_L2, WEIGHT_L1, WEIGHT_SPARSITY}
        return keys | {f"{key}/*" for key in keys} if self.per_layer else keys

    def epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        model = getattr(pl_module, "model", pl_module)
        stats = weight_stats(select_parameters(model, "weights"), self.sparsity_tol)
        if not self.per_layer:
            stats = {k: v for k, v in stats.items() if k.count("/") == 1}
        self.record(trainer, stats)
