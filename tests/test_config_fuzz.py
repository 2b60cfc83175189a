"""Property: any bad override (a number out of range, a wrong type, an unknown option or key)
is refused before training, in one line that names the key and the bad value, never with a
traceback: what is allowed too, where the check reads it from an annotation; torch's own words
where only torch's constructor knows (an optimiser's lr and weight_decay).

In-process (compose + validate, as the CLI runs them) so that hundreds of examples take seconds;
test_cli.py checks the same path as a subprocess (exit code 2, one stderr line, no traceback).
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import string

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException
from hydra.utils import get_object
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf

from conftest import compose_config, options
from regopt.config.cli_errors import describe_config_error
from regopt.config.errors import ConfigError
from regopt.config.validate import validate_config

# Keys by the kind of value they take: written out here, not read from the signatures under test.
POSITIVE = ["regularizer.l2.prior_std", "verdict.min_rise", "logger.wandb.init_timeout_s"]
# (not trainer.gradient_clip_val: Lightning's Trainer takes any number, <= 0 meaning no clipping)
NON_NEGATIVE = ["regularizer.l2.weight", "diagnostics.weights.sparsity_tol"]
# torch's optimisers refuse these when built (a negative number, NaN; not infinity), in their
# own words: the message names the key and the value, without "allowed"
TORCH_NON_NEGATIVE = ["optimizer.lr", "optimizer.weight_decay"]
IN_0_1 = ["data.label_noise", "verdict.min_train_fall"]  # [0, 1]
IN_0_1_OPEN_LOW = ["data.train_fraction"]  # (0, 1]
IN_0_1_OPEN_HIGH = ["model.dropout"]  # [0, 1)
POSITIVE_INT = [
    "data.batch_size",
    "data.eval_batch_size",
    "callbacks.progress.every_n_epochs",
    "diagnostics.train_eval.max_samples",
    "verdict.patience",
    "data.train_size",
]
CHOICES = {
    "data.normalize": ["standard", "scale", "none"],
    "model.activation": ["relu", "gelu", "tanh", "silu"],
    "optimizer.weight_decay_params": ["weights", "all"],
    "regularizer.l2.params": ["weights", "all"],
    "schedule.kind": ["constant", "delayed", "linear", "cosine", "switch_off"],
}
BOOLEANS = [
    "data.random_labels",
    "optimizer.decoupled_weight_decay",
    "diagnostics.weights.per_layer",
    "trainer.enable_progress_bar",
]
STRINGS = ["name", "callbacks.model_checkpoint.monitor", "logger.wandb.project"]
GROUPS = ["data", "model", "optimizer", "scheduler", "trainer", "callbacks", "diagnostics"]
RESERVED = {"true", "false", "null", "inf", "nan", "none", "on", "off", "yes", "no"}

words = st.text(string.ascii_lowercase, min_size=1, max_size=8).filter(lambda w: w not in RESERVED)
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
not_a_number = st.one_of(words, st.booleans(), st.lists(st.integers(0, 9), min_size=1, max_size=3))


NON_FINITE = (math.inf, -math.inf, math.nan)


def numeric_key(
    keys: list[str], bad_numbers: st.SearchStrategy, special: tuple = NON_FINITE
) -> st.SearchStrategy:
    """(key, value): a number out of range, a non-finite number, or something not a number."""
    return st.tuples(
        st.sampled_from(keys), st.one_of(bad_numbers, st.sampled_from(special), not_a_number)
    )


torch_settings = numeric_key(TORCH_NON_NEGATIVE, finite.filter(lambda v: v < 0), (math.nan,))
bad_settings = st.one_of(
    numeric_key(POSITIVE, finite.filter(lambda v: v <= 0)),
    numeric_key(NON_NEGATIVE, finite.filter(lambda v: v < 0)),
    numeric_key(IN_0_1, finite.filter(lambda v: not 0 <= v <= 1)),
    numeric_key(IN_0_1_OPEN_LOW, finite.filter(lambda v: not 0 < v <= 1)),
    numeric_key(IN_0_1_OPEN_HIGH, finite.filter(lambda v: not 0 <= v < 1)),
    numeric_key(
        POSITIVE_INT, st.one_of(st.integers(max_value=0), finite.filter(lambda v: v != int(v)))
    ),
    st.sampled_from(sorted(CHOICES)).flatmap(
        lambda key: st.tuples(
            st.just(key),
            st.one_of(words.filter(lambda w: w not in CHOICES[key]), st.integers(), st.booleans()),
        )
    ),
    st.tuples(st.sampled_from(BOOLEANS), st.one_of(words, st.integers(), finite)),
    st.tuples(
        st.sampled_from(STRINGS),
        st.one_of(st.integers(), finite, st.booleans(), st.lists(words, min_size=1, max_size=2)),
    ),
    st.tuples(
        st.just("model.widths"),
        st.one_of(
            words,
            st.integers(),
            st.lists(st.integers(max_value=0), min_size=1, max_size=3),
            st.lists(words, min_size=1, max_size=2),
        ),
    ),
)


def override_text(value) -> str:
    """A Python value as Hydra's override grammar writes it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(override_text(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # inf, -inf, nan
    return repr(value) if isinstance(value, float) else str(value)


