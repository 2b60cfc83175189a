"""A `monitor` key that no metric of the run has is refused before training, in one line.

Lightning finds out only after the first epoch (a traceback, and a run marked failed). Every part of
a run that logs says what it logs (`logged_keys`: the module, each diagnostic, the learning-rate
log), so the keys are known before the first step. A callback that logs without saying what (a
user's, or a stock one such as LearningRateMonitor) makes the set unknown: then nothing is refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import (
    EarlyStopping,
    ModelCheckpoint,
    ModelSummary,
    ProgressBar,
)

from regopt.config.errors import ConfigError

SILENT = (ModelCheckpoint, EarlyStopping, ModelSummary, ProgressBar)  # Lightning's, log nothing


def logged_keys(module: pl.LightningModule, callbacks: Iterable[Any]) -> set[str] | None:
    """The keys (and `prefix/*` patterns) the run will log; None when a callback does not say."""
    keys = set(module.logged_keys())
    for callback in callbacks:
        if hasattr(callback, "logged_keys"):
            keys |= set(callback.logged_keys(module))
        elif not isinstance(callback, SILENT):
            return None
    return keys


def check_monitors(module: pl.LightningModule, named: Sequence[tuple[str, Any]]) -> None:
    """`named`: (config key, callback) of every configured callback and diagnostic."""
    keys = logged_keys(module, [callback for _, callback in named])
    if keys is None:
        return
    for where, callback in named:
        monitor = getattr(callback, "monitor", None)
        if not isinstance(monitor, str) or any(fnmatchcase(monitor, key) for key in keys):
            continue
        concrete = sorted(key for key in keys if "*" not in key)
        close = difflib.get_close_matches(monitor, concrete, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ConfigError(
            f"{where}.monitor={monitor!r} is not a metric this run logs; {hint}allowed: "
            f"{', '.join(concrete)}"
        )
