"""Checkpoints written atomically on local disks.

Lightning's own save writes through an fsspec transaction whose temporary file lives in the
system's temp dir; where that is another file system (a tmpfs, a node-local disk under a shared
run dir) the final move is a copy, and a job killed during it leaves a truncated `last.ckpt` that
`resume=auto` cannot load. Here the temporary file is a sibling of the checkpoint, so the final
step is always one rename.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from regopt.record.atomic import replacing


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or "://" in str(path):  # remote: Lightning's own way
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        with replacing(path, "wb") as handle:
            torch.save(checkpoint, handle)
