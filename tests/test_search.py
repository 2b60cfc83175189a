"""Optuna search: the sweep syntax as distributions, a trial pruned at the epoch the pruner's own
rule gives, the outcome the sweeper tells, and the one-line refusal of pruning with two objectives.
The studies run by the CLI (resume after a kill, joblib, multi-objective, the dashboard) are in
tests/test_sweeps.py and tests/test_study_view.py, slow."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from conftest import compose_config, read_metrics, run_job
from regopt.search.space import search_space


def test_sweep_overrides_become_the_distributions_of_hydras_optuna_sweeper() -> None:
    distributions, fixed = search_space(
        [
            "optimizer.lr=tag(log, interval(1e-4, 1e-1))",
            "regularizer.l2.weight=interval(0.0, 0.5)",
            "data.train_fraction=interval(0, 1)",  # Hydra's interval is a float one
            "data.batch_size=tag(log, int(interval(16, 256)))",
            "optimizer=choice(sgd, adam)",
            "model.widths=choice([32], [64, 64])",
            "data.seed=range(16, 64, 16)",
            "trainer.max_epochs=3",
            "optimizer.lr=tag(log, interval(1e-3, 1e-2))",  # a later line wins (the command line)
        ]
    )
    assert distributions == {
        "optimizer.lr": FloatDistribution(1e-3, 1e-2, log=True),
        "regularizer.l2.weight": FloatDistribution(0.0, 0.5),
        "data.train_fraction": FloatDistribution(0.0, 1.0),
        "data.batch_size": IntDistribution(16, 256, log=True),
        "optimizer": CategoricalDistribution(["sgd", "adam"]),
        "model.widths": CategoricalDistribution(["[32]", "[64,64]"]),
        "data.seed": IntDistribution(16, 64, step=16),  # the end included, as Hydra's plugin has it
    }
    assert fixed == {"trainer.max_epochs": "3"}


def median_rule_epoch(
    own: dict[int, float], completed: list[dict[int, float]], warmup: int, startup: int
) -> int | None:
    """Optuna's documented median rule, written out: from epoch `warmup` on, once `startup`
    trials completed, prune at the first epoch where the trial's best value so far is worse than
    the median of the completed trials' values at that epoch."""
    if len(completed) < startup:
        return None
    best = math.inf
    for epoch in sorted(own):
        best = min(best, own[epoch])
        at = [values[epoch] for values in completed if epoch in values]
        if epoch >= warmup and at and best > statistics.median(at):
            return epoch
    return None


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_trial_is_pruned_at_the_epoch_the_median_rule_gives(kind: str, tmp_path: Path) -> None:
    """Through the storage a cluster's jobs share too: SQLite, or Optuna's journal file."""
    from regopt.search.storage import open_storage

    url = f"sqlite:///{tmp_path}/optuna.db" if kind == "sqlite" else f"journal://{tmp_path}/j.log"
    study = optuna.create_study(study_name="optuna", storage=open_storage(url))
    # an earlier trial that was excellent at epoch 2 only: this one falls behind there
    earlier = {0: 10.0, 1: 10.0, 2: 1e-3, 3: 1e-3, 4: 1e-3}
    study.add_trial(create_trial(value=1e-3, intermediate_values=earlier))
    trial = study.ask()
    out = tmp_path / "job"
    summary = run_job(
        [
            "hparams_search=optuna",
            f"hparams_search.storage={url}",
            f"hparams_search.trial={trial.number}",
            "hparams_search.pruner.n_warmup_steps=1",
            "hparams_search.pruner.n_startup_trials=1",
            "trainer.max_epochs=5",
            "model.widths=[32]",
            "callbacks=none",
            "diagnostics=none",
        ],
        out,
    )
    stored = study.get_trials(deepcopy=False)[trial.number].intermediate_values
    expected = median_rule_epoch(stored, [earlier], warmup=1, startup=1)
    assert expected is not None and expected < 4, stored  # the trial was cut short
    assert summary["status"] == "pruned"
    assert summary["pruned_at"]["epoch"] == expected
    assert summary["diagnosis"]["kind"] == "pruned"
    assert sorted(stored) == list(range(expected + 1))  # reported every epoch, none after
    rows = read_metrics(out)  # the record is complete up to that epoch
    assert [int(r["epoch"]) for r in rows] == list(range(expected + 1))
    assert [r["val/loss"] for r in rows] == pytest.approx([stored[e] for e in sorted(stored)])

    from regopt.search.outcome import trial_outcome

    outcome = trial_outcome(out, ["val/loss"])
    assert outcome.state == TrialState.PRUNED and outcome.attrs["pruned_epoch"] == expected


def test_pruning_a_study_of_two_objectives_is_refused_in_one_line(tmp_path: Path) -> None:
    from regopt.config.errors import ConfigError
    from regopt.config.validate import validate_config

    cfg = compose_config(
        ["hparams_search=optuna", "hparams_search.objectives=[val/loss,gap/loss]"], tmp_path
    )
    with pytest.raises(ConfigError, match=r"^hparams_search.*pruner.*none") as error:
        validate_config(cfg)
    assert "\n" not in str(error.value)
