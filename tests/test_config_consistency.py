"""Values that pass their own key's type and range but not the data or another key: refused
in one line before training, where the run would otherwise stop in a library's traceback."""

from __future__ import annotations

import warnings

import pytest
import torch
from sklearn.datasets import load_digits

from conftest import compose_config, options
from regopt.config.cli_errors import ConfigError
from regopt.config.consistency import DATA_WITH_NORMALIZE, DIGITS_CLASSES, DIGITS_SAMPLES
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
    assert (len(images), len(set(labels))) == (DIGITS_SAMPLES, DIGITS_CLASSES)


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
        ("optimizer.betas=[0.9]", ["optimizer.betas=[0.9]", "a list of 2", "[0, 1)"]),
        ("optimizer.betas=[0.9,0.99,0.5]", ["optimizer.betas=[0.9, 0.99, 0.5]", "a list of 2"]),
        ("trainer.devices=0", ["trainer.devices=0", "a whole number >= 1", "-1", "auto"]),
        ("trainer.devices=-2", ["trainer.devices=-2", "a whole number >= 1"]),
        ("trainer.devices=abc", ["trainer.devices='abc'", "auto"]),
        ("trainer.devices=[]", ["trainer.devices=[]", "GPU indices"]),
        ("trainer.devices=[0,-1]", ["trainer.devices=[0, -1]", "GPU indices"]),
        ("optimizer=nesterov optimizer.momentum=0", ["optimizer.nesterov=true", "momentum > 0"]),
        ("optimizer=sgd +optimizer.nesterov=true", ["optimizer.momentum=0", "momentum > 0"]),
        ("optimizer=nesterov +optimizer.dampening=0.5", ["optimizer.dampening=0.5", "dampening=0"]),
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
        [f"data.train_fraction={10 / DIGITS_SAMPLES}"],
        ["data.train_fraction=0.994"],
        ["data.train_fraction=1.0"],
    ],
)
def test_the_digits_sizes_at_the_edges_are_accepted_and_split(overrides) -> None:
    """The rule is scikit-learn's, not a guess: what it accepts, the data module splits."""
    cfg = compose_config(overrides)
    validate_config(cfg)
    data = DigitsDataModule(train_fraction=cfg.data.train_fraction,
                            train_size=cfg.data.train_size)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all for training: validates on the training set
        data.setup()
    assert set(data.y_train.tolist()) == set(range(10)) == set(data.y_val.tolist())


@pytest.mark.parametrize("devices", ["1", "2", "-1", "auto", "[0,1]", "'0,1'", "'1,'"])
def test_every_form_of_devices_lightning_takes_is_accepted(devices) -> None:
    validate_config(compose_config([f"trainer.devices={devices}"]))


def test_nesterov_with_momentum_and_adam_with_two_betas_are_accepted() -> None:
    validate_config(compose_config(["optimizer=nesterov"]))
    validate_config(compose_config(["optimizer=adamw", "optimizer.betas=[0.5,0.9]"]))
    cfg = compose_config(["optimizer=nesterov"])
    assert torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.optimizer.lr,
                           momentum=cfg.optimizer.momentum, nesterov=True)  # fmt: skip


@pytest.mark.parametrize("data", ["teacher", "synthetic", "mnist1d"])
def test_vae_on_data_without_normalize_names_the_pair_of_options(data) -> None:
    """model=vae sets data.normalize=scale: the message names that, not a key the user never typed
    as if it were a typo."""
    message = refusal(["model=vae", f"data={data}"])
    assert message.startswith("model=vae sets data.normalize='scale'"), message
    assert "data=digits" in message and "data=cifar10" in message


def test_the_data_options_named_for_the_vae_are_those_with_normalize() -> None:
    with_normalize = {f"data={o}" for o in options("data") if "normalize" in
                      compose_config([f"data={o}"]).data}  # fmt: skip
    assert with_normalize == set(DATA_WITH_NORMALIZE)
    for option in DATA_WITH_NORMALIZE:
        validate_config(compose_config(["model=vae", option]))
