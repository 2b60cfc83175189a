"""`spectral/<layer>/alpha`: the power-law exponent of each layer's empirical spectral density,
the eigenvalues of W^T W (the squared singular values of W), and `spectral/alpha`, their mean,
every `every_n_epochs` epochs.

Heavy-tailed self-regularisation (Martin & Mahoney 2021, WeightWatcher): training that learns
correlations fattens the spectrum's tail; alpha in about 2-6 is the well-trained range, a larger
alpha a layer that learned little (random-like), a smaller one a layer that may be over-fit. It
needs no data, only the weights. A convolution's kernel is read as a matrix (out, in x kernel).
Layers with fewer than `min_evals` eigenvalues are left out (the fit would be noise).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import Tensor

from regopt.config.signature import checked
from regopt.diagnostics.epoch_log import EpochDiagnostic
from regopt.diagnostics.powerlaw import fit_power_law
from regopt.diagnostics.weights import layer_name
from regopt.params import select_parameters
from regopt.ranges import PositiveInt

ALPHA = "spectral/alpha"


def spectra(model: torch.nn.Module, min_evals: int) -> dict[str, Tensor]:
    """layer -> eigenvalues of W^T W, for the layers with at least `min_evals` of them."""
    out = {}
    with torch.no_grad():
        for name, param in select_parameters(model, "weights"):
            if param.dim() < 2:
                continue
            matrix = param.detach().reshape(param.shape[0], -1).double()
            if min(matrix.shape) >= min_evals:
                out[layer_name(name)] = torch.linalg.svdvals(matrix) ** 2
    return out


@checked
class SpectralAlpha(EpochDiagnostic):
    def __init__(self, every_n_epochs: PositiveInt = 10, min_evals: PositiveInt = 50) -> None:
        self.every_n_epochs = int(every_n_epochs)
        self.min_evals = int(min_evals)

    def logged_keys(self, pl_module: pl.LightningModule) -> set[str]:
        return {ALPHA, "spectral/*"}

    def epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch % self.every_n_epochs:
            return
        alphas = self.measure(getattr(pl_module, "model", pl_module))
        if alphas:
            self.record(trainer, {k: torch.tensor(v) for k, v in alphas.items()})

    def measure(self, model: torch.nn.Module) -> dict[str, float]:
        """The fits run on the host (numpy): one transfer of each layer's spectrum."""
        alphas = {
            f"spectral/{layer}/alpha": fit_power_law(evals.cpu().numpy()).alpha
            for layer, evals in spectra(model, self.min_evals).items()
        }
        if alphas:
            alphas[ALPHA] = sum(alphas.values()) / len(alphas)
        return alphas
