"""The config is checked against each `_target_`'s own signature: every option of every group
passes, what a target accepts is accepted, what it does not is refused in one line, early."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Annotated, Literal

import pytest
import torch
from annotated_types import Ge

from conftest import CONF, ROOT, compose_config, options
from regopt.config.annotations import describe, problem
from regopt.config.errors import ConfigError
from regopt.config.signature import accepted, checked
from regopt.config.validate import validate_config

# Every group under conf/ but Hydra's own (hydra/launcher, hydra/sweeper: the plugins check those).
ALL_GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra")


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in ALL_GROUPS for o in options(g)])
def test_every_option_of_every_group_passes_the_check(group: str, option: str, tmp_path) -> None:
    cfg = compose_config([f"{group}={option}"], tmp_path)
    if cfg.trainer.accelerator == "gpu" and not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="^trainer.accelerator='gpu': "):  # Lightning's word
            validate_config(cfg)
        return
    try:
        validate_config(cfg)
    except ConfigError as error:
        pytest.fail(f"conf/{group}/{option}.yaml: {error}")


def write_option(conf_dir, group: str, name: str, body: str) -> str:
    (conf_dir / group).mkdir(parents=True, exist_ok=True)
    (conf_dir / group / f"{name}.yaml").write_text(body)
    return f"hydra.searchpath=[file://{conf_dir}]"


def test_an_option_with_a_key_its_target_does_not_take_is_refused(tmp_path) -> None:
    search = write_option(
        tmp_path / "conf", "data", "digits_plus", "defaults:\n  - digits\n  - _self_\nnew_knob: 3\n"
    )
    cfg = compose_config([search, "data=digits_plus"], tmp_path / "run")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg)
    message = str(caught.value)
    assert message.startswith("data.new_knob=3: 'new_knob' is not a key of data (DigitsDataModule)")
    assert "train_fraction" in message and "label_noise" in message  # what is allowed


def test_a_target_that_does_not_import_is_refused_naming_what_is_missing(tmp_path) -> None:
    search = write_option(
        tmp_path / "conf",
        "model",
        "resnet",
        "_target_: regopt.models.resnet.ResNet\nchannels: [8, 16]\n",
    )
    cfg = compose_config([search, "model=resnet"], tmp_path / "run")
    expected = (
        r"^model._target_='regopt.models.resnet.ResNet' cannot be imported: 'regopt.models' has "
        r"no attribute or module 'resnet'$"
    )
    with pytest.raises(ConfigError, match=expected):
        validate_config(cfg)
    cfg = compose_config(["model._target_=regopt.models.mlp.ResNet"], tmp_path / "run")
    with pytest.raises(ConfigError, match="'regopt.models.mlp' has no attribute 'ResNet'"):
        validate_config(cfg)


# Values each target's own annotation refuses (torch's, Lightning's or regopt's), and what only a
# constructor refuses (torch's lr, Nesterov without momentum, the warm-up rule).
@pytest.mark.parametrize(
    ("override", "must_name"),
    [
        ("optimizer.lr=-0.1", ["optimizer.lr=-0.1", "Invalid learning rate"]),
        ("optimizer.lr=abc", ["optimizer.lr='abc'", "a number"]),
        ("optimizer.lr=true", ["optimizer.lr=true", "a number"]),
        ("optimizer.betas=[0.9,1.0]", ["optimizer.betas", "Invalid beta parameter at index 1"]),
        ("optimizer.betas=[0.9]", ["optimizer.betas=[0.9]", "a list of 2"]),
        ("regularizer.l2.weight=-1", ["regularizer.l2.weight=-1", "a number >= 0"]),
        ("regularizer.l2.weight=nan", ["regularizer.l2.weight=nan", "finite"]),
        ("model.dropout=1", ["model.dropout=1", "[0, 1)"]),
        ("regularizer=dropout regularizer.dropout.p=1.5", ["regularizer.dropout.p=1.5", "[0, 1)"]),
        ("data.train_fraction=1.5", ["data.train_fraction=1.5", "(0, 1]"]),
        ("data.label_noise=-0.1", ["data.label_noise=-0.1", "[0, 1]"]),
        ("model.widths=abc", ["model.widths='abc'", "a list, each a whole number >= 1"]),
        ("model.widths=[64,a]", ["model.widths=[64, 'a']", "a list, each a whole number"]),
        ("model.widths=[64,0]", ["model.widths=[64, 0]", "greater than or equal to 1", ">= 1"]),
        ("model.activation=swish", ["model.activation='swish'", "relu, gelu, tanh, silu"]),
        ("trainer.accelerator=5", ["trainer.accelerator=5", "a string"]),
        ("trainer.max_epochs=2.5", ["trainer.max_epochs=2.5", "a whole number"]),
        ("trainer.precision=33", ["trainer.precision=33", "32-true", "bf16-mixed"]),
        (
            "trainer.gradient_clip_algorithm=max",
            ["gradient_clip_algorithm='max'", "'value', 'norm'"],
        ),
        ("seed=x", ["seed='x'", "a whole number in [0, 2**32)"]),
        ("name=[1]", ["name=[1]", "a string"]),
        ("threads=0", ["threads=0", "a whole number >= 1"]),
        ("data.normalize=true", ["data.normalize=true", "standard, scale, none"]),
        ("optimizer.lr=nan", ["optimizer.lr=nan", "Invalid learning rate"]),
        ("callbacks.progress.every_n_epochs=0", ["callbacks.progress.every_n_epochs=0", ">= 1"]),
        ("logger.wandb.init_timeout_s=soon", ["logger.wandb.init_timeout_s='soon'", "> 0"]),
        ("logger.wandb.mode=loud", ["logger.wandb.mode='loud'", "offline, online, disabled"]),
        ("scheduler=step scheduler.gamma=x", ["scheduler.gamma='x'", "a number"]),
        ("scheduler=warmup_cosine trainer.max_epochs=5", ["scheduler.warmup_epochs=5", "< 5"]),
        ("data=synthetic data.num_classes=1", ["data.num_classes=1", "a whole number >= 2"]),
        ("diagnostics.weights.per_layer=1", ["diagnostics.weights.per_layer=1", "true, false"]),
        ("verdict.smooth_window=4", ["verdict.smooth_window=4", "odd"]),
        ("+optimizer.lrr=0.1", ["optimizer.lrr=0.1", "not a key", "lr, maximize"]),
        ("+trainer.profilr=simple", ["trainer.profilr='simple'", "not a key", "profiler"]),
        ("+sed=1", ["sed=1", "not a root key", "seed"]),
        ("schedule.kind=sometimes", ["schedule.kind='sometimes'", "delayed"]),
        ("schedule.kind=linear", ["schedule.end=null with kind=linear", "> start"]),
        ("regularizer.l2.schedule.kind=sometimes", ["regularizer.l2.schedule.kind='sometimes'"]),
        ("optimizer=nesterov optimizer.momentum=0", ["optimizer.nesterov=true", "momentum"]),
        ("optimizer=sgd +optimizer.nesterov=true", ["optimizer.nesterov=true", "momentum"]),
        ("optimizer=nesterov +optimizer.dampening=0.5", ["optimizer.dampening=0.5", "dampening"]),
        ("data.random_labels=true data.label_noise=0.1", ["data.label_noise=0.1", "random_labels"]),
    ],
)
def test_bad_values_are_refused_in_one_line_naming_the_key(override, must_name) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(compose_config(override.split()))
    message = str(caught.value)
    assert "\n" not in message
    for word in must_name:
        assert word in message, (word, message)


@pytest.mark.parametrize(
    "overrides",
    [
        ["+trainer.profiler=simple", "+trainer.overfit_batches=1", "+trainer.barebones=false"],
        ["+optimizer.foreach=true", "+optimizer.amsgrad=true", "optimizer.betas=[0.5,0.9]"],
        [
            "+callbacks.lr_monitor._target_=pytorch_lightning.callbacks.LearningRateMonitor",
            "+callbacks.lr_monitor.logging_interval=epoch",
        ],
        ["optimizer=adamw", "optimizer.lr=1"],  # an int where torch's annotation is a float
        ["scheduler=step", "scheduler.gamma=1"],
        ["regularizer.l2.schedule.kind=delayed", "regularizer.l2.schedule.start=3"],
    ],
)
def test_what_the_targets_accept_is_accepted(overrides) -> None:
    validate_config(compose_config(overrides))


def test_python_callers_get_the_same_check() -> None:
    """`checked` applies a constructor's annotations to every call: one source for both."""
    from regopt.regularizers.dropout import Dropout

    with pytest.raises(
        ValueError, match=r"^p=1.5 is not allowed .*; allowed: a number in \[0, 1\)$"
    ):
        Dropout(p=1.5)
    assert Dropout(p=0.25).p == 0.25

    @checked
    def scaled(value: Annotated[float, Ge(0)], how: Literal["a", "b"] = "a") -> float:
        return value

    assert scaled(2) == 2
    with pytest.raises(ValueError, match="how='c'"):
        scaled(1.0, "c")


