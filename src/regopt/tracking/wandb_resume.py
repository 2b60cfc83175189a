"""One W&B run per job, across `resume=auto`: the run id kept in the run dir, one step per epoch.

wandb 0.31 offline starts a new `offline-run-<time>-<id>[-N]` dir in every process, even with the
same id: a resumed job leaves one record per process, all with the run's id, which `wandb sync`
uploads in order of start time into that one run. So that they fit together, each epoch is
logged at W&B step = epoch (steps keep rising across processes), and an (epoch, key) that an
earlier record already holds, because the previous process died after logging part of an epoch
that it had not checkpointed yet, is not logged again.

A killed process's record loses what wandb's service had not yet written (seen with wandb 0.31:
after a SIGKILL a few epochs in, the record held its 7-byte header only). So a resumed process
first logs the epochs its checkpoint has trained that no earlier record holds, from the rows of
the local record that travel in the checkpoint (`EpochRowsCheckpoint`): the run keeps every epoch.
"""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path
from typing import Any

from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only

from regopt.record.atomic import write_text_atomic
from regopt.record.epoch_csv import KEY as CHECKPOINT_ROWS
from regopt.record.epoch_csv import rows_from_checkpoint
from regopt.tracking.keys import EPOCH
from regopt.tracking.offline_records import records

ID_FILE = "wandb_run_id"


def new_run_id() -> str:
    alphabet = string.ascii_lowercase + string.digits  # what W&B's own run ids are made of
    return "".join(secrets.choice(alphabet) for _ in range(8))


def run_id(run_dir: Path) -> str:
    """The id this run dir's W&B run already has, else a new one."""
    try:
        kept = (run_dir / ID_FILE).read_text().strip()
    except OSError:
        kept = ""
    return kept or new_run_id()


def remember_run_id(run_dir: Path, wandb_id: str) -> None:
    if rank_zero_only.rank == 0:
        write_text_atomic(run_dir / ID_FILE, wandb_id + "\n")


def logged_before(run_dir: Path, wandb_id: str) -> dict[int, set[str]]:
    """Epoch -> the keys the earlier records of this run logged at it (offline or online ones:
    both keep `run-<id>.wandb`). A record cut off by a kill is read up to its last whole chunk."""
    seen: dict[int, set[str]] = {}
    for path in sorted(run_dir.glob(f"wandb/*-{wandb_id}*/run-{wandb_id}.wandb")):
        try:
            for record in records(path):
                if record.WhichOneof("record_type") != "history":
                    continue
                # a key is `key`, or the first of `nested_key` (wandb-core writes either)
                row = {
                    (item.nested_key or [item.key])[0]: item.value_json
                    for item in record.history.item
                }
                if EPOCH in row:
                    seen.setdefault(int(json.loads(row[EPOCH])), set()).update(row)
        except (OSError, ValueError):  # a torn last chunk: what came before it stands
            continue
    return seen


def checkpoint_rows(run_dir: Path) -> list[dict[str, float]]:
    """The local record's rows that `last.ckpt` carries: every epoch it has trained."""
    import torch

    checkpoint = torch.load(
        run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
    )  # data, never code, as when resuming
    saved = checkpoint.get(CHECKPOINT_ROWS)
    return rows_from_checkpoint(saved) if saved else []


def backfill(run: Any, run_dir: Path, logged: dict[int, set[str]]) -> int:
    """Log what the checkpoint's rows hold and no earlier record does; returns how many rows.
    An epoch that the resumed run trains again is then skipped, as `logged` now holds it."""
    filled = 0
    for row in checkpoint_rows(run_dir):
        epoch = int(row[EPOCH])
        done = logged.get(epoch, set()) | {"step"}  # Lightning's step: W&B's trainer/global_step
        missing = {k: v for k, v in row.items() if k not in done}
        if set(missing) - {EPOCH}:
            run.log({**missing, EPOCH: epoch}, step=epoch)
            logged.setdefault(epoch, set()).update(missing)
            filled += 1
    return filled


class EpochStepWandbLogger(WandbLogger):
    """Lightning's WandbLogger, logging each epoch's metrics at W&B step = epoch (one history row
    per epoch) and skipping what `logged` says an earlier process of the run already logged."""

    def __init__(self, *args: Any, logged: dict[int, set[str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._logged = logged or {}
        self._epoch = 0

    @property
    def experiment(self) -> Any:
        """Lightning's run, except that another logger's run of this process is never reused
        (Lightning would log into it): each logger starts its own, so each member of a stack
        (regopt.stacked) has its W&B run, as its separate run would."""
        if self._experiment is None:
            import wandb

            if wandb.run is not None:
                self._wandb_init["reinit"] = "create_new"  # leave the other run as it is
                wandb.run = None
        return WandbLogger.experiment.fget(self)  # type: ignore[attr-defined]

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        # a stock callback (LearningRateMonitor) logs without an epoch: it joins the latest one
        self._epoch = int(metrics.get(EPOCH, self._epoch))
        done = self._logged.get(self._epoch, set())
        row = {key: value for key, value in metrics.items() if key not in done}
        if step is not None and "trainer/global_step" not in done:
            row["trainer/global_step"] = step
        if set(row) - {"trainer/global_step"}:
            self.experiment.log({EPOCH: self._epoch, **row}, step=self._epoch)
