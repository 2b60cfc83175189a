"""The floor under regopt: the benchmark's job in the barest Lightning loop.

The same model, data, batches (scripts/bench_plain.py's order), optimiser and epochs, in a
LightningModule with nothing but a training and a validation step: no logger, checkpoint,
callback, metric or summary. What it costs over the plain loop is Lightning's own loop; what
regopt costs over it is regopt's. Prints one JSON line, as bench_plain.py does.
"""

from __future__ import annotations

import json
import time
import warnings

import pytorch_lightning as pl
import torch
from torch import nn

from bench_plain import job_arguments, job_data  # scripts/ is on the path when run
from regopt.data.tensor_loader import TensorLoader
from regopt.models.mlp import MLP


class Bare(pl.LightningModule):
    def __init__(self, input_dim: int, classes: int, lr: float) -> None:
        super().__init__()
        self.model, self.lr = MLP(input_dim, classes, widths=[512, 512]), lr
        self.val_loss = torch.zeros(())

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        x, y = batch
        return nn.functional.cross_entropy(self.model(x), y)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.val_loss = nn.functional.cross_entropy(self.model(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.lr)


class FitTimer(pl.Callback):
    """on_fit_start to on_fit_end: the span regopt's summary.json reports as wall_time_s."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds = time.perf_counter() - self.started


def main() -> None:
    args = job_arguments().parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    x_train, y_train, x_val, y_val = job_data(args)
    train = TensorLoader(x_train, y_train, args.batch_size, shuffle=True, seed=args.seed)
    val = TensorLoader(x_val, y_val, 2048, shuffle=False)
    torch.manual_seed(args.seed)
    module = Bare(args.input_dim, args.classes, args.lr)
    timer = FitTimer()
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    trainer.fit(module, train_dataloaders=train, val_dataloaders=val)
    print(json.dumps({"fit_s": timer.seconds, "val_loss": float(module.val_loss)}))


if __name__ == "__main__":
    main()
