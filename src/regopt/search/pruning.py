"""The job's side of a pruned study: report the monitored metric each validated epoch, stop when
the pruner says so.

The sweeper asks the study for a trial and passes the job its number (`hparams_search.trial`),
with the study's name and storage; this callback opens that trial in the shared storage (SQLite,
a journal file or a database, so joblib and SLURM jobs reach it too), reports `monitor` at every
validated epoch and asks `should_prune`. A pruned run does not raise (as optuna-integration's
PyTorchLightningPruningCallback does): it sets `trainer.should_stop`, so the epoch finishes, its
row, checkpoint and W&B step are written, and the run ends with status `pruned` (RunRecord reads
`pruned_at`). The sweeper then tells the study PRUNED. Without a trial number (a single run) it
does nothing, and so does a trial of a multi-objective study (Optuna takes no intermediate values
there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from regopt.ranges import NonNegativeInt


class StudyPruning(Callback):
    def __init__(
        self,
        storage: str | None,
        study_name: str,
        trial: NonNegativeInt | None = None,
        monitor: str = "val/loss",
        objectives: Sequence[str] = ("val/loss",),
        pruner: Any = None,
    ) -> None:
        from optuna.pruners import NopPruner

        if len(objectives) > 1 and pruner is not None and not isinstance(pruner, NopPruner):
            raise ValueError(
                "pruner: Optuna prunes single-objective studies only; with "
                f"{len(objectives)} objectives use hparams_search/pruner=none"
            )
        self.storage, self.study_name, self.trial = storage, study_name, trial
        self.monitor, self.objectives, self.pruner = monitor, list(objectives), pruner
        self.pruned_at: dict[str, Any] | None = None  # the epoch and value it was pruned at
        self._trial: Any = None

    def logged_keys(self, module: pl.LightningModule) -> set[str]:
        return set()  # it reads `monitor`, logs nothing

    @property
    def reports(self) -> bool:
        """Whether this job reports to a trial: Optuna takes intermediate values (and prunes)
        in single-objective studies only."""
        return self.trial is not None and len(self.objectives) == 1

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.reports or not trainer.is_global_zero:
            return
        if self.storage is None:
            raise ValueError("hparams_search.trial is set but hparams_search.storage is not")
        import optuna

        from regopt.search.storage import open_storage

        storage = open_storage(self.storage)
        study = optuna.load_study(study_name=self.study_name, storage=storage, pruner=self.pruner)
        study_id = storage.get_study_id_from_name(self.study_name)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self.trial)
        self._trial = optuna.trial.Trial(study, trial_id)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.reports or trainer.sanity_checking:
            return
        epoch, stop, value = trainer.current_epoch, False, math.nan
        if self._trial is not None:  # the global-zero process
            metric = trainer.callback_metrics.get(self.monitor)
            value = float(metric) if metric is not None else math.nan
            if math.isfinite(value):  # a non-finite loss is the divergence check's to stop
                self._trial.report(value, step=epoch)
                stop = self._trial.should_prune()
        if trainer.strategy.broadcast(stop):
            self.pruned_at = {"epoch": epoch, self.monitor: value}
            trainer.should_stop = True