def as_shown(value) -> str:
    """How the message must print the value (strings quoted, as Python does)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(as_shown(v) for v in value) + "]"
    return repr(value) if isinstance(value, str | float) else str(value)


@functools.cache
def default_config() -> DictConfig:
    return compose_config([])


def refusal_of_value(override: str) -> str:
    """The CLI's one-line message for `key=value`: Hydra's parser reads the value, which goes
    into the default config (composed once: a compose per example would take seconds)."""
    parsed = OverridesParser.create().parse_override(override)
    cfg = copy.deepcopy(default_config())
    OmegaConf.update(cfg, parsed.key_or_group, parsed.value(), merge=False)
    try:
        validate_config(cfg)
    except ConfigError as error:
        return describe_config_error(error)
    raise AssertionError(f"accepted: {override}")


def refusal(overrides: list[str]) -> str:
    """The one-line message the CLI would print for these overrides (fails if none)."""
    try:
        cfg = compose_config(overrides)
    except ConfigCompositionException as error:  # unknown options and keys: Hydra's struct mode
        return describe_config_error(error)
    try:
        validate_config(cfg)
    except ConfigError as error:
        return describe_config_error(error)
    raise AssertionError(f"accepted: {overrides}")


# No shrinking: each example composes a config, and shrinking a failure can take minutes; the
# failing example is printed as drawn.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
FAST = settings(
    max_examples=150, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow]
)


@FAST
@given(bad_settings)
def test_a_bad_value_is_refused_naming_key_value_and_allowed(setting) -> None:
    key, value = setting
    message = refusal_of_value(f"{key}={override_text(value)}")
    assert "\n" not in message
    assert f"{key}={as_shown(value)}" in message, message
    assert "allowed: " in message


@FAST
@given(torch_settings)
def test_a_value_only_torch_refuses_is_refused_naming_key_and_value(setting) -> None:
    key, value = setting
    message = refusal_of_value(f"{key}={override_text(value)}")
    assert "\n" not in message
    assert f"{key}={as_shown(value)}" in message, message


@settings(max_examples=15, deadline=None, phases=NO_SHRINK)
@given(st.sampled_from(GROUPS), words)
def test_an_unknown_option_of_a_group_is_refused_listing_the_options(group, name) -> None:
    if name in options(group):
        return
    message = refusal([f"{group}={name}"])
    assert message.startswith(f"{group}={name} is not an option of '{group}'; allowed: ")
    assert message.endswith(", ".join(options(group)))


@settings(max_examples=15, deadline=None, phases=NO_SHRINK)
@given(st.sampled_from(["optimizer", "data", "model", "trainer", "verdict"]), words, st.booleans())
def test_an_unknown_key_is_refused_naming_it(group, name, added) -> None:
    known = default_config()[group]
    target = inspect.signature(get_object(known["_target_"])).parameters  # the reference
    if name in known or name in target:
        return
    message = refusal([f"{'+' if added else ''}{group}.{name}=1"])
    assert "\n" not in message
    assert f"{group}.{name}=1" in message and "not a" in message
    assert "allowed keys" in message
