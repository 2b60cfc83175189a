"""Refusals that only a constructor knows, turned into one line naming the key.

torch checks an optimiser's `lr` when the optimiser is built ("Invalid learning rate: -1"),
Lightning checks `devices` when the Trainer is built, regopt's data modules check their sizes
against their data set. The config check builds the cheap objects once on dummies (the optimiser
on one parameter, the scheduler on that optimiser, the regularisers, the data module without its
data); the pipeline builds the rest under `naming_the_key`. Either way the failure names the key:
the one the message starts with (`train_size=5 leaves ...`), else the one key the message quotes
(`` `devices` ``), else the keys whose removal (the target's default) lets the object build.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from regopt.config.annotations import show
from regopt.config.errors import ConfigError
from regopt.config.signature import HYDRA_KEYS


def refused(error: BaseException) -> BaseException | None:
    """The constructor's own refusal inside `error` (Hydra wraps it), or None for a bug. An
    ImportError is a refusal too: the setting needs a package that is not installed (tpu)."""
    from hydra.errors import InstantiationException

    if isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, ValueError | TypeError | ImportError) or type(error).__name__ in (
        "MisconfigurationException",
    ):
        return error
    return None


def describe_refusal(
    where: str,
    node: Mapping[str, Any],
    error: BaseException,
    rebuild: Callable[[dict[str, Any]], Any] | None = None,
) -> str:
    """One line: the key the refusal is about, its value, and the constructor's own words."""
    message = " ".join(str(error).split()) or type(error).__name__
    if not where:
        return message
    keys = [k for k in node if k not in HYDRA_KEYS]
    start = re.match(r"(\w+)=", message)
    if start and start[1] in keys:
        return f"{where}.{message}"
    quoted = [k for k in keys if re.search(rf"`{k}`|\b{k}=|`Trainer\({k}=", message)]
    named = quoted if len(quoted) == 1 else _removable(node, keys, rebuild)
    if not named:
        return f"{where}: {message}"
    return " with ".join(f"{where}.{k}={show(node[k])}" for k in named) + f": {message}"


def _removable(
    node: Mapping[str, Any], keys: list[str], rebuild: Callable[[dict[str, Any]], Any] | None
) -> list[str]:
    """The keys without any one of which the object builds (its default restored)."""
    if rebuild is None:
        return []
    found = []
    for key in keys:
        try:
            rebuild({k: v for k, v in node.items() if k != key})
        except Exception:  # noqa: BLE001, S112 (still refused, or a required key removed)
            continue
        found.append(key)
    return found


def build(where: str, node: Mapping[str, Any], make: Callable[[dict[str, Any]], Any]) -> Any:
    """`make(node)`, its refusal raised as one ConfigError line naming the key."""
    try:
        return make(dict(node))
    except Exception as error:
        own = refused(error)
        if own is None:
            raise
        raise ConfigError(describe_refusal(where, node, own, make)) from error


@contextmanager
def naming_the_key(where: str, node: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Inside the pipeline: a constructor's refusal of `node` becomes one ConfigError line."""
    try:
        yield
    except ConfigError:
        raise
    except Exception as error:
        own = refused(error)
        if own is None:
            raise
        raise ConfigError(describe_refusal(where, node or {}, own)) from error
