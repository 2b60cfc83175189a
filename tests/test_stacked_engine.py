"""The stacked engine: each member of a stack leaves the record its separate run leaves.

The references are separate `regopt-train` runs of the same configs, made here through the CLI
(one multirun, each job a run of its own), never the engine itself. float64 (64-true) makes the
comparison tight: every logged value within a relative 1e-6.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from conftest import CONF, read_metrics, read_summary, run_cli
from regopt.config.resolvers import register_resolvers
from regopt.stacked.engine import NotStackable, fit_stack

COMMON = [
    "logger=none",
    "data=synthetic",
    "data.n_train=96",
    "data.n_val=64",
    "data.input_dim=16",
    "data.batch_size=32",
    "model.widths=[16,16]",
    "trainer.max_epochs=5",
    "trainer.precision=64-true",
    "~callbacks.model_checkpoint",
    "diagnostics.gradients.every_n_epochs=2",
]
# mixed optimisers; penalties, dropout (a random forward pass), input noise and mixup (random
# batches); the members without dropout share one batched forward pass
SWEEP = ["optimizer=sgd,adam", "regularizer=[l2,dropout],[input_noise,mixup,label_smoothing]"]
DIVERGING = ["optimizer=sgd", "optimizer.lr=1e9", "regularizer=[l2]", "seed=1"]


def job_config(overrides: list[str], output_dir: Path) -> DictConfig:
    """A job's config as a Hydra launcher holds it: with its `hydra` node."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            config_name="train",
            overrides=[*overrides, f"paths.output_dir={output_dir}"],
            return_hydra_config=True,
        )


def separate_runs(root: Path, sweep: list[str]) -> list[tuple[list[str], Path]]:
    """Each job of `regopt-train -m` (its task overrides, its run dir)."""
    sweep_dir = root / "separate"
    result = run_cli(["-m", *COMMON, *sweep, f"hydra.sweep.dir={sweep_dir}"], root)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted((p for p in sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    return [(yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()), job) for job in jobs]


def assert_same_record(stacked: Path, separate: Path) -> None:
    ours, theirs = read_metrics(stacked), read_metrics(separate)
    assert [sorted(row) for row in ours] == [sorted(row) for row in theirs]
    for epoch, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for key, value in b.items():
            assert math.isclose(a[key], value, rel_tol=1e-6, abs_tol=1e-12), (epoch, key)
    a, b = read_summary(stacked), read_summary(separate)
    for key in ("status", "epochs", "onset_epoch", "verdict", "regularizers", "optimizer", "seed"):
        assert a[key] == b[key], key
    assert a["best"]["epoch"] == b["best"]["epoch"]
    assert math.isclose(a["best"]["val/loss"], b["best"]["val/loss"], rel_tol=1e-6)
    assert (stacked / "config.yaml").is_file() and (stacked / "curves.png").is_file()


def test_members_equal_their_separate_runs_and_a_diverging_one_is_recorded(tmp_path: Path):
    jobs = separate_runs(tmp_path, SWEEP)
    assert len(jobs) == 4
    members = [
        job_config(overrides, tmp_path / "stack" / str(k)) for k, (overrides, _) in enumerate(jobs)
    ]
    diverging_dir = tmp_path / "stack" / "diverging"
    members.append(job_config([*COMMON, *DIVERGING], diverging_dir))

    results = fit_stack(members)

    for k, (_, separate) in enumerate(jobs):
        assert_same_record(tmp_path / "stack" / str(k), separate)
        assert math.isclose(results[k], read_summary(separate)["best"]["val/loss"], rel_tol=1e-6)
    diverged = read_summary(diverging_dir)
    assert diverged["status"] == "diverged" and math.isnan(results[-1])
    assert diverged["verdict"].startswith("diverged")
    assert len(read_metrics(diverging_dir)) == diverged["diverged_at"]["epoch"]  # the good ones


def test_members_with_different_model_shapes_are_refused_naming_the_key(tmp_path: Path):
    members = [
        job_config([*COMMON, "model.widths=[16,16]"], tmp_path / "a"),
        job_config([*COMMON, "model.widths=[32,16]"], tmp_path / "b"),
    ]
    with pytest.raises(NotStackable, match=r"^model\.widths differs"):
        fit_stack(members)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_memory_estimate_counts_optimiser_state_precision_and_members(tmp_path: Path):
    """Adam keeps two tensors a parameter that SGD does not (torch's own state, counted on the
    real model's parameters); float64 doubles float32; members add up."""
    from hydra.utils import instantiate

    from regopt.pipeline import build_module
    from regopt.stacked.memory import estimate_bytes

    def config(*overrides: str) -> DictConfig:
        return job_config([*COMMON, *overrides], tmp_path / "x")

    sgd, adam = config("optimizer=sgd"), config("optimizer=adam")
    cfg = job_config([*COMMON, "logger=none"], tmp_path / "y")
    cfg = OmegaConf.create({k: v for k, v in cfg.items() if k != "hydra"})
    module = build_module(cfg, instantiate(cfg.data))
    parameters = sum(p.numel() for p in module.model.parameters())
    assert estimate_bytes([adam]) - estimate_bytes([sgd]) == 2 * parameters * 8
    single = config("optimizer=adam", "trainer.precision=32-true")
    assert estimate_bytes([adam]) == 2 * estimate_bytes([single])
    assert estimate_bytes([adam, sgd, adam]) == 2 * estimate_bytes([adam]) + estimate_bytes([sgd])
