"""Which jobs of a launch the stacked launcher trains as stacks, which it runs on their own, and
what its log says (regopt.sweep.stack_plan), on sweep configs composed from conf/ and the engine's
own memory estimate; nothing trains."""

from __future__ import annotations

import logging

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.utils import setup_globals
from omegaconf import open_dict

from conftest import CONF
from regopt.config.resolvers import register_resolvers
from regopt.sweep.stack_plan import check_settings, plan, settle_workers, worker_count

SETTINGS = {"max_members": 32, "memory_fraction": 0.5, "cpu_probe": True}


def sweep_configs(jobs: list[list[str]], tmp_path, first: int = 0) -> list:
    """The launcher's view of a sweep: each job's config with its `hydra` node, numbered from
    `first` as Hydra numbers a sweep's jobs."""
    register_resolvers()
    setup_globals()
    configs = []
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for number, overrides in enumerate(jobs):
            config = compose(
                "train",
                overrides=["logger=none", *overrides, f"hydra.sweep.dir={tmp_path}"],
                return_hydra_config=True,
            )
            with open_dict(config):
                config.hydra.job.num = config.hydra.job.id = number + first
            configs.append(config)
    return configs


@pytest.fixture
def slow_wide_stacks(monkeypatch) -> list[tuple[int, int, int | None]]:
    """The CPU probe, with timings chosen here: a stack of width-512 members steps 3x as long as
    its members in turn, one of narrower members a third as long. Records (width, members,
    threads) of each probe."""
    import regopt.stacked.probe as probe

    probes = []

    def timed(cfg, members: int, threads: int | None) -> probe.Probe:
        width = cfg.model.widths[0]
        probes.append((width, members, threads))
        factor = 3.0 if width >= 512 else 1 / 3
        return probe.Probe(members, one_s=1e-3, stack_s=members * 1e-3 * factor)

    monkeypatch.setattr(probe, "probe_stack", timed)
    return probes


def test_small_jobs_stack_large_ones_and_refused_configs_run_on_their_own(
    tmp_path, caplog, slow_wide_stacks
):
    jobs = [
        ["model.widths=[32,32]", "seed=0"],
        ["model.widths=[32,32]", "seed=1"],
        ["model.widths=[32,32]", "optimizer.lr=-1"],  # the config check refuses it
        ["model.widths=[512,512]", "seed=0"],  # the probe finds their stack slower
        ["model.widths=[512,512]", "seed=1"],
    ]
    configs = sweep_configs(jobs, tmp_path, first=10)
    with caplog.at_level(logging.INFO, logger="regopt"):
        units = plan(configs, SETTINGS, first=10)
    assert [unit.jobs for unit in units] == [[0, 1], [2], [3], [4]]
    assert [unit.why_alone is None for unit in units] == [True, False, False, False]
    log = caplog.text
    assert "jobs 10-11 train as one stack of 2 (members differ in seed, data.seed)" in log
    assert "job 12 runs on its own: the config check refuses it" in log
    assert "jobs 13-14 run one by one: stacking would be slower than running them in turn" in log
    assert "stacked members took 6.00 ms a step against 2 x 1.00 ms in turn" in log
    assert ": 0.57x, below 0.8" in log  # 2 x (1 + 1) / (6 + 1): a step's framework work, 1 ms
    # before the config checks (the refused job counted), with the threads the jobs will use
    from regopt.sweep.stack_budget import usable_cpus

    assert slow_wide_stacks == [(32, 3, usable_cpus()), (512, 2, usable_cpus())]
    units = plan(configs, {**SETTINGS, "cpu_probe": False}, first=10)  # stack whatever the size
    assert [unit.jobs for unit in units] == [[0, 1], [2], [3, 4]]


def test_jobs_the_cost_rule_runs_in_turn_are_not_checked_twice(
    tmp_path, monkeypatch, slow_wide_stacks
) -> None:
    """Their config check runs once, in their own run (as under the basic launcher), not also
    in the plan; a would-be stack's members are checked in the plan."""
    import regopt.config.validate as validate

    checked = []
    real = validate.validate_config
    monkeypatch.setattr(validate, "validate_config", lambda cfg: checked.append(cfg) or real(cfg))
    jobs = [[f"model.widths=[{w},{w}]", f"seed={n}"] for n, w in enumerate((512, 512, 32, 32))]
    configs = sweep_configs(jobs, tmp_path)
    units = plan(configs, SETTINGS, first=0)
    assert [unit.jobs for unit in units] == [[0], [1], [2, 3]]
    assert sorted(c.seed for c in checked) == [2, 3]


def test_a_model_the_probe_cannot_run_is_left_to_the_engine(tmp_path, monkeypatch) -> None:
    """The probe feeds random inputs of the batch's shape; a model that refuses them does not end
    the launch: the jobs are planned as a stack, which the engine trains or refuses."""
    import regopt.stacked.probe as probe

    def fails(cfg, members, threads):
        raise RuntimeError("expected integer token ids")

    monkeypatch.setattr(probe, "probe_stack", fails)
    configs = sweep_configs([[f"seed={number}"] for number in range(2)], tmp_path)
    assert [unit.jobs for unit in plan(configs, SETTINGS, first=0)] == [[0, 1]]


def test_an_optimiser_the_stack_refuses_runs_its_jobs_one_by_one(tmp_path, caplog) -> None:
    """SAM evaluates the loss twice a step: the plan says so and runs the jobs in turn (measuring
    a member's size steps its optimiser, which SAM cannot do without a closure)."""
    configs = sweep_configs([["optimizer=sam", f"seed={number}"] for number in range(2)], tmp_path)
    with caplog.at_level(logging.INFO, logger="regopt"):
        units = plan(configs, SETTINGS, first=0)
    assert [unit.jobs for unit in units] == [[0], [1]]
    assert "jobs 0-1 run one by one: not stackable: optimizer=SAM" in caplog.text


