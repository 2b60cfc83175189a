"""summary.json: the few numbers a reader of a sweep wants, and what produced them."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.utilities.exceptions import SIGTERMException

from regopt.diagnostics.verdict import Diagnosis, VerdictRules, diagnose_rows
from regopt.divergence import Diverged
from regopt.interrupt import signal_name
from regopt.record.atomic import write_json_atomic
from regopt.record.epoch_csv import EpochCSVLogger

FINAL_KEYS = (
    "train/loss",
    "train/loss_data",
    "train/acc",
    "val/loss",
    "val/acc",
    "train_eval/loss",
    "train_eval/acc",
    "gap/loss",
    "gap/acc",
)
# The regression task's metrics: in `final` (and `val/*` in `best`) only when the run logged them.
TASK_KEYS = tuple(
    f"{part}/{metric}"
    for part in ("train", "val", "train_eval", "gap")
    for metric in ("mse", "mae")
)
MONITOR = "val/loss"
PENALTY_PREFIXES = (
    "penalty/",
    "train/penalty/",
    "train/unweighted/",
    "val/penalty/",
    "val/unweighted/",
)


def final_row(rows: list[dict[str, float]]) -> dict[str, float]:
    """The last validated epoch's row (the last row when none was validated): with
    `check_val_every_n_epoch` > 1 the last epoch may have no val/loss and no gaps to report."""
    validated = [row for row in rows if MONITOR in row]
    return validated[-1] if validated else (rows[-1] if rows else {})


def final_and_best(rows: list[dict[str, float]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`final`: the last validated epoch's values (`final_row`). `best`: the epoch of lowest
    val/loss, its loss and acc."""
    last = final_row(rows)
    final = {key: last.get(key) for key in FINAL_KEYS}
    for key in last:
        if key.startswith(PENALTY_PREFIXES) or key in TASK_KEYS:
            final[key] = last[key]
    scored = [r for r in rows if MONITOR in r and math.isfinite(r[MONITOR])]
    if not scored:
        return final, {"val/loss": None, "val/acc": None, "epoch": None}
    best_row = min(scored, key=lambda r: r[MONITOR])
    best = {
        "val/loss": best_row[MONITOR],
        "val/acc": best_row.get("val/acc"),
        "epoch": int(best_row["epoch"]),
    }
    best.update({k: best_row[k] for k in TASK_KEYS if k.startswith("val/") and k in best_row})
    return final, best


def diagnosis_for(
    status: str,
    rows: list[dict[str, float]],
    rules: VerdictRules,
    extra: dict[str, Any],
    fast_dev_run: int = 0,
) -> Diagnosis | None:
    """The overfitting verdict once fitting has ended; none while it runs. `fast_dev_run`: the
    batches Lightning's smoke test ran of each loop (a check of the code, not a curve)."""
    if status == "running":
        return None
    if fast_dev_run and status == "completed":
        batches = f"{fast_dev_run} batch{'es' if fast_dev_run > 1 else ''}"
        return Diagnosis(
            "fast_dev_run",
            f"fast_dev_run: {batches} of training and of validation ran, a check of the code; "
            "no curve to judge",
        )
    if status == "pruned":  # its own outcome: the study stopped it, the curve was cut short
        at = extra.get("pruned_at") or {}
        return Diagnosis(
            "pruned",
            f"pruned at epoch {at.get('epoch')} by the study's pruner "
            f"({MONITOR} {at.get(MONITOR, float('nan')):.4g}): no curve to judge",
        )
    if status == "diverged":
        at = extra.get("diverged_at") or {}
        return Diagnosis(
            "diverged",
            f"diverged at epoch {at.get('epoch')}, step {at.get('step')}: the training loss was "
            f"{at.get('loss')}",
        )
    return diagnose_rows(rows, rules)


class RunRecord(Callback):
    """Writes summary.json at the start (`running`) and at the end (`completed`, `pruned` by an
    Optuna study, `diverged`, `failed`, `interrupted` by Ctrl-C or SIGTERM) of fitting, on the
    global-zero process only. At the end it holds the overfitting verdict (`onset_epoch`,
    `verdict`, and the numbers behind them in `diagnosis`). `pruning`: the study's callback
    (regopt.search.pruning), whose `pruned_at` says the fit ended because the study stopped it."""

    def __init__(
        self,
        path: str | Path,
        static: dict[str, Any],
        rules: VerdictRules | None = None,
        pruning: Any = None,
    ) -> None:
        self.path = Path(path)
        self.static = static
        self.rules = rules or VerdictRules()
        self.pruning = pruning
        self._start = time.perf_counter()
        self._before = 0.0  # seconds of earlier starts, up to the checkpoint this one resumed

    def _wall_time(self) -> float:
        return self._before + time.perf_counter() - self._start

    def state_dict(self) -> dict[str, float]:
        """In every checkpoint: a resumed run's wall time adds up over its starts (the time after
        the checkpoint, trained again on resume, is counted once)."""
        return {"wall_time_s": self._wall_time()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._before = float(state_dict.get("wall_time_s", 0.0))

    def _write(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, status: str, **extra: Any
    ) -> None:
        if not trainer.is_global_zero:
            return
        rows = next((lg.rows for lg in trainer.loggers if isinstance(lg, EpochCSVLogger)), [])
        final, best = final_and_best(rows)
        fast_dev_run = int(trainer.fast_dev_run or 0)
        diagnosis = diagnosis_for(status, rows, self.rules, extra, fast_dev_run)
        summary = {
            "status": status,
            **extra,
            **({"fast_dev_run": fast_dev_run} if fast_dev_run else {}),
            "onset_epoch": diagnosis.onset_epoch if diagnosis else None,
            "verdict": diagnosis.verdict if diagnosis else None,
            "diagnosis": diagnosis.to_dict() if diagnosis else None,
            "seed": self.static.get("seed"),
            "epochs": len(rows),
            "final_epoch": int(final_row(rows)["epoch"]) if rows else None,
            "wall_time_s": round(self._wall_time(), 3),
            "final": final,
            "best": best,
            **self.static,
        }
        write_json_atomic(self.path, summary)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()
        self._write(trainer, pl_module, "running")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        pruned_at = getattr(self.pruning, "pruned_at", None)
        if pruned_at is not None:
            self._write(trainer, pl_module, "pruned", pruned_at=pruned_at)
        else:
            self._write(trainer, pl_module, "completed")

    def on_diverged(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, diverged: Diverged
    ) -> None:
        """A result, not an error: the record says where, and keeps the completed epochs."""
        _flush_record(trainer)
        self._write(trainer, pl_module, "diverged", diverged_at=diverged.where())

    def _status_on_disk(self) -> str | None:
        try:
            return json.loads(self.path.read_text()).get("status")
        except (OSError, ValueError):
            return None

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        _flush_record(trainer)
        if isinstance(exception, Diverged) or self._status_on_disk() == "diverged":
            return  # recorded by on_diverged (in a ddp_spawn child, whose parent gets here)
        if isinstance(exception, KeyboardInterrupt | SIGTERMException):  # Ctrl-C, SIGTERM
            self._write(trainer, pl_module, "interrupted", signal=signal_name(exception))
            return
        error = f"{type(exception).__name__}: {exception}"
        self._write(trainer, pl_module, "failed", error=error)


def _flush_record(trainer: pl.Trainer) -> None:
    for logger in trainer.loggers:
        if isinstance(logger, EpochCSVLogger):
            logger.flush()
