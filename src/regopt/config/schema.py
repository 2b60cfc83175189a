"""Strict checks of a resolved config node against a dataclass schema.

A schema is a plain dataclass: one field per key, its type hint the allowed type, and an optional
`Rule` (a range) in the field's metadata, given with `key(RULE)`. Types are strict, unlike
OmegaConf's own conversions: `true` is not a number, `5` is not a string, `"yes"` is not a bool.
Numbers must be finite. Every failure is one ConfigError line naming the key, the value and what
is allowed. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from functools import cache
from typing import Any, Literal, Union

from regopt.config.cli_errors import ConfigError
from regopt.config.rules import Rule


def key(rule: Rule | None = None) -> Any:
    """A schema field: no default is needed (a key the config leaves out keeps the target's own)."""
    return dataclasses.field(default=None, metadata={"rule": rule} if rule else {})


def show(value: Any) -> str:
    """A value as messages print it: Python's repr, lower-case booleans, none as null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)


@cache
def fields_of(schema: type) -> dict[str, tuple[Any, Rule | None]]:
    hints = typing.get_type_hints(schema)
    return {f.name: (hints[f.name], f.metadata.get("rule")) for f in dataclasses.fields(schema)}


def check_node(node: Any, schema: type, where: str, what: str) -> None:
    """Check a mapping against `schema`; `where` is its dotted key, `what` names it in messages."""
    if not isinstance(node, dict):
        raise ConfigError(f"{where}={show(node)} is not allowed; allowed: a mapping of {what}")
    fields = fields_of(schema)
    for name, value in node.items():
        full = f"{where}.{name}" if where else str(name)
        if name not in fields:
            allowed = ", ".join(sorted(fields))
            raise ConfigError(
                f"{full}={show(value)}: '{name}' is not a key of {what}; allowed keys: {allowed}"
            )
        hint, rule = fields[name]
        check_value(value, hint, rule, full)


def check_value(value: Any, hint: Any, rule: Rule | None, full: str) -> None:
    if not matches(value, hint, full):
        raise ConfigError(f"{full}={show(value)} is not allowed; allowed: {describe(hint, rule)}")
    numbers = value if isinstance(value, list) else [value]
    for number in numbers:
        if isinstance(number, float) and not math.isfinite(number):
            raise ConfigError(
                f"{full}={show(value)} is not a finite number; allowed: {describe(hint, rule)}"
            )
        if rule is not None and _is_number(number) and not rule.test(number):
            raise ConfigError(f"{full}={show(value)} is out of range; allowed: {rule.allowed}")


def matches(value: Any, hint: Any, full: str) -> bool:
    """Whether `value` has the type `hint` (a nested dataclass is checked, and raises, in full)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(matches(value, arm, full) for arm in args)
    if origin is Literal:
        return any(type(value) is type(choice) and value == choice for choice in args)
    if origin is tuple and Ellipsis not in args:  # a fixed length: Adam's two betas
        if not isinstance(value, list) or len(value) != len(args):
            return False
        return all(matches(v, arm, full) for v, arm in zip(value, args, strict=True))
    if origin in (list, tuple):
        return isinstance(value, list) and all(matches(v, args[0], full) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            return False
        check_node(value, hint, full, f"'{full}'")
        return True
    if hint is type(None):
        return value is None
    if hint is float:
        return _is_number(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def describe(hint: Any, rule: Rule | None = None) -> str:
    """What a type hint (and rule) allows, in words."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(arm, rule) for arm in args)
    if origin is Literal:
        return ", ".join(show(choice).strip("'") for choice in args)
    if origin is tuple and Ellipsis not in args and len(set(args)) == 1:
        return f"a list of {len(args)}, each {describe(args[0], rule)}"
    if origin in (list, tuple):
        return f"a list, each {describe(args[0], rule)}"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(hint):
        return f"a mapping with keys {', '.join(sorted(fields_of(hint)))}"
    if hint is type(None):
        return "null"
    if rule is not None and hint in (int, float):
        return rule.allowed
    names = {bool: "true, false", int: "a whole number", float: "a number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
