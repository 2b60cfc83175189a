"""A Hydra sweeper on Optuna's ask-and-tell API, with a study that survives an interruption.

It asks the study for a batch of `n_jobs` trials, launches one job per trial with whatever
launcher the sweep uses (basic, joblib, SLURM), passing each job the study's name, its storage
and the trial's number (`hparams_search.*`), so the job's StudyPruning callback reports each
epoch and may be pruned; then it reads each job's record and tells the study (regopt.search
.outcome): COMPLETE with its values, PRUNED, or FAIL for a failed or diverged job, and the study
goes on. The study lives in `hparams_search.storage` (default: SQLite in the sweep dir).

`n_trials` is the study's total: a resumed sweep (the same command, the same `hydra.sweep.dir`)
runs only the trials still missing. Job numbers are trial numbers, so a resumed sweep's jobs
follow the ones already started; trials a kill left RUNNING are marked FAIL (tagged
`regopt_interrupted`) and replaced. The search space is `params` plus the command line's sweep
overrides, in the syntax of Hydra's Optuna sweeper (regopt.search.space).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("regopt")
STUDY_FILE = "study.yaml"  # in the sweep dir: where the report finds the study


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        n_trials: int,
        n_jobs: int = 1,
        sampler: Any = None,
        params: dict[str, str] | None = None,
    ) -> None:
        self.n_trials, self.n_jobs = int(n_trials), max(1, int(n_jobs))
        self.sampler, self.params = sampler, dict(params or {})
        self.config: DictConfig | None = None
        self.launcher: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> None:
        import optuna

        from regopt.search.space import search_space
        from regopt.search.storage import close_interrupted, open_storage, trials_done

        assert self.config is not None
        sweep_dir = Path(self.config.hydra.sweep.dir)
        search = self.config.get("hparams_search")
        if not search:
            raise ValueError("the optuna sweeper needs hparams_search (hparams_search=optuna)")
        url = search.get("storage") or f"sqlite:///{sweep_dir.resolve()}/optuna.db"
        name = str(search.study_name)
        objectives = [str(o) for o in search.objectives]
        distributions, fixed = search_space(
            [*(f"{k}={v}" for k, v in self.params.items()), *arguments]
        )
        storage = open_storage(url)
        sampler = (
            instantiate(self.sampler) if isinstance(self.sampler, DictConfig) else self.sampler
        )
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            sampler=sampler,
            pruner=instantiate(search.pruner) if search.get("pruner") else None,
            directions=["minimize"] * len(objectives),
            load_if_exists=True,
        )
        if len(study.directions) != len(objectives):
            raise ValueError(
                f"hparams_search.objectives={objectives}: study '{name}' in {url} has "
                f"{len(study.directions)} objectives"
            )
        close_interrupted(study, storage)
        study.set_user_attr("objectives", objectives)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        record = {"storage": url, "study_name": name, "objectives": objectives}
        (sweep_dir / STUDY_FILE).write_text(OmegaConf.to_yaml(record))
        done = trials_done(study)
        to_go = max(0, self.n_trials - done)
        if done:
            log.info(
                f"resuming study '{name}': {done} trials done, {to_go} to go "
                f"(n_trials={self.n_trials} in all)"
            )
        while to_go > 0:
            trials = [study.ask(distributions) for _ in range(min(self.n_jobs, to_go))]
            overrides = [self._job_overrides(t, fixed, url, name) for t in trials]
            returns = self.launcher.launch(overrides, initial_job_idx=trials[0].number)
            for trial, ret in zip(trials, returns, strict=True):
                self._tell(study, trial, ret, sweep_dir, objectives)
            to_go -= len(trials)
        self._announce(study, sweep_dir)

    @staticmethod
    def _job_overrides(trial: Any, fixed: dict[str, str], url: str, name: str) -> list[str]:
        params = [f"{key}={value}" for key, value in trial.params.items()]
        search = [
            f"hparams_search.storage='{url}'",
            f"hparams_search.study_name='{name}'",
            f"hparams_search.trial={trial.number}",
        ]
        return [*(f"{k}={v}" for k, v in fixed.items()), *params, *search]

    @staticmethod
    def _tell(study: Any, trial: Any, ret: Any, sweep_dir: Path, objectives: Sequence[str]) -> None:
        from regopt.search.outcome import trial_outcome

        runtime = OmegaConf.select(ret.hydra_cfg or {}, "hydra.runtime.output_dir")
        job_dir = Path(runtime) if runtime else sweep_dir / str(trial.number)
        outcome = trial_outcome(job_dir, objectives)
        for key, value in outcome.attrs.items():
            trial.set_user_attr(key, value)
        study.tell(trial, outcome.values, state=outcome.state)

    @staticmethod
    def _announce(study: Any, sweep_dir: Path) -> None:
        from optuna.trial import TrialState

        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            log.error(
                f"study '{study.study_name}': no trial completed (each job's summary.json "
                "says why); no best parameters"
            )
            return
        if len(study.directions) > 1:
            front = study.best_trials
            log.info(
                f"study '{study.study_name}': {len(front)} trials on the Pareto front: "
                f"{', '.join(str(t.number) for t in front)}"
            )
            return
        best = study.best_trial
        results = {"best_trial": best.number, "best_value": best.value, "best_params": best.params}
        (sweep_dir / "optimization_results.yaml").write_text(OmegaConf.to_yaml(results))
        log.info(
            f"study '{study.study_name}': best value {best.value:.4g} (trial {best.number}): "
            f"{best.params}"
        )