def test_a_bad_launcher_setting_is_refused_naming_its_key() -> None:
    from regopt.config.errors import ConfigError

    check_settings(SETTINGS)
    check_settings({**SETTINGS, "cpu_probe": False})
    check_settings({**SETTINGS, "n_jobs": "auto"})
    check_settings({**SETTINGS, "checkpoint_interval_s": 0.0})
    bad = [
        ("max_members", 0),
        ("memory_fraction", 1.5),
        ("cpu_probe", "yes"),
        ("n_jobs", 0),
        ("n_jobs", "all"),
        ("checkpoint_interval_s", -1.0),
        ("checkpoint_interval_s", float("inf")),
    ]
    for key, value in bad:
        with pytest.raises(ConfigError, match=f"hydra.launcher.{key}="):
            check_settings({**SETTINGS, key: value})


def test_auto_workers_are_one_per_usable_cpu_on_the_cpu_and_one_on_an_accelerator(
    monkeypatch,
) -> None:
    """`n_jobs: auto` against the process's CPU affinity (what SLURM and taskset set), capped by
    the number of jobs; a set number is kept; a launch of one job has no workers."""
    import os

    from omegaconf import OmegaConf

    import regopt.sweep.stack_budget as budget

    def job(accelerator: str = "cpu"):
        return OmegaConf.create({"trainer": {"accelerator": accelerator}})

    cpus = len(os.sched_getaffinity(0))
    assert worker_count("auto", job(), 64) == min(cpus, 64)
    monkeypatch.setattr(budget.os, "sched_getaffinity", lambda pid: set(range(6)))
    assert worker_count("auto", job(), 36) == 6
    assert worker_count("auto", job(), 4) == 4
    assert worker_count("auto", job(), 1) == 1
    assert worker_count(3, job(), 36) == 3
    assert worker_count("auto", job("gpu"), 36) == 1
    assert worker_count("auto", job("mps"), 36) == 1


def test_auto_threads_share_the_cpus_among_auto_workers(monkeypatch) -> None:
    from omegaconf import OmegaConf

    import regopt.scale as scale

    launcher = {"_target_": "hydra_plugins.regopt_stacked.stacked_launcher.StackedLauncher"}
    for n_jobs, threads in (("auto", 1), (2, 4), (1, 8)):
        hydra = OmegaConf.create({"launcher": {**launcher, "n_jobs": n_jobs}})
        monkeypatch.setattr(scale, "_hydra", lambda hydra=hydra: hydra)
        assert scale.threads_for_job("auto", cpu_count=8) == threads


def test_auto_workers_are_written_into_the_jobs_so_threads_divide_the_cpus_that_run(
    monkeypatch,
) -> None:
    """4 jobs on 16 CPUs: auto gives 4 workers; planned as 2 stacks, 2 run, each job's
    hydra.launcher.n_jobs says 2, and `threads: auto` gives each 8 threads (16 / 2). A set
    n_jobs is left in the config as written; the pool is still never larger than the units."""
    from omegaconf import OmegaConf

    import regopt.scale as scale
    import regopt.sweep.stack_budget as budget

    monkeypatch.setattr(budget.os, "sched_getaffinity", lambda pid: set(range(16)))

    def jobs(count: int, n_jobs: object) -> list:
        node = {"trainer": {"accelerator": "cpu"}, "hydra": {"launcher": {"n_jobs": n_jobs}}}
        return [OmegaConf.create(node) for _ in range(count)]

    configs = jobs(4, "auto")
    workers = worker_count("auto", configs[0], len(configs))
    assert workers == 4
    assert settle_workers("auto", workers, 2, configs) == 2
    assert [c.hydra.launcher.n_jobs for c in configs] == [2, 2, 2, 2]
    monkeypatch.setattr(scale, "_hydra", lambda: configs[0].hydra)
    assert scale.threads_for_job("auto", cpu_count=16) == 8

    configs = jobs(4, 8)
    assert settle_workers(8, worker_count(8, configs[0], len(configs)), 3, configs) == 3
    assert [c.hydra.launcher.n_jobs for c in configs] == [8, 8, 8, 8]
    assert settle_workers("auto", 1, 1, jobs(1, "auto")) == 1


def test_the_plan_in_a_worker_hands_its_units_and_log_lines_to_the_launcher(
    tmp_path, caplog, slow_wide_stacks
) -> None:
    """With worker processes the launch is planned in one of them (the training code imported
    there); its log lines reach the launcher's handlers only when the launcher emits them."""
    from hydra.core.singleton import Singleton

    from hydra_plugins.regopt_stacked.stacked_launcher import plan_in_worker

    jobs = [[f"model.widths=[{w},{w}]", f"seed={n}"] for n, w in enumerate((32, 32, 512, 512))]
    configs = sweep_configs(jobs, tmp_path)
    with caplog.at_level(logging.INFO, logger="regopt"):
        expected = [unit.jobs for unit in plan(configs, SETTINGS, first=0)]
        lines = caplog.messages
        caplog.clear()
        units, records = plan_in_worker(configs, SETTINGS, 0, Singleton.get_state())
        assert caplog.messages == []  # kept, not emitted where the plan ran
    assert units == expected == [[0, 1], [2], [3]]
    assert [record.getMessage() for record in records] == lines
    assert any("jobs 0-1 train as one stack of 2" in line for line in lines)
