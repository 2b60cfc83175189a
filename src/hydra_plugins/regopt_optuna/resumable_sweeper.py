"""An Optuna sweeper whose study survives an interruption.

hydra-optuna-sweeper already loads an existing study from its storage, but it then runs `n_trials`
*more* trials and numbers the new jobs from 0, over the old job dirs. Here `n_trials` is the
study's total: a resumed sweep runs only the trials still missing, numbers its jobs after the
ones already started, and marks trials left `RUNNING` by the interruption as failed.

A job that failed or diverged returns NaN (regopt.pipeline.run). The plugin would tell optuna
COMPLETE with NaN, which optuna refuses, then FAIL *with* the NaN, which it refuses too, ending the
whole study at the first bad trial. Here such a job reaches the plugin as a failed job, so its
trial is told FAIL and the study goes on; a study in which no trial completed ends with a warning.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper

log = logging.getLogger("regopt")
# optuna's SQLite storage imports and runs alembic, whose INFO lines ("setup plugin ...", "Context
# impl SQLiteImpl") say nothing about the sweep
logging.getLogger("alembic").setLevel(logging.WARNING)


INTERRUPTED = "regopt_interrupted"


def study_progress(study_name: str | None, storage_url: str | None) -> tuple[int, int]:
    """(trials that ended on their own, trials started) of a stored study.

    Trials left RUNNING by an interruption are marked FAIL (tagged `regopt_interrupted`) and not
    counted as done, so the resumed sweep runs them again as new trials.
    """
    if not storage_url or not study_name:
        return 0, 0
    import optuna
    from optuna.trial import TrialState

    storage = optuna.storages.get_storage(storage_url)
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return 0, 0
    trials = storage.get_all_trials(study_id, deepcopy=False)
    for trial in trials:
        if trial.state == TrialState.RUNNING:
            storage.set_trial_system_attr(trial._trial_id, INTERRUPTED, True)
            storage.set_trial_state(trial._trial_id, TrialState.FAIL)
    trials = storage.get_all_trials(study_id, deepcopy=False)
    ended = [t for t in trials if t.state.is_finished() and not t.system_attrs.get(INTERRUPTED)]
    return len(ended), len(trials)


def sqlite_path(storage_url: str | None) -> Path | None:
    prefix = "sqlite:///"
    if storage_url and storage_url.startswith(prefix):
        return Path(storage_url[len(prefix) :])
    return None


class TrialFailed(RuntimeError):
    """A job that ended `failed` or `diverged` (its summary.json says which, and why)."""


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


class NaNFailsTrial:
    """Wraps the plugin's launcher: a job that returned NaN is handed back as a failed job."""

    def __init__(self, launcher: Any) -> None:
        self.launcher = launcher

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
        returns: Sequence[JobReturn] = self.launcher.launch(job_overrides, initial_job_idx)
        for ret in returns:
            if ret.status == JobStatus.COMPLETED and _is_nan(ret._return_value):
                where = f"{ret.working_dir}/summary.json" if ret.working_dir else "summary.json"
                ret.status = JobStatus.FAILED
                ret.return_value = TrialFailed(f"the job failed or diverged: see {where}")
        return returns


def ended_without_a_result(study_name: str | None, storage_url: str | None, total: int) -> bool:
    """Whether all `total` trials of the stored study have ended and none completed: then the
    plugin's `study.best_trial` raises (optuna's message depends on the storage)."""
    import optuna
    from optuna.trial import TrialState

    if not storage_url or not study_name:
        return False
    study = optuna.load_study(study_name=study_name, storage=storage_url)
    trials = study.get_trials(deepcopy=False)
    ended = len(trials) >= total and all(t.state.is_finished() for t in trials)
    return ended and not any(t.state == TrialState.COMPLETE for t in trials)


class ResumableOptunaSweeper(OptunaSweeper):
    def sweep(self, arguments: list[str]) -> Any:
        impl = self.sweeper
        database = sqlite_path(impl.storage)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)  # SQLite makes no parent dirs
        finished, started = study_progress(impl.study_name, impl.storage)
        remaining = max(0, impl.n_trials - finished)
        if finished:
            log.info(f"resuming study '{impl.study_name}': {finished} trials done, "
                     f"{remaining} to go (n_trials={impl.n_trials} in all)")  # fmt: skip
        impl.n_trials = remaining
        impl.job_idx = started
        if remaining == 0:
            log.info(f"study '{impl.study_name}' already has {finished} trials: nothing to run")
            return None
        if not isinstance(impl.launcher, NaNFailsTrial):
            impl.launcher = NaNFailsTrial(impl.launcher)
        try:
            return impl.sweep(arguments)
        except ValueError:  # optuna's best_trial, when no trial completed
            if not ended_without_a_result(impl.study_name, impl.storage, started + remaining):
                raise
            log.error(f"study '{impl.study_name}': no trial completed (each job's summary.json "
                      "says why); no best parameters")  # fmt: skip
            return None
