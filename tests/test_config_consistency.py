"""Values that pass their own key's type and range but not the data or another key: refused
in one line before training by the component that owns the knowledge (a data module against its
data set, torch's SGD, Lightning's Trainer, regopt's warm-up), where the run would otherwise stop
in a library's traceback."""

from __future__ import annotations

import warnings

import pytest
import torch
from sklearn.datasets import load_digits

from conftest import compose_config, options
from regopt.build import build_trainer
from regopt.config.errors import ConfigError
from regopt.config.validate import validate_config
from regopt.data.digits import DigitsDataModule


def refusal(overrides: list[str]) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_config(compose_config(overrides))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_digits_constants_are_the_data() -> None:
    images, labels = load_digits(return_X_y=True)
    data = DigitsDataModule
    assert (len(images), len(set(labels))) == (data.num_samples, data.num_classes)


@pytest.mark.parametrize(
    ("override", "must_name"),
    [
        ("data.train_fraction=0.001", ["data.train_fraction=0.001", "1 of the digits", "or 1"]),
        ("data.train_fraction=0.999", ["data.train_fraction=0.999", "2 for validation"]),
        ("data.train_size=5", ["data.train_size=5", ">= 10"]),
        ("data.train_size=1790", ["data.train_size=1790", "[10, 1787]"]),
        ("data=mnist1d data.train_size=3", ["data.train_size=3", ">= 10"]),
        ("data=mnist data.train_size=9", ["data.train_size=9", ">= 10"]),
        ("data=mnist1d data.num_samples=5", ["data.num_samples=5", "0 training"]),
        ("optimizer.betas=[0.9]", ["optimizer.betas=[0.9]", "a list of 2"]),
        ("optimizer.betas=[0.9,0.99,0.5]", ["optimizer.betas=[0.9, 0.99, 0.5]", "a list of 2"]),
        ("optimizer=nesterov optimizer.momentum=0", ["optimizer.nesterov=true", "a momentum"]),
        ("optimizer=sgd +optimizer.nesterov=true", ["optimizer.nesterov=true", "a momentum"]),
        (
            "optimizer=nesterov +optimizer.dampening=0.5",
            ["optimizer.nesterov=true with optimizer.dampening=0.5", "zero dampening"],
        ),
        ("scheduler=warmup_cosine trainer.max_epochs=5", ["scheduler.warmup_epochs=5", "< 5"]),
    ],
)
def test_a_value_that_the_data_or_another_key_rules_out_is_refused(override, must_name) -> None:
    message = refusal(override.split())
    for word in must_name:
        assert word in message, (word, message)


@pytest.mark.parametrize(
    "overrides",
    [
        ["data.train_size=10"],
        ["data.train_size=1787"],
        ["data.train_size=5000"],  # all for training
        [f"data.train_fraction={10 / DigitsDataModule.num_samples}"],
        ["data.train_fraction=0.994"],
        ["data.train_fraction=1.0"],
    ],
)
def test_the_digits_sizes_at_the_edges_are_accepted_and_split(overrides) -> None:
    """The rule is scikit-learn's, not a guess: what it accepts, the data module splits."""
    cfg = compose_config(overrides)
    validate_config(cfg)
    data = DigitsDataModule(train_fraction=cfg.data.train_fraction, train_size=cfg.data.train_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all for training: validates on the training set
        data.setup()
    assert set(data.y_train.tolist()) == set(range(10)) == set(data.y_val.tolist())


@pytest.mark.parametrize("devices", ["0", "-2", "abc", "[]", "[0,-1]"])
def test_devices_lightning_refuses_stop_in_one_line_naming_the_key(devices) -> None:
    """Lightning's own check of `devices`: the check builds a Trainer (the types fit)."""
    message = refusal([f"trainer.devices={devices}"])
    assert message.startswith("trainer.devices=") and "devices" in message.split(":", 1)[1]


@pytest.mark.parametrize("devices", ["1", "2", "auto", "'1'"])
def test_every_form_of_devices_lightning_takes_on_a_cpu_is_accepted(devices, tmp_path) -> None:
    cfg = compose_config([f"trainer.devices={devices}"], tmp_path)
    validate_config(cfg)
    assert build_trainer(cfg, logger=False).num_devices == int(
        str(devices).strip("'").replace("auto", "1")
    )


def test_nesterov_with_momentum_and_adam_with_two_betas_are_accepted() -> None:
    validate_config(compose_config(["optimizer=nesterov"]))
    validate_config(compose_config(["optimizer=adamw", "optimizer.betas=[0.5,0.9]"]))
    cfg = compose_config(["optimizer=nesterov"])
    assert torch.optim.SGD(
        [torch.zeros(1, requires_grad=True)],
        lr=cfg.optimizer.lr,
        momentum=cfg.optimizer.momentum,
        nesterov=True,
    )


@pytest.mark.parametrize("data", ["teacher", "synthetic", "mnist1d"])
def test_vae_on_data_without_normalize_names_the_key_and_the_data_module(data) -> None:
    """model=vae sets data.normalize=scale (its Bernoulli decoder needs inputs in [0, 1]): data
    whose module takes no `normalize` is refused by that module's signature, in one line that
    names the options chosen, since the user never typed the key."""
    message = refusal(["model=vae", f"data={data}"])
    assert message.startswith("data.normalize='scale': 'normalize' is not a key of data"), message
    assert message.endswith(f"not on the command line: model=vae, data={data})"), message


def test_vae_composes_with_every_data_option_that_has_normalize() -> None:
    with_normalize = [
        o for o in options("data") if "normalize" in compose_config([f"data={o}"])["data"]
    ]
    assert with_normalize == ["cifar10", "digits", "fashion_mnist", "mnist"]
    for option in with_normalize:
        validate_config(compose_config(["model=vae", f"data={option}"]))
