"""Arrays cached on disk, and generators run without touching the global random state.

A data set that is generated or downloaded once is saved as `.npz` under `paths.data_dir`; a
second run loads the file. The file name carries a hash of what produced it, so changing a
generation setting makes a new file instead of silently reusing a stale one.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch


def cache_path(data_dir: str | Path, name: str, settings: dict[str, Any]) -> Path:
    """`<data_dir>/<name>_<hash of settings>.npz`."""
    key = json.dumps(settings, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(data_dir).expanduser() / f"{name}_{digest}.npz"


def cached_arrays(path: Path, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays in `path`, made by `make` and saved there (atomically) when it is missing."""
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}
    arrays = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez_compressed(out, **arrays)
        os.replace(tmp, path)  # two jobs writing at once: the last complete file wins
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return arrays


@contextmanager
def preserved_global_rng() -> Iterator[None]:
    """Run a block that reseeds `random`, numpy or torch globally, then put all three back:
    generating data must not change the seeded run that follows."""
    py_state, np_state, torch_state = (
        random.getstate(),
        np.random.get_state(),
        torch.get_rng_state(),
    )
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
