"""The experiment configs: what each sweep expands to, and that every job of it composes."""

from __future__ import annotations

import itertools

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

from conftest import CONF, compose_config, options
from regopt.config.resolvers import register_resolvers
from regopt.config.validate import validate_config


def sweep_jobs(experiment: str) -> list[list[str]]:
    """The jobs `regopt-train -m experiment=<experiment>` launches, as override lists."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", [f"experiment={experiment}"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    axes = [[f"{o.key_or_group}={v}" for v in o.sweep_string_iterator()] for o in parsed]
    return [list(job) for job in itertools.product(*axes)]


def test_reg_vs_opt_is_three_regularisers_by_three_optimisers_by_five_seeds() -> None:
    jobs = sweep_jobs("reg_vs_opt")
    assert len(jobs) == 45
    assert {j[0] for j in jobs} == {"regularizer=none", "regularizer=l2", "regularizer=dropout"}
    assert {j[1] for j in jobs} == {"optimizer=sgd", "optimizer=adam", "optimizer=adamw"}
    assert {j[2] for j in jobs} == {f"seed={s}" for s in range(5)}
    assert {j[0].split("=")[1] for j in jobs} <= set(options("regularizer"))


def test_calibrate_is_every_regulariser_of_the_default_job_at_four_strengths() -> None:
    """Every regulariser in conf/regularizer/ but the baseline and kl (it needs a model with a
    KL term) is in the grid, at four strengths, over three seeds."""
    jobs = sweep_jobs("calibrate")
    regs = {j[0].split("=")[1] for j in jobs}
    assert regs == set(options("regularizer")) - {"none", "kl"}
    assert len(jobs) == len(regs) * 4 * 3
    assert {j[1] for j in jobs} == {f"experiment.level=s{i}" for i in range(1, 5)}


@pytest.mark.parametrize(
    ("experiment", "count", "keys"),
    [
        ("capacity_vs_data", 40, ["model.widths", "data.train_fraction", "seed"]),
        ("label_noise", 24, ["data.label_noise", "regularizer", "seed"]),
        ("random_labels", 6, ["regularizer", "seed"]),
    ],
)
def test_every_job_of_the_other_experiments_composes(experiment, count, keys, tmp_path) -> None:
    jobs = sweep_jobs(experiment)
    assert len(jobs) == count
    assert [o.split("=")[0] for o in jobs[0]] == keys
    for job in (jobs[0], jobs[-1]):
        cfg = compose_config([f"experiment={experiment}", *job], tmp_path)
        validate_config(cfg)
        assert cfg.name == experiment
    if experiment == "capacity_vs_data":
        assert list(cfg.model.widths) == [1024, 1024] and cfg.data.train_fraction == 0.8
        assert cfg.regularizer == {}  # capacity alone: no regulariser
    if experiment == "random_labels":
        assert cfg.data.random_labels is True and cfg.data.label_noise == 0


SWEEPS = [e for e in options("experiment") if e != "smoke"]  # smoke is one run, not a sweep


@pytest.mark.parametrize("experiment", SWEEPS)
def test_every_combination_of_every_sweep_composes_and_validates(experiment, tmp_path) -> None:
    """Each combination of a sweep's axes (seeds aside: they only set `seed`; so does calibrate's
    `experiment.level`, a number from the grid that tests/test_calibrate.py checks) is a config
    that validates, so `regopt-train -m experiment=...` launches no job that fails on its config."""
    jobs = sweep_jobs(experiment)
    assert jobs, experiment
    values_only = ("seed=", "experiment.level=")
    combinations = {tuple(o for o in job if not o.startswith(values_only)) for job in jobs}
    for combination in sorted(combinations):
        cfg = compose_config([f"experiment={experiment}", *combination, "seed=1"], tmp_path)
        validate_config(cfg)
        assert cfg.name == experiment
