"""Rules that tie a value to another key or to the data, checked with the schemas (no torch).

Each of these passes the type and range checks of a single key, yet would stop the run later
with a library's traceback (scikit-learn's stratified split, torch's SGD, Lightning's Trainer).
Each failure is one ConfigError line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import math
import re
from typing import Any

from regopt.config.cli_errors import ConfigError
from regopt.config.schema import show

# scikit-learn's bundled digits (regopt.data.digits; tests/test_config_consistency.py checks it)
DIGITS_SAMPLES, DIGITS_CLASSES = 1797, 10
# data modules that keep a stratified subset of `train_size` samples of 10 classes
STRATIFIED_TARGETS = {
    "regopt.data.digits.DigitsDataModule": 10,
    "regopt.data.mnist1d.MNIST1DDataModule": 10,
    "regopt.data.vision.OpenMLImageDataModule": 10,
}
# the data options with a `normalize` key (tests/test_config_consistency.py checks the list)
DATA_WITH_NORMALIZE = ("data=digits", "data=mnist", "data=fashion_mnist", "data=cifar10")
GPU_INDICES = re.compile(r"^\s*\d+\s*(,\s*\d+\s*)*,?\s*$")  # Lightning's "0,1" or "0,"


def check_option_pairs(tree: dict[str, Any]) -> None:
    """Before the schemas: a key one group's option sets in another group (model=vae sets
    data.normalize=scale) that the chosen data does not have, named as the pair of options."""
    from regopt.config.schema import fields_of
    from regopt.config.schemas import REGISTRY

    model, data = tree.get("model") or {}, tree.get("data") or {}
    if model.get("_target_") != "regopt.models.vae.VAE" or "normalize" not in data:
        return
    data_schemas = REGISTRY.get("data", {})
    schema = data_schemas.get(data.get("_target_", ""))
    if schema is None or "normalize" in fields_of(schema):
        return
    raise ConfigError(
        f"model=vae sets data.normalize={show(data['normalize'])} (its Bernoulli decoder needs "
        f"inputs in [0, 1]), which {data['_target_'].rsplit('.', 1)[-1]} does not have; "
        f"allowed: data with a normalize key: {', '.join(DATA_WITH_NORMALIZE)}"
    )


def check_consistency(tree: dict[str, Any]) -> None:
    """Every cross-key rule on a resolved config that has passed the schemas."""
    data = tree.get("data") or {}
    _check_stratified_sizes(data)
    if data.get("_target_") == "regopt.data.digits.DigitsDataModule":
        _check_digits_split(data)
    if data.get("_target_") == "regopt.data.mnist1d.MNIST1DDataModule":
        _check_mnist1d_parts(data)
    _check_devices((tree.get("trainer") or {}).get("devices"))
    _check_nesterov(tree.get("optimizer") or {})
    _check_warmup(tree.get("scheduler") or {})


def _check_stratified_sizes(data: dict[str, Any]) -> None:
    """A stratified subset needs at least one sample of every class."""
    classes = STRATIFIED_TARGETS.get(data.get("_target_", ""))
    size = data.get("train_size")
    if classes is not None and isinstance(size, int) and size < classes:
        raise ConfigError(
            f"data.train_size={size} is too small for a stratified split; allowed: a whole "
            f"number >= {classes} (one sample per class), or null"
        )


def _check_digits_split(data: dict[str, Any]) -> None:
    """Both parts of the digits' split need a sample of every class (scikit-learn's rule)."""
    size, fraction = data.get("train_size"), data.get("train_fraction")
    if isinstance(size, int):
        key, value, n_train = "data.train_size", size, size
    elif isinstance(fraction, int | float) and fraction < 1:
        key, value, n_train = "data.train_fraction", fraction, math.floor(fraction * DIGITS_SAMPLES)
    else:
        return
    if n_train >= DIGITS_SAMPLES:  # all for training, validated on the training set
        return
    if n_train < DIGITS_CLASSES or DIGITS_SAMPLES - n_train < DIGITS_CLASSES:
        low, high = DIGITS_CLASSES, DIGITS_SAMPLES - DIGITS_CLASSES
        allowed = (
            f"a whole number in [{low}, {high}], or >= {DIGITS_SAMPLES} (all)"
            if key.endswith("size")
            else f"a fraction leaving >= {low} samples in each part (about "
            f"{low / DIGITS_SAMPLES:.4f} to {high / DIGITS_SAMPLES:.4f}), or 1"
        )
        raise ConfigError(
            f"{key}={show(value)} leaves {n_train} of the digits' {DIGITS_SAMPLES} samples for "
            f"training and {DIGITS_SAMPLES - n_train} for validation; each part needs "
            f">= {DIGITS_CLASSES} (one per class); allowed: {allowed}"
        )


def _check_mnist1d_parts(data: dict[str, Any]) -> None:
    """The generator makes num_samples // 10 samples per class, then splits at train_split."""
    total = 10 * (data.get("num_samples", 5000) // 10)
    n_train = int(total * data.get("train_split", 0.8))
    if n_train < 10 or total - n_train < 1:
        raise ConfigError(
            f"data.num_samples={data.get('num_samples')} with data.train_split="
            f"{data.get('train_split')} gives {n_train} training and {total - n_train} "
            "validation samples; allowed: >= 10 training samples and >= 1 validation sample"
        )


def _check_devices(devices: Any) -> None:
    """Lightning's `devices`: a count >= 1, -1 (all), auto, or GPU indices; never 0."""
    allowed = (
        "a whole number >= 1, -1 (all), auto, or GPU indices as a list [0, 1] or a string '0,1'"
    )
    text = devices.strip() if isinstance(devices, str) else None
    if text is not None and re.fullmatch(r"-?\d+", text):
        devices = int(text)  # Lightning reads "2" as 2
    if isinstance(devices, int) and not isinstance(devices, bool):
        ok = devices == -1 or devices >= 1
    elif isinstance(devices, list):
        ok = bool(devices) and min(devices) >= 0 and len(set(devices)) == len(devices)
    elif text is not None:
        ok = text == "auto" or bool(GPU_INDICES.match(text))
    else:
        ok = devices is None
    if not ok:
        raise ConfigError(f"trainer.devices={show(devices)} is not allowed; allowed: {allowed}")


def _check_nesterov(optimizer: dict[str, Any]) -> None:
    """torch's SGD refuses Nesterov momentum without momentum or with dampening."""
    if optimizer.get("_target_") != "torch.optim.SGD" or not optimizer.get("nesterov"):
        return
    momentum, dampening = optimizer.get("momentum", 0), optimizer.get("dampening", 0)
    if momentum <= 0 or dampening != 0:
        raise ConfigError(
            f"optimizer.nesterov=true with optimizer.momentum={show(momentum)} and "
            f"optimizer.dampening={show(dampening)}; allowed: momentum > 0 and dampening=0 with "
            "Nesterov momentum (or optimizer.nesterov=false)"
        )


def _check_warmup(scheduler: dict[str, Any]) -> None:
    """A warm-up as long as the run never reaches optimizer.lr, and would say nothing of it."""
    warmup, epochs = scheduler.get("warmup_epochs"), scheduler.get("max_epochs")
    if isinstance(warmup, int) and isinstance(epochs, int) and warmup >= epochs > 0:
        raise ConfigError(
            f"scheduler.warmup_epochs={show(warmup)} with {epochs} epochs: the learning rate "
            f"would never reach optimizer.lr; allowed: a whole number < {epochs} "
            "(trainer.max_epochs)"
        )
