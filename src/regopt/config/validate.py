"""Range checks on the composed config, run before any heavy import.

Hydra's struct mode already rejects unknown keys and options; this rejects values that are of the
right kind but mean nothing (a negative learning rate, a dropout of 1). Each failure names the key,
the value and what is allowed, in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from omegaconf import DictConfig, OmegaConf

from regopt.config.cli_errors import ConfigError
from regopt.regularizers.schedule import KINDS


@dataclass(frozen=True)
class Rule:
    test: Callable[[float], bool]
    allowed: str


POSITIVE = Rule(lambda v: v > 0, "a number > 0")
NON_NEGATIVE = Rule(lambda v: v >= 0, "a number >= 0")
FRACTION_OPEN_CLOSED = Rule(lambda v: 0 < v <= 1, "a number in (0, 1]")
FRACTION_CLOSED = Rule(lambda v: 0 <= v <= 1, "a number in [0, 1]")
PROBABILITY_BELOW_ONE = Rule(lambda v: 0 <= v < 1, "a number in [0, 1)")
POSITIVE_INT = Rule(lambda v: float(v).is_integer() and v >= 1, "a whole number >= 1")
NON_NEGATIVE_INT = Rule(lambda v: float(v).is_integer() and v >= 0, "a whole number >= 0")
ODD_POSITIVE_INT = Rule(
    lambda v: float(v).is_integer() and v >= 1 and v % 2 == 1, "an odd whole number >= 1"
)

SCHEDULE_KINDS = KINDS  # regopt.regularizers.schedule imports no torch

# key (relative to the config root) -> rule; keys absent from the composed config are skipped.
RULES: dict[str, Rule] = {
    "data.train_fraction": FRACTION_OPEN_CLOSED,
    "data.label_noise": FRACTION_CLOSED,
    "data.train_size": POSITIVE_INT,
    "data.batch_size": POSITIVE_INT,
    "data.eval_batch_size": POSITIVE_INT,
    "data.n_train": POSITIVE_INT,
    "data.n_val": POSITIVE_INT,
    "data.input_dim": POSITIVE_INT,
    "data.num_classes": POSITIVE_INT,
    "data.class_sep": NON_NEGATIVE,
    "data.teacher_width": POSITIVE_INT,
    "data.output_dim": POSITIVE_INT,
    "data.noise_std": NON_NEGATIVE,
    "data.num_samples": POSITIVE_INT,
    "data.train_split": Rule(lambda v: 0 < v < 1, "a number in (0, 1)"),
    "data.final_seq_length": POSITIVE_INT,
    "data.corr_noise_scale": NON_NEGATIVE,
    "data.iid_noise_scale": NON_NEGATIVE,
    "data.scale_coeff": NON_NEGATIVE,
    "data.shear_scale": NON_NEGATIVE,
    "data.max_translation": POSITIVE_INT,
    "data.data_seed": NON_NEGATIVE_INT,
    "data.val_size": POSITIVE_INT,
    "data.test_rows": POSITIVE_INT,
    "model.dropout": PROBABILITY_BELOW_ONE,
    "model.prior_std": POSITIVE,
    "model.init_std": POSITIVE,
    "model.eval_samples": NON_NEGATIVE_INT,
    "model.latent_dim": POSITIVE_INT,
    "model.kernel_size": POSITIVE_INT,
    "model.hidden": POSITIVE_INT,
    "optimizer.lr": POSITIVE,
    "optimizer.weight_decay": NON_NEGATIVE,
    "optimizer.momentum": FRACTION_CLOSED,
    "optimizer.alpha": FRACTION_CLOSED,
    "optimizer.eps": POSITIVE,
    "optimizer.lr_decay": NON_NEGATIVE,
    "optimizer.initial_accumulator_value": NON_NEGATIVE,
    "trainer.max_epochs": POSITIVE_INT,
    "trainer.gradient_clip_val": NON_NEGATIVE,
    "diagnostics.train_eval.max_samples": POSITIVE_INT,
    "diagnostics.gradients.max_samples": POSITIVE_INT,
    "diagnostics.gradients.every_n_epochs": POSITIVE_INT,
    "diagnostics.weights.sparsity_tol": NON_NEGATIVE,
    "verdict.smooth_window": ODD_POSITIVE_INT,
    "verdict.min_rise": POSITIVE,
    "verdict.patience": POSITIVE_INT,
    "verdict.min_epochs": POSITIVE_INT,
    "verdict.min_train_fall": FRACTION_CLOSED,
    "schedule.start": NON_NEGATIVE_INT,
    "schedule.end": NON_NEGATIVE_INT,
}
BOOLEANS = ("data.random_labels", "data.shuffle_seq", "diagnostics.weights.per_layer")
# rules applied to every selected regulariser, by its key
REGULARIZER_RULES: dict[str, Rule] = {
    "weight": NON_NEGATIVE,
    "l1_ratio": FRACTION_CLOSED,
    "prior_std": POSITIVE,
    "p": PROBABILITY_BELOW_ONE,
    "std": NON_NEGATIVE,
    "smoothing": PROBABILITY_BELOW_ONE,
    "bound": POSITIVE,
    "beta": NON_NEGATIVE,
    "schedule.start": NON_NEGATIVE_INT,
    "schedule.end": NON_NEGATIVE_INT,
}
CHOICES: dict[str, tuple[str | bool, ...]] = {
    "resume": ("auto", "none"),
    "data.normalize": ("standard", "scale", "none"),
    "data.parser": ("auto", "pandas", "liac-arff"),
    "model.activation": ("relu", "gelu", "tanh", "silu"),
    "model.likelihood": ("bernoulli", "gaussian"),
    "optimizer.weight_decay_params": ("weights", "all"),
    "optimizer.decoupled_weight_decay": (True, False),
    "trainer.gradient_clip_algorithm": ("norm", "value"),
    "schedule.kind": SCHEDULE_KINDS,
}
REGULARIZER_CHOICES: dict[str, tuple[str, ...]] = {
    "params": ("weights", "all"),
    "schedule.kind": SCHEDULE_KINDS,
}


def validate_config(cfg: DictConfig) -> None:
    threads = cfg.get("threads")
    if threads not in (None, "auto") and not (
        isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1
    ):
        raise ConfigError(
            f"threads={threads!r} is not allowed; allowed: auto or a whole number >= 1"
        )
    for key, rule in RULES.items():
        _check(cfg, key, rule)
    for key, choices in CHOICES.items():
        _check_choice(cfg, key, choices)
    for key in BOOLEANS:
        _check_bool(cfg, key)
    _check_label_options(cfg)
    _check_ramp(cfg, "schedule")
    for name in cfg.get("regularizer") or {}:
        for sub, rule in REGULARIZER_RULES.items():
            _check(cfg, f"regularizer.{name}.{sub}", rule)
        for sub, choices in REGULARIZER_CHOICES.items():
            _check_choice(cfg, f"regularizer.{name}.{sub}", choices)
        _check_ramp(cfg, f"regularizer.{name}.schedule")


def _check_ramp(cfg: DictConfig, key: str) -> None:
    """A linear or cosine ramp needs an end after its start."""
    kind = OmegaConf.select(cfg, f"{key}.kind", default=None)
    if kind not in ("linear", "cosine"):
        return
    start = OmegaConf.select(cfg, f"{key}.start", default=0) or 0
    end = OmegaConf.select(cfg, f"{key}.end", default=None)
    if end is None or end <= start:
        raise ConfigError(
            f"{key}.end={end!r} with {key}.kind={kind}; allowed: a whole number > {key}.start "
            f"({start})"
        )


def _check(cfg: DictConfig, key: str, rule: Rule) -> None:
    value = OmegaConf.select(cfg, key, default=None)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}={value!r} is not a number; allowed: {rule.allowed}")
    if not rule.test(value):
        raise ConfigError(f"{key}={value!r} is out of range; allowed: {rule.allowed}")


def _check_choice(cfg: DictConfig, key: str, choices: tuple[str | bool, ...]) -> None:
    value = OmegaConf.select(cfg, key, default=None)
    # type-strict: 1 is not True, "true" is not True
    if value is not None and not any(type(value) is type(c) and value == c for c in choices):
        allowed = ", ".join(str(c).lower() if isinstance(c, bool) else c for c in choices)
        raise ConfigError(f"{key}={value!r} is not allowed; allowed: {allowed}")


def _check_bool(cfg: DictConfig, key: str) -> None:
    value = OmegaConf.select(cfg, key, default=None)
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"{key}={value!r} is not allowed; allowed: true, false")


def _check_label_options(cfg: DictConfig) -> None:
    noise = OmegaConf.select(cfg, "data.label_noise", default=0) or 0
    if OmegaConf.select(cfg, "data.random_labels", default=False) and noise:
        raise ConfigError(
            f"data.label_noise={noise!r} with data.random_labels=true: random labels replace "
            "every training label; allowed: data.label_noise=0 when data.random_labels=true"
        )
