"""What a training step costs beyond its arithmetic: a tiny model, so a step is nearly all overhead.

An 8-8-10 MLP on 20,000 samples, batch 16, Adam, 2 epochs (2,500 steps), one thread, in one
process: the plain loop, the barest Lightning loop, and regopt's fit with its callbacks and
diagnostics off and on. Prints microseconds per step (best of --reps) as one JSON line; bench.py
puts it in docs/benchmarks.md. A real model's step adds its arithmetic to all of them equally.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict
from torch import nn

from regopt.config.cli_errors import CONFIG_DIR
from regopt.config.resolvers import register_resolvers
from regopt.data.gaussian import gaussian_classes
from regopt.data.tensor_loader import TensorLoader
from regopt.models.mlp import MLP

N, BATCH, EPOCHS, DIM = 20_000, 16, 2, 8
STEPS = EPOCHS * N // BATCH


def plain(x: torch.Tensor, y: torch.Tensor) -> float:
    torch.manual_seed(0)
    model = MLP(DIM, 10, widths=[8])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(N, generator=torch.Generator().manual_seed(epoch))
        total = torch.zeros(())
        for start in range(0, N, BATCH):
            index = order[start : start + BATCH]
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        model.eval()
        with torch.no_grad():
            nn.functional.cross_entropy(model(x[N:]), y[N:]).item()
        total.item()
    return time.perf_counter() - started


class Bare(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.model = MLP(DIM, 10, widths=[8])

    def training_step(self, batch, batch_idx):
        return nn.functional.cross_entropy(self.model(batch[0]), batch[1])

    def validation_step(self, batch, batch_idx) -> None:
        nn.functional.cross_entropy(self.model(batch[0]), batch[1])

    def configure_optimizers(self):
        return torch.optim.Adam(self.model.parameters(), lr=1e-3)


class FitTimer(pl.Callback):
    def on_fit_start(self, trainer, pl_module) -> None:
        self.started = time.perf_counter()

    def on_fit_end(self, trainer, pl_module) -> None:
        self.seconds = time.perf_counter() - self.started


def bare_lightning(x: torch.Tensor, y: torch.Tensor) -> float:
    torch.manual_seed(0)
    timer = FitTimer()
    trainer = pl.Trainer(
        max_epochs=EPOCHS,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    trainer.fit(
        Bare(),
        TensorLoader(x[:N], y[:N], BATCH, shuffle=True, seed=0),
        TensorLoader(x[N:], y[N:], 2048, shuffle=False),
    )
    return timer.seconds


def regopt(extra: list[str]) -> float:
    from regopt.pipeline import fit

    overrides = [
        "logger=none",
        "data=synthetic",
        f"data.n_train={N}",
        f"data.input_dim={DIM}",
        "model.widths=[8]",
        "regularizer=none",
        f"data.batch_size={BATCH}",
        f"trainer.max_epochs={EPOCHS}",
        "optimizer=adam",
        "threads=1",
        *extra,
    ]
    with (
        tempfile.TemporaryDirectory() as run_dir,
        initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"),
    ):
        cfg = compose(
            "train", [*overrides, f"paths.output_dir={run_dir}"], return_hydra_config=True
        )
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
        return fit(cfg, Path(run_dir))["wall_time_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    register_resolvers()
    x, y = gaussian_classes(N + 2000, DIM, 10, 4.0, 0)
    variants = {
        "plain": lambda: plain(x, y),
        "lightning": lambda: bare_lightning(x, y),
        "regopt_off": lambda: regopt(["callbacks=none", "diagnostics=none"]),
        "regopt": lambda: regopt([]),
    }
    best = {name: float("inf") for name in variants}
    for _ in range(args.reps):
        for name, run in variants.items():
            best[name] = min(best[name], run())
    per_step = {name: round(1e6 * seconds / STEPS, 1) for name, seconds in best.items()}
    print(json.dumps(per_step), file=sys.stdout)


if __name__ == "__main__":
    main()
