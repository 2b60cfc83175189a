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

from conftest import (
    CONF,
    options,
    read_metrics,
    read_summary,
    regularizer_overrides,
    regularizers,
    run_cli,
)
from regopt.config.resolvers import register_resolvers
from regopt.stacked.engine import NotStackable, fit_stack

TINY = [
    "logger=none",
    "data=synthetic",
    "data.n_train=96",
    "data.n_val=64",
    "data.input_dim=16",
    "data.batch_size=32",
    "model.widths=[16,16]",
    "trainer.precision=64-true",
    "diagnostics.gradients.every_n_epochs=2",
]
# shared by all: Lightning's gradient accumulation and an epoch-interval scheduler
COMMON = [
    *TINY,
    "trainer.max_epochs=5",
    "~callbacks.model_checkpoint",
    "~callbacks.last_checkpoint",
    "scheduler=cosine",
    "trainer.accumulate_grad_batches=2",
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


def separate_runs(
    root: Path, sweep: list[str], common: list[str] = COMMON
) -> list[tuple[list[str], Path]]:
    """Each job of `regopt-train -m` (its task overrides, its run dir)."""
    sweep_dir = root / "separate"
    result = run_cli(["-m", *common, *sweep, f"hydra.sweep.dir={sweep_dir}"], root)
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

    from regopt.build import build_module
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


# option -> what NotStackable says: SAM's step evaluates the loss twice, a stack's once
REFUSED: dict[str, str] = {"sam": r"^optimizer=SAM \(member 0\): it evaluates the loss more"}


def common_for(needs: list[str]) -> list[str]:
    """COMMON, less its synthetic data's keys when `needs` chooses a data set (shift: digits)."""
    if any(need.startswith("data=") for need in needs):
        return [o for o in COMMON if not o.startswith("data")]
    return COMMON


def _grid_groups() -> dict[str, tuple[list[str], list[str]]]:
    """Per option of conf/optimizer/ and conf/regularizer/: (the fixed overrides of its group,
    its sweep value). Options that need the same overrides (kl: model=bayes_mlp) share a sweep."""
    groups = {name: ([], f"optimizer={name}") for name in options("optimizer")}
    for name in regularizers():
        *needs, choice = regularizer_overrides(name, effect_settings=False)
        groups[name] = (needs, choice)
    return groups


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory):
    """One CLI multirun and one stack per group of options that need the same overrides,
    made on first use (refused options stay out): option -> (its member's run dir, its separate
    run's)."""
    made: dict[tuple[str, ...], dict[str, tuple[Path, Path]]] = {}  # by (needs, directory)

    def runs(option: str) -> tuple[Path, Path]:
        needs, choice = _grid_groups()[option]
        directory = choice.split("=")[0]
        key = (*needs, directory)
        if key not in made:
            together = {
                name: c
                for name, (d, c) in _grid_groups().items()
                if d == needs and c.startswith(f"{directory}=") and name not in REFUSED
            }
            values = ",".join(c.split("=", 1)[1] for c in together.values())
            root = tmp_path_factory.mktemp("grid")
            jobs = separate_runs(root, [*needs, f"{directory}={values}"], common_for(needs))
            members = [job_config(o, root / "stack" / str(k)) for k, (o, _) in enumerate(jobs)]
            fit_stack(members)
            made[key] = {
                name: (root / "stack" / str(k), separate)
                for k, (overrides, separate) in enumerate(jobs)
                for name, c in together.items()
                if c in overrides
            }
        return made[key][option]

    return runs


@pytest.mark.slow
@pytest.mark.parametrize("option", sorted(_grid_groups()))
def test_every_optimiser_and_regulariser_trains_in_a_stack_as_in_its_separate_run(grid, option):
    """Each option of conf/optimizer/ and conf/regularizer/ as a member of a stack (the others of
    its directory beside it) against its separate CLI run; a refused option must be refused."""
    if option in REFUSED:
        needs, choice = _grid_groups()[option]
        members = [job_config([*COMMON, *needs, choice], Path(f"/nonexistent/{option}"))]
        with pytest.raises(NotStackable, match=REFUSED[option]):
            fit_stack(members)
        return
    stacked, separate = grid(option)
    assert_same_record(stacked, separate)


