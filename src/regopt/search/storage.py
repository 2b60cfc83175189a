"""A study's storage from its URL, shared by the sweeper and every trial's job.

`sqlite:///<path>` on one machine (the default, in the sweep dir), `journal:///<path>` for Optuna's
journal file storage (a cluster's shared file system, no database server), any other SQLAlchemy
URL (`postgresql://...`) for a database. The jobs of a joblib or SLURM sweep open the same storage
to report each epoch and ask whether to stop.
"""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

JOURNAL = "journal://"
SQLITE = "sqlite:///"
INTERRUPTED = "regopt_interrupted"

# optuna's SQLite storage imports and runs alembic, whose INFO lines ("Context impl SQLiteImpl")
# say nothing about the sweep
logging.getLogger("alembic").setLevel(logging.WARNING)


def open_storage(url: str) -> BaseStorage:
    """The storage behind `url`; the parent dir of a SQLite or journal file is made."""
    if url.startswith(JOURNAL):
        path = Path(url[len(JOURNAL) :])
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = optuna.storages.journal.JournalFileBackend(str(path))
        return optuna.storages.JournalStorage(backend)
    if url.startswith(SQLITE):
        Path(url[len(SQLITE) :]).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.RDBStorage(url)


def close_interrupted(study: optuna.Study, storage: BaseStorage) -> None:
    """Trials an interruption left RUNNING (the sweep was killed) are marked FAIL and tagged
    `regopt_interrupted`: not done, so a resumed sweep runs as many new ones."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        storage.set_trial_system_attr(trial._trial_id, INTERRUPTED, True)
        study.tell(trial.number, state=TrialState.FAIL)


def trials_done(study: optuna.Study) -> int:
    """Trials that ended on their own (completed, pruned or failed), the ones n_trials counts."""
    return sum(
        t.state.is_finished() and not t.system_attrs.get(INTERRUPTED)
        for t in study.get_trials(deepcopy=False)
    )
