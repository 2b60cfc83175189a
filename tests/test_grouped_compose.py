"""The stacked launcher's sweep composition (regopt.sweep.compose) against Hydra's own
`load_sweep_config`: the same job configs (Hydra node included), the same errors, and one full
composition per set of config-group choices."""

from __future__ import annotations

import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

from conftest import CONF
from regopt.sweep.compose import GroupedConfigLoader

HYDRA = ["hydra/launcher=stacked", "hydra.launcher.max_members=4", "hydra.sweep.dir=/tmp/sweep"]
JOBS = [
    ["optimizer=adamw", "optimizer.lr=0.001", "optimizer.weight_decay=0.1", "seed=0"],
    ["optimizer=adamw", "optimizer.lr=0.003", "optimizer.weight_decay=0", "seed=1"],
    ["optimizer.lr=0.01", "optimizer=sgd", "regularizer=[l2,dropout]"],  # a value before a group
    ["regularizer=[l2,dropout]", "regularizer.dropout.p=0.2", "regularizer.l2.weight=1e-3"],
    ["model.widths=[8,8]", "trainer.max_epochs=2", "name='a b'"],  # a list, a quoted string
    ["optimizer.lr=${optimizer.weight_decay}", "data.seed=7"],  # an interpolation, kept as is
    ["+trainer.foo=1", "++seed=4", "~callbacks.progress"],  # adds and a deletion: composed in full
    ["regularizer.l2.schedule.kind=linear", "hydra.job.chdir=false"],  # a Hydra key per job
    ["optimizer=adamw", "optimizer.lr=0.02"],  # the first jobs' choices again
]


@pytest.fixture
def loader():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield GlobalHydra.instance().config_loader()


def master(loader) -> OmegaConf:
    return loader.load_configuration("train", overrides=HYDRA, run_mode=RunMode.MULTIRUN)


def same(a, b) -> None:
    assert OmegaConf.to_yaml(a) == OmegaConf.to_yaml(b)
    assert OmegaConf.is_struct(a) == OmegaConf.is_struct(b)
    assert OmegaConf.is_readonly(a.hydra) == OmegaConf.is_readonly(b.hydra)
    assert OmegaConf.get_cache(a) == OmegaConf.get_cache(b)


def test_each_job_config_is_the_one_hydra_composes(loader) -> None:
    base = master(loader)
    grouped = GroupedConfigLoader(loader)
    for overrides in JOBS:
        ours = grouped.load_sweep_config(base, list(overrides))
        same(ours, loader.load_sweep_config(base, list(overrides)))
        task = [o for o in overrides if not o.startswith("hydra.")]
        assert OmegaConf.to_container(ours.hydra.overrides.task) == task
    again = grouped.load_sweep_config(base, JOBS[0])  # a copy: changing one leaves the next alone
    again.seed = 99
    same(grouped.load_sweep_config(base, JOBS[0]), loader.load_sweep_config(base, JOBS[0]))


def test_a_grid_of_values_is_composed_once_per_set_of_group_choices(loader, monkeypatch) -> None:
    base = master(loader)
    grouped = GroupedConfigLoader(loader)
    composed = []
    full = loader.load_sweep_config
    monkeypatch.setattr(loader, "load_sweep_config", lambda m, o: composed.append(o) or full(m, o))
    grid = [
        [f"optimizer={name}", f"optimizer.lr={lr}", f"seed={seed}"]
        for name in ("adamw", "sgd")
        for lr in (0.1, 0.01, 0.001)
        for seed in (0, 1)
    ]
    for overrides in grid:
        grouped.load_sweep_config(base, overrides)
    assert composed == [["optimizer=adamw"], ["optimizer=sgd"]]


@pytest.mark.parametrize(
    "overrides",
    [["optimizer.no_such_key=1"], ["optimizer=adamw", "trainer.max_epochs=[1"], ["optimizer=nope"]],
)
def test_a_job_that_does_not_compose_fails_with_hydras_own_error(loader, overrides) -> None:
    base = master(loader)
    with pytest.raises(Exception) as hydras:
        loader.load_sweep_config(base, overrides)
    with pytest.raises(type(hydras.value)) as ours:
        GroupedConfigLoader(loader).load_sweep_config(base, overrides)
    assert str(ours.value) == str(hydras.value)
