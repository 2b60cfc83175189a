"""Whether a config value fits a parameter's type annotation, checked by pydantic.

A config value is plain data (what YAML and Hydra's overrides can write), so it is checked as
pydantic checks JSON, in strict mode: `true` is not a number, `"abc"` is not a float, `5` is not a
string, an int is a float, a list is a tuple of the right length (Adam's betas). A float
annotation with a range (`Annotated[float, annotated_types.Ge(0)]`) refuses NaN and infinities.
What pydantic cannot check (a Tensor, an arbitrary class) is dropped from a union, and an
annotation with nothing checkable left is skipped: the target's own constructor decides.
"""

from __future__ import annotations

import json
import math
import types
import typing
from typing import Annotated, Any, Literal, Union

import annotated_types as at
from pydantic import ConfigDict, TypeAdapter, ValidationError

_UNION_ORIGINS = (Union, types.UnionType)


def show(value: Any) -> str:
    """A value as messages print it: Python's repr, lower-case booleans, none as null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)


def problem(value: Any, annotation: Any) -> str | None:
    """Why `value` does not fit `annotation` (pydantic's words; "" when a union's arms all
    refuse it), or None when it fits or cannot be checked."""
    adapter = _adapter(annotation)
    if adapter is None:
        return None
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):  # not plain data (a tensor, a numpy scalar): not checked
        return None
    try:
        adapter.validate_json(text)
    except ValidationError as error:
        errors = error.errors()
        if len(errors) > 1:  # one per arm of a union: the description says it better
            return ""
        where = "".join(f"[{p}]" for p in errors[0]["loc"] if isinstance(p, int))
        return f"{errors[0]['msg']}{' at ' + where if where else ''}"
    return None


_CACHE: dict[Any, TypeAdapter | None] = {}


def _adapter(annotation: Any) -> TypeAdapter | None:
    try:
        return _CACHE[annotation]
    except KeyError:
        pass
    except TypeError:  # an unhashable annotation: build it every time
        return _build(annotation)
    _CACHE[annotation] = adapter = _build(annotation)
    return adapter


def _build(annotation: Any) -> TypeAdapter | None:
    checkable = _checkable(annotation)
    if checkable is None:
        return None
    config = ConfigDict(strict=True, allow_inf_nan=not _has_range(checkable))
    return TypeAdapter(checkable, config=config)


def _checkable(annotation: Any) -> Any:
    """The annotation without the arms pydantic cannot check; None when nothing is left."""
    if annotation is Any:
        return None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in _UNION_ORIGINS:
        arms = [arm for arm in map(_checkable, args) if arm is not None]
        if type(None) in args and type(None) not in arms:
            arms.append(type(None))
        if not arms or arms == [type(None)]:
            return None
        return Union[tuple(arms)] if len(arms) > 1 else arms[0]  # noqa: UP007 (a runtime union)
    if origin is Annotated:
        base = _checkable(args[0])
        return None if base is None else Annotated[(base, *annotation.__metadata__)]
    if origin is not None and origin is not Literal and args:
        inner = tuple(a if a is Ellipsis else (_checkable(a) or Any) for a in args)
        annotation = types.GenericAlias(origin, inner)
    try:
        TypeAdapter(annotation, config=ConfigDict(strict=True))
    except Exception:  # noqa: BLE001 (pydantic raises several kinds for what it cannot build)
        return None
    return annotation


def _has_range(annotation: Any) -> bool:
    metadata = getattr(annotation, "__metadata__", ())
    if any(isinstance(m, at.BaseMetadata | at.GroupedMetadata) for m in metadata):
        return True
    return any(_has_range(arg) for arg in typing.get_args(annotation) if arg is not Ellipsis)


def describe(annotation: Any) -> str:
    """What an annotation allows, in words (the part of it that is checked)."""
    return _words(_checkable(annotation) or Any)


def _words(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _describe_range(args[0], annotation.__metadata__)
    if origin in _UNION_ORIGINS:
        choices = [c for arm in args if typing.get_origin(arm) is Literal for c in arm.__args__]
        others = [_words(arm) for arm in args if typing.get_origin(arm) is not Literal]
        listed = [", ".join(dict.fromkeys(show(c).strip("'") for c in choices))] if choices else []
        return " or ".join([*listed, *others])
    if origin is Literal:
        return ", ".join(show(choice).strip("'") for choice in args)
    if origin is tuple and args and Ellipsis not in args:
        same = len(set(args)) == 1
        each = _words(args[0]) if same else ", ".join(map(_words, args))
        return f"a list of {len(args)}, {'each ' if same else ''}{each}"
    if origin in (list, tuple, set, frozenset) or _is_abc_collection(origin):
        return f"a list, each {_words(args[0])}" if args and args[0] is not Any else "a list"
    if origin is dict or annotation is dict:
        return "a mapping"
    names: dict[Any, str] = {
        bool: "true, false",
        int: "a whole number",
        float: "a number",
        str: "a string",
        type(None): "null",
        Any: "anything",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _is_abc_collection(origin: Any) -> bool:
    import collections.abc as abc

    return origin in (abc.Sequence, abc.Iterable, abc.Collection, abc.MutableSequence)


_SYMBOLS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _describe_range(base: Any, metadata: tuple[Any, ...]) -> str:
    bounds: dict[str, Any] = {}
    notes = []
    for item in metadata:
        if isinstance(item, at.Interval):
            bounds.update({k: getattr(item, k) for k in _SYMBOLS if getattr(item, k) is not None})
        elif isinstance(item, at.Predicate):
            notes.append(item.func.__doc__ or item.func.__name__)
        elif isinstance(item, at.BaseMetadata):
            bounds.update({k: getattr(item, k) for k in _SYMBOLS if hasattr(item, k)})
    kind = _words(base)
    low = ("[", bounds["ge"]) if "ge" in bounds else ("(", bounds["gt"]) if "gt" in bounds else None
    high = (
        ("]", bounds["le"]) if "le" in bounds else (")", bounds["lt"]) if "lt" in bounds else None
    )
    if low and high:
        text = f"{kind} in {low[0]}{_num(low[1])}, {_num(high[1])}{high[0]}"
    elif low or high:
        key = next(k for k in _SYMBOLS if k in bounds)
        text = f"{kind} {_SYMBOLS[key]} {_num(bounds[key])}"
    else:
        text = kind
    return f"{text} ({'; '.join(notes)})" if notes else text


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    if isinstance(value, int) and value > 2**20 and (value & (value - 1)) == 0:
        return f"2**{value.bit_length() - 1}"
    return str(value)


def refusal(name: str, value: Any, annotation: Any, why: str) -> str:
    """The one line for a value that does not fit: the key, the value, why, what is allowed."""
    reason = f" ({why})" if why else ""
    return f"{name}={show(value)} is not allowed{reason}; allowed: {describe(annotation)}"
