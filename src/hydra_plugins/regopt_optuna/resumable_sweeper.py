"""An Optuna sweeper whose study survives an interruption.

hydra-optuna-sweeper already loads an existing study from its storage, but it then runs `n_trials`
*more* trials and numbers the new jobs from 0, over the old job dirs. Here `n_trials` is the
study's total: a resumed sweep runs only the trials still missing, numbers its jobs after the
ones already started, and marks trials left `RUNNING` by the interruption as failed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper

log = logging.getLogger("regopt")


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
        return impl.sweep(arguments)
