"""How hard the data loss and the penalties pull on the weights: `grad/data`, `grad/penalty/<name>`,
`grad/penalties` (their sum) and `grad/ratio` = penalties / data, every `every_n_epochs` epochs.

Measured at the weights that end the epoch, on the fixed training subset in eval mode (no dropout
noise), with `torch.autograd.grad`: the parameters' `.grad` and the optimiser are never touched.
A ratio near 1 means the penalty balances the data term; near 0, the penalty barely acts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from regopt.config.signature import checked
from regopt.diagnostics.epoch_log import EpochDiagnostic
from regopt.diagnostics.subset import LazySubset, evaluate
from regopt.ranges import PositiveInt
from regopt.tracking.keys import GRAD_DATA, GRAD_PENALTIES, GRAD_RATIO


def _norm(grads: Sequence[Tensor | None], like: Tensor) -> Tensor:
    norms = [torch.linalg.vector_norm(g.float()) for g in grads if g is not None]
    return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros_like(like)


def gradient_norms(
    params: Sequence[nn.Parameter], data_loss: Tensor, penalties: dict[str, Tensor]
) -> dict[str, Tensor]:
    params = list(params)
    data_grads = torch.autograd.grad(data_loss, params, allow_unused=True)
    out = {GRAD_DATA: _norm(data_grads, data_loss)}
    if not penalties:
        return out
    summed: list[Tensor | None] = [None] * len(params)
    for name, value in penalties.items():
        if not value.requires_grad:
            continue
        grads = torch.autograd.grad(value, params, allow_unused=True)
        out[f"grad/penalty/{name}"] = _norm(grads, data_loss)
        summed = [
            g if s is None else (s if g is None else s + g)
            for s, g in zip(summed, grads, strict=True)
        ]
    out[GRAD_PENALTIES] = _norm(summed, data_loss)
    out[GRAD_RATIO] = out[GRAD_PENALTIES] / out[GRAD_DATA].clamp_min(1e-12)
    return out


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Eval mode for the block, then every submodule's own mode back."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


@checked
class GradientNorms(EpochDiagnostic):
    def __init__(self, every_n_epochs: PositiveInt = 5, max_samples: PositiveInt = 512) -> None:
        self.every_n_epochs = int(every_n_epochs)
        self.subset = LazySubset(max_samples)

    def logged_keys(self, pl_module: pl.LightningModule) -> set[str]:
        return {GRAD_DATA, GRAD_PENALTIES, GRAD_RATIO, "grad/penalty/*"}

    def epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch % self.every_n_epochs:
            return
        batches = self.subset.batches(trainer, pl_module)
        if not batches:
            return
        params = [p for p in pl_module.parameters() if p.requires_grad]
        with eval_mode(pl_module), torch.enable_grad():
            data = evaluate(pl_module, batches, with_metrics=False)
            penalties = pl_module.objective.weighted_penalties()
            stats = gradient_norms(params, data["loss"], penalties)
        self.record(trainer, {k: v.detach() for k, v in stats.items()})
