"""`sharpness/top_eigenvalue` and `sharpness/trace` (with `sharpness/trace_se`, its standard
error): the curvature of the training data loss at the weights that end the epoch, every
`every_n_epochs` epochs.

Measured on the fixed training subset in eval mode (the function `train_eval/loss` measures; no
dropout noise), on the data loss alone: an L2 penalty of weight lambda would add lambda to every
eigenvalue and lambda times the parameter count to the trace, which says nothing about the data
fit. Sharp minima (a large top eigenvalue) are the ones SAM avoids and that, by the flat-minima
argument, generalise worse; regopt.diagnostics.verdict reads the trend beside the gap.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.diagnostics.epoch_log import EpochDiagnostic
from regopt.diagnostics.gradients import eval_mode
from regopt.diagnostics.hessian import hessian_vector_product, hutchinson_trace, top_eigenvalue
from regopt.diagnostics.subset import Batch, LazySubset
from regopt.ranges import NonNegative, NonNegativeInt, PositiveInt

TOP_EIGENVALUE = "sharpness/top_eigenvalue"
TRACE, TRACE_SE = "sharpness/trace", "sharpness/trace_se"


def subset_loss(pl_module: pl.LightningModule, batches: list[Batch]) -> Tensor:
    """The mean data loss over the subset, in the parameters' dtype (float64 stays float64)."""
    task, total, count = pl_module.task, 0.0, 0
    for x, y in batches:
        total = total + task.loss(pl_module(x), task.targets(x, y)) * len(x)
        count += len(x)
    return total / count  # type: ignore[return-value]


@checked
class Sharpness(EpochDiagnostic):
    """`iterations`: at most this many power iterations (fewer once the estimate changes by less
    than `tol`, relative); `probes`: Rademacher probes of the trace estimate (0: no trace)."""

    def __init__(
        self,
        every_n_epochs: PositiveInt = 20,
        max_samples: PositiveInt = 512,
        iterations: PositiveInt = 20,
        tol: NonNegative = 1e-3,
        probes: NonNegativeInt = 10,
        seed: NonNegativeInt = 0,
    ) -> None:
        self.every_n_epochs = int(every_n_epochs)
        self.subset = LazySubset(max_samples)
        self.iterations, self.tol, self.probes = int(iterations), float(tol), int(probes)
        self.seed = int(seed)

    def logged_keys(self, pl_module: pl.LightningModule) -> set[str]:
        return {TOP_EIGENVALUE, TRACE, TRACE_SE} if self.probes else {TOP_EIGENVALUE}

    def epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch % self.every_n_epochs:
            return
        batches = self.subset.batches(trainer, pl_module)
        if not batches:
            return
        self.record(trainer, self.measure(pl_module, batches))

    def measure(self, pl_module: pl.LightningModule, batches: list[Batch]) -> dict[str, Tensor]:
        """The same probes every time (a generator seeded with `seed`), so epochs compare."""
        params = [p for p in pl_module.parameters() if p.requires_grad]
        generator = torch.Generator().manual_seed(self.seed)
        with eval_mode(pl_module), torch.enable_grad():
            loss = subset_loss(pl_module, batches)
            hvp = hessian_vector_product(loss, params)
            top, _ = top_eigenvalue(hvp, params, generator, self.iterations, self.tol)
            out = {TOP_EIGENVALUE: top}
            if self.probes:
                out[TRACE], out[TRACE_SE] = hutchinson_trace(hvp, params, generator, self.probes)
        return out