def test_annotations_the_check_cannot_read_are_skipped_not_refused() -> None:
    """A Tensor, an arbitrary class, a forward reference that fails: the constructor decides."""

    class Unknown:
        pass

    def target(a: torch.Tensor, b: Unknown, c: NoSuchName, d: float | torch.Tensor) -> None:  # noqa: F821
        pass

    signature = accepted(target)
    assert set(signature.parameters) == {"a", "b", "c", "d"}
    assert problem("anything", signature.parameters["a"]) is None
    assert problem([1, 2], signature.parameters["b"]) is None
    assert problem({"x": 1}, signature.parameters.get("c")) is None
    assert problem(True, signature.parameters["d"]) is not None  # the float arm is still checked
    assert describe(Annotated[int, Ge(1)]) == "a whole number >= 1"


def test_a_target_with_kwargs_accepts_any_key() -> None:
    def target(a: int = 1, **rest: object) -> None:
        pass

    assert accepted(target).any_key


def test_help_lists_every_group_and_option_and_imports_no_torch() -> None:
    code = (
        "import sys; sys.argv = ['regopt-train', '--help']; from regopt.train import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch imported:', 'torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert text.strip().endswith("torch imported: False")
    assert "docs/reliability.md" in text and "group=option" in text  # regopt's own header
    groups_part = text.split("== Configuration groups ==")[1].split("== Config ==")[0]
    listed = dict(re.findall(r"^([\w/]+): (.+)$", groups_part, flags=re.MULTILINE))
    for group in ALL_GROUPS:
        assert group in listed, group
        assert listed[group].split(", ") == options(group), group
    assert listed["experiment/sequential_vs_joint/arm"] == "joint, none, ramp, sequential"


def test_the_trainer_is_built_once_per_setting_and_a_setting_lightning_refuses_still_fails(
    monkeypatch, tmp_path
) -> None:
    """A sweep's jobs share their trainer node but for its run dir: the check builds the Trainer
    (what Lightning's constructor alone refuses) once for them, and again for another value."""
    import regopt.config.dummies as dummies

    built = []
    real = dummies._trainer
    monkeypatch.setattr(dummies, "_trainer", lambda node: built.append(node) or real(node))
    monkeypatch.setattr(dummies, "_TRAINERS_BUILT", set())
    for job in ("a", "b"):
        validate_config(compose_config([f"paths.output_dir={tmp_path / job}"]))
    assert len(built) == 1
    with pytest.raises(ConfigError) as caught:
        validate_config(compose_config(["+trainer.strategy=no_such_strategy"]))
    assert len(built) == 2
    assert "trainer.strategy" in str(caught.value)
    with pytest.raises(ConfigError):  # refused again: only what passed is remembered
        validate_config(compose_config(["+trainer.strategy=no_such_strategy"]))
