"""Save and restore the random generators with each checkpoint, so a resumed run continues the
same random stream (dropout masks, input noise) as an uninterrupted one.

Lightning's checkpoints restore weights, optimiser, schedulers and loops, not the generators. The
states are stored as tensors and plain Python values, which `weights_only=True` loading accepts.
They are restored when training starts, not when the checkpoint is loaded: what fit start does in
between (the model summary's forward pass, a sanity check: a Bayesian model's forward draws
weights) the uninterrupted run did before the stream the checkpoint holds.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

KEY = "regopt_rng"


def capture() -> dict[str, Any]:
    kind, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": _python_state(),
    }


def _python_state() -> dict[str, Any]:
    """Python's generator state with its 625 words in one tensor: torch.save pays a Python call for
    every object it pickles, and the state's tuple of ints made that a third of a checkpoint."""
    version, words, gauss = random.getstate()
    return {"version": version, "words": torch.tensor(words, dtype=torch.int64), "gauss": gauss}


def restore(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached"],
        )
    )
    python = state["python"]
    random.setstate((python["version"], tuple(python["words"].tolist()), python["gauss"]))


class RngStateCheckpoint(Callback):
    def __init__(self) -> None:
        self._loaded: dict[str, Any] | None = None

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[KEY] = capture()

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self._loaded = checkpoint.get(KEY)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._loaded is not None:
            restore(self._loaded)
            self._loaded = None
