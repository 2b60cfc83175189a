"""Every key of every config option has a typed schema; bad values stop in one line, early."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import CONF, ROOT, compose_config, options
from regopt.config.cli_errors import ConfigError
from regopt.config.validate import validate_config

# Every group under conf/ but Hydra's own (hydra/launcher, hydra/sweeper: the plugins check those).
ALL_GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra")
# options that only make sense inside an experiment (they interpolate its root keys)
CONTEXT = {"arm": ["experiment=sequential_vs_joint"], "reg": ["experiment=sequential_vs_joint"],
           "l2_form": ["experiment=l2_vs_weight_decay"]}  # fmt: skip
HOW_TO = "every key needs a typed field: see docs/reliability.md, 'Adding a config option'"


@pytest.mark.parametrize(("group", "option"), [(g, o) for g in ALL_GROUPS for o in options(g)])
def test_every_key_of_every_option_has_a_schema(group: str, option: str, tmp_path) -> None:
    cfg = compose_config([*CONTEXT.get(group, []), f"{group}={option}"], tmp_path)
    try:
        validate_config(cfg)
    except ConfigError as error:
        pytest.fail(f"conf/{group}/{option}.yaml: {error}\n{HOW_TO}")


def write_option(conf_dir, group: str, name: str, body: str) -> str:
    (conf_dir / group).mkdir(parents=True, exist_ok=True)
    (conf_dir / group / f"{name}.yaml").write_text(body)
    return f"hydra.searchpath=[file://{conf_dir}]"


def test_an_option_with_a_key_no_schema_knows_is_refused(tmp_path) -> None:
    search = write_option(tmp_path / "conf", "data", "digits_plus",
                          "defaults:\n  - digits\n  - _self_\nnew_knob: 3\n")  # fmt: skip
    cfg = compose_config([search, "data=digits_plus"], tmp_path / "run")
    with pytest.raises(ConfigError, match=r"^data.new_knob=3: 'new_knob' is not a key of data"):
        validate_config(cfg)


def test_an_option_with_a_new_target_is_refused_naming_the_schema_to_add(tmp_path) -> None:
    search = write_option(tmp_path / "conf", "model", "resnet",
                          "_target_: regopt.models.resnet.ResNet\nchannels: [8, 16]\n")  # fmt: skip
    cfg = compose_config([search, "model=resnet"], tmp_path / "run")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg)
    message = str(caught.value)
    assert message.startswith("model._target_='regopt.models.resnet.ResNet' has no schema")
    assert "@schema('model', 'regopt.models.resnet.ResNet')" in message
    assert "regopt.models.mlp.MLP" in message  # what is allowed


# The examples, and wrong types the range rules alone did not catch.
@pytest.mark.parametrize(
    ("override", "must_name"),
    [
        ("optimizer.lr=-0.1", ["optimizer.lr=-0.1", "out of range", "a number > 0"]),
        ("regularizer.l2.weight=-1", ["regularizer.l2.weight=-1", "a number >= 0"]),
        ("model.dropout=1", ["model.dropout=1", "[0, 1)"]),
        ("regularizer=dropout regularizer.dropout.p=1.5", ["regularizer.dropout.p=1.5", "[0, 1)"]),
        ("data.train_fraction=1.5", ["data.train_fraction=1.5", "(0, 1]"]),
        ("data.label_noise=-0.1", ["data.label_noise=-0.1", "[0, 1]"]),
        ("model.widths=abc", ["model.widths='abc'", "a list, each a whole number >= 1"]),
        ("model.widths=[64,a]", ["model.widths=[64, 'a']", "a list, each a whole number"]),
        ("model.widths=[64,0]", ["model.widths=[64, 0]", "out of range", ">= 1"]),
        ("trainer.accelerator=5", ["trainer.accelerator=5", "cpu, gpu"]),
        ("trainer.max_epochs=2.5", ["trainer.max_epochs=2.5", "a whole number >= 1"]),
        ("seed=x", ["seed='x'", "a whole number in [0, 2**32)"]),
        ("name=[1]", ["name=[1]", "a string"]),
        ("threads=0", ["threads=0", "a whole number >= 1"]),
        ("data.normalize=true", ["data.normalize=true", "standard, scale, none"]),
        ("optimizer.lr=inf", ["optimizer.lr=inf", "finite"]),
        ("optimizer.betas=[0.9,1.0]", ["optimizer.betas=[0.9, 1.0]", "[0, 1)"]),
        ("callbacks.progress.every_n_epochs=0", ["callbacks.progress.every_n_epochs=0", ">= 1"]),
        ("logger.wandb.init_timeout_s=soon", ["logger.wandb.init_timeout_s='soon'", "> 0"]),
        ("scheduler=step scheduler.gamma=-1", ["scheduler.gamma=-1", "a number > 0"]),
        ("data=synthetic data.num_classes=1", ["data.num_classes=1", "a whole number >= 2"]),
        ("diagnostics.weights.per_layer=1", ["diagnostics.weights.per_layer=1", "true, false"]),
        ("+optimizer.lrr=0.1", ["optimizer.lrr=0.1", "not a key", "lr, weight_decay"]),
        ("regularizer.l2.schedule.kind=sometimes", ["schedule.kind='sometimes'", "delayed"]),
    ],
)
def test_bad_values_are_refused_in_one_line_naming_key_value_and_allowed(override, must_name):
    with pytest.raises(ConfigError) as caught:
        validate_config(compose_config(override.split()))
    message = str(caught.value)
    assert "\n" not in message
    for word in must_name:
        assert word in message, (word, message)


def test_validation_imports_no_torch() -> None:
    code = ("import sys; sys.path.insert(0, 'tests'); from conftest import compose_config; "
            "from regopt.config.validate import validate_config; "
            "validate_config(compose_config(['model=vae', 'scheduler=cosine'])); "
            "print(sorted({'torch', 'pytorch_lightning'} & set(sys.modules)))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_help_lists_every_group_and_option_and_imports_no_torch() -> None:
    code = ("import sys; sys.argv = ['regopt-train', '--help']; from regopt.train import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('torch imported:', 'torch' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert text.strip().endswith("torch imported: False")
    assert "docs/reliability.md" in text and "group=option" in text  # regopt's own header
    groups_part = text.split("== Configuration groups ==")[1].split("== Config ==")[0]
    listed = dict(re.findall(r"^(\w+): (.+)$", groups_part, flags=re.MULTILINE))
    for group in ALL_GROUPS:
        assert group in listed, group
        assert listed[group].split(", ") == options(group), group
