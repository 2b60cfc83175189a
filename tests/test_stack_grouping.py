"""Which jobs of a sweep share a stack (regopt.sweep.stacks), on configs composed from conf/."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from conftest import CONF
from regopt.config.resolvers import register_resolvers
from regopt.sweep.stacks import differing_keys, group_jobs, member_view

Job = Callable[..., DictConfig]


@pytest.fixture(scope="module")
def job() -> Iterator[Job]:
    """Job `number` of a sweep in its own run dir, composed from conf/ with these overrides (one
    Hydra initialisation for the module: composing is what costs here)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):

        def make(number: int, *overrides: str) -> DictConfig:
            run_dir = f"/sweep/{number}"
            return compose(
                "train", overrides=["logger=none", f"paths.output_dir={run_dir}", *overrides]
            )

        yield make


def test_a_regulariser_by_optimiser_by_seed_grid_is_one_stack(job: Job) -> None:
    grid = [(reg, opt) for reg in ("none", "l2", "dropout") for opt in ("sgd", "adamw")]
    cfgs = [
        job(n, f"regularizer={reg}", f"optimizer={opt}", f"seed={n % 2}")
        for n, (reg, opt) in enumerate(grid)
    ]
    assert group_jobs(cfgs) == [list(range(6))]
    assert {"seed", "optimizer", "regularizer", "data.seed"} == set(differing_keys(cfgs))


def test_hyperparameters_label_noise_and_strengths_are_members(job: Job) -> None:
    cfgs = [
        job(0, "optimizer.lr=0.1", "optimizer.weight_decay=0.5", "data.seed=7"),
        job(1, "optimizer.betas=[0.8,0.99]", "data.label_noise=0.2"),
        job(2, "regularizer=input_noise", "regularizer.input_noise.std=0.3"),
    ]
    assert group_jobs(cfgs) == [[0, 1, 2]]


def test_jobs_that_differ_in_what_the_stack_shares_are_apart(job: Job) -> None:
    cfgs = [
        job(0),
        job(1, "model.widths=[32,32]"),  # another model shape
        job(2, "trainer.max_epochs=7"),  # another trainer
        job(3, "optimizer.lr=0.01"),  # a member of job 0's stack
        job(4, "data.train_fraction=0.5"),  # another training set
        job(5, "scheduler=cosine"),
        job(6, "model.widths=[32,32]", "seed=3"),  # a member of job 1's stack
        job(7, "model.dropout=0.1"),  # the model's own dropout: part of the shared model
    ]
    assert group_jobs(cfgs) == [[0, 3], [1, 6], [2], [4], [5], [7]]
    # each job has its own run dir, and paths below it, which do not separate jobs 0 and 3
    first, fourth = cfgs[0], cfgs[3]
    assert first.callbacks.model_checkpoint.dirpath != fourth.callbacks.model_checkpoint.dirpath
    assert first.trainer.default_root_dir != fourth.trainer.default_root_dir


# each regulariser's strength at 0, as its YAML names the key
ZERO = {
    "l1": "regularizer.l1.weight=0",
    "l2": "regularizer.l2.weight=0",
    "elastic": "regularizer.elastic.weight=0",
    "dropout": "regularizer.dropout.p=0",
    "input_noise": "regularizer.input_noise.std=0",
    "label_smoothing": "regularizer.label_smoothing.smoothing=0",
    "mixup": "regularizer.mixup.alpha=0",
    "kl": "regularizer.kl.beta=0",
}


def test_a_regulariser_at_zero_strength_is_the_member_none_is(job: Job) -> None:
    none = job(0, "regularizer=none")
    zeros = [job(n, f"regularizer={name}", ZERO[name]) for n, name in enumerate(ZERO, start=1)]
    for name, zero in zip(ZERO, zeros, strict=True):
        assert name in zero.regularizer  # selected all the same
        assert member_view(zero) == member_view(none), name
    assert group_jobs([none, *zeros]) == [list(range(len(ZERO) + 1))]


def test_a_strength_given_another_way_or_a_constraint_is_not_none(job: Job) -> None:
    none = member_view(job(0, "regularizer=none"))
    assert member_view(job(1)) != none  # the default job's l2 at weight 1e-4
    by_prior = job(2, "regularizer.l2.weight=0", "regularizer.l2.prior_std=0.5")
    assert member_view(by_prior) != none  # prior_std decides the weight
    assert member_view(job(3, "regularizer=max_norm")) != none