@pytest.mark.slow
def test_a_members_checkpoint_resumes_as_its_separate_run(tmp_path: Path):
    """Members stopped after 2 of 4 epochs and resumed one by one (`resume=auto`, the
    pipeline's own run) end with the record of an uninterrupted separate run: weights,
    optimiser state, rows and random stream (dropout) are each member's own."""
    from conftest import run_job

    args = [*TINY, "trainer.max_epochs=2"]  # the default callbacks: checkpoints
    members = [["optimizer=adam", "regularizer=[l2,dropout]"], ["optimizer=momentum", "seed=1"]]
    fit_stack([job_config([*args, *m], tmp_path / "stack" / str(k)) for k, m in enumerate(members)])
    for k, member in enumerate(members):
        full = [*TINY, *member, "trainer.max_epochs=4"]
        straight = tmp_path / "straight" / str(k)
        run_job(full, straight)
        resumed = run_job([*full, "resume=auto"], tmp_path / "stack" / str(k))
        assert resumed["status"] == "completed" and resumed["resumed_from"].endswith("last.ckpt")
        assert_same_record(tmp_path / "stack" / str(k), straight)


@pytest.mark.slow
def test_early_stopping_ends_one_member_and_the_other_goes_on(tmp_path: Path):
    """Each member's own EarlyStopping: the one that stops improving ends (`completed`, at its
    separate run's epoch), the other trains on, both as their separate runs."""
    stopping = [
        *TINY,
        "trainer.max_epochs=6",
        "callbacks=early_stopping",
        "~callbacks.model_checkpoint",
        "~callbacks.last_checkpoint",
        "callbacks.early_stopping.patience=1",
        "callbacks.early_stopping.min_delta=0.05",
        "optimizer=adam",
        "trainer.gradient_clip_val=0.5",  # clipped per member, as each separate run clips
    ]
    rates = ("1e-5", "1e-2")
    members = [
        job_config([*stopping, f"optimizer.lr={lr}"], tmp_path / "stack" / lr) for lr in rates
    ]
    fit_stack(members)
    result = run_cli(
        [
            "-m",
            *stopping,
            f"optimizer.lr={','.join(rates)}",
            f"hydra.sweep.dir={tmp_path / 'separate'}",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for k, lr in enumerate(rates):
        assert_same_record(tmp_path / "stack" / lr, tmp_path / "separate" / str(k))
    epochs = [read_summary(tmp_path / "stack" / lr)["epochs"] for lr in rates]
    assert epochs[0] < epochs[1]  # the slow learner stopped first


@pytest.mark.slow
def test_each_member_has_its_own_wandb_run(tmp_path: Path):
    """logger=wandb (offline): every member's run dir holds its own W&B run, named by its own
    overrides, whose history is its own metrics.csv and whose summary is its own verdict."""
    from regopt.tracking.offline_records import read_run

    tiny = [o for o in COMMON if o != "logger=none"]
    members = [["optimizer=sgd", "seed=0"], ["optimizer=adam", "seed=1"]]
    fit_stack([job_config([*tiny, *m], tmp_path / str(k)) for k, m in enumerate(members)])
    names = set()
    for k in range(len(members)):
        (record,) = (tmp_path / str(k)).glob("wandb/offline-run-*/run-*.wandb")
        wandb_run = read_run(record)
        assert wandb_run["finished"]
        summary, rows = read_summary(tmp_path / str(k)), read_metrics(tmp_path / str(k))
        assert wandb_run["summary"]["verdict"] == summary["verdict"]
        history = {h["epoch"]: h["val/loss"] for h in wandb_run["history"] if "val/loss" in h}
        assert [pytest.approx(history[r["epoch"]]) for r in rows] == [r["val/loss"] for r in rows]
        names.add(wandb_run["run"]["name"])
    assert len(names) == len(members)


def test_a_member_whose_config_is_refused_makes_the_stack_refuse(tmp_path: Path):
    """kl needs a model with a KL term: its own run refuses it in one line; a stack with it
    raises NotStackable before training, so the launcher runs the jobs one by one."""
    members = [
        job_config([*COMMON, "regularizer=l2"], tmp_path / "a"),
        job_config([*COMMON, "regularizer=kl"], tmp_path / "b"),
    ]
    with pytest.raises(NotStackable, match=r"^member 1 cannot be built: regularizer\.kl"):
        fit_stack(members)
    assert not (tmp_path / "a" / "metrics.csv").exists()
