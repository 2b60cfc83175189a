"""What a `_target_` accepts, read from the target itself: its signature and type hints.

There is no second description of any class's settings. A key is accepted when the target (a
class's `__init__`, or a function) has a parameter of that name, or takes `**kwargs`; its value is
checked against the parameter's annotation (regopt.config.annotations). A key that regopt itself
consumes beside the target (the optimiser factory's `weight_decay_params`, a regulariser's
`schedule`) is declared by the code that consumes it and passed here as `extra`.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from regopt.config.annotations import problem, refusal, show
from regopt.config.errors import ConfigError

HYDRA_KEYS = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Accepted:
    """The keyword parameters of a target: name -> annotation (Any where none can be read)."""

    name: str
    parameters: dict[str, Any]
    any_key: bool  # the target takes **kwargs

    def allowed(self) -> str:
        keys = ", ".join(sorted(self.parameters)) or "none"
        return f"{keys}{', any other (**kwargs)' if self.any_key else ''}"


def locate(path: Any, where: str) -> Any:
    """The object a `_target_` names, or a one-line ConfigError naming what is missing."""
    if not isinstance(path, str) or not path:
        raise ConfigError(f"{where}._target_={show(path)} is not allowed; allowed: a dotted path")
    from hydra._internal.utils import _locate  # get_object's own lookup, without its log line

    try:
        return _locate(path)
    except Exception as error:  # noqa: BLE001 (hydra wraps every failure in its own message)
        raise ConfigError(f"{where}._target_={path!r} cannot be imported: {_missing(path)}") from (
            error
        )


def _missing(path: str) -> str:
    """The first part of a dotted path that does not import, in words."""
    parts = path.split(".")
    found, depth = None, 0
    for index in range(1, len(parts) + 1):
        module = ".".join(parts[:index])
        try:
            found, depth = importlib.import_module(module), index
        except ModuleNotFoundError as error:
            if error.name != module:  # the module exists, but imports something missing
                return f"importing {module!r} raised ModuleNotFoundError: {error}"
            if found is None:
                return f"no module named {module!r}"
            break
        except Exception as error:  # noqa: BLE001 (the module itself fails to import)
            return f"importing {module!r} raised {type(error).__name__}: {error}"
    owner: Any = found
    for name in parts[depth:]:
        if not hasattr(owner, name):
            where = getattr(owner, "__name__", type(owner).__name__)
            kind = "attribute or module" if hasattr(owner, "__path__") else "attribute"
            return f"{where!r} has no {kind} {name!r}"
        owner = getattr(owner, name)
    return "it imports, but is not callable"


@functools.cache
def accepted(target: Callable[..., Any]) -> Accepted:
    """The parameters `target` accepts, with the annotations that can be resolved."""
    function = inspect.unwrap(target.__init__ if inspect.isclass(target) else target)
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without a signature: accept anything
        return Accepted(_name(target), {}, any_key=True)
    hints = _hints(function)
    parameters, any_key = {}, False
    for name, parameter in signature.parameters.items():
        if parameter.kind is parameter.VAR_KEYWORD:
            any_key = True
        elif parameter.kind is not parameter.VAR_POSITIONAL:
            parameters[name] = hints.get(name, Any)
    return Accepted(_name(target), parameters, any_key)


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    """Resolved type hints; one by one where some cannot be resolved (those are skipped)."""
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception:  # noqa: BLE001 (a forward reference that fails, a typo in a hint)
        pass
    namespace = getattr(function, "__globals__", {})
    hints = {}
    for name, annotation in getattr(function, "__annotations__", {}).items():
        try:
            hints[name] = eval(annotation, namespace) if isinstance(annotation, str) else annotation  # noqa: S307
        except Exception:  # noqa: BLE001
            continue
    return hints


def _name(target: Any) -> str:
    return getattr(target, "__qualname__", None) or getattr(target, "__name__", str(target))


def check_node(
    node: Mapping[str, Any],
    where: str,
    extra: Mapping[str, Any] | None = None,
    supplied: tuple[str, ...] = (),
) -> Callable[..., Any]:
    """Check a node with a `_target_`: every key is a parameter of the target (or in `extra`,
    name -> annotation), every value fits its annotation. `supplied`: parameters regopt passes
    itself (an optimiser's `params`), not config keys. Returns the target."""
    target = locate(node.get("_target_"), where)
    signature = accepted(target)
    parameters = {**signature.parameters, **(extra or {})}
    parameters = {k: v for k, v in parameters.items() if k not in supplied}
    for key, value in node.items():
        if key in HYDRA_KEYS:
            continue
        full = f"{where}.{key}"
        if key not in parameters and not signature.any_key:
            allowed = Accepted(signature.name, parameters, False).allowed()
            raise ConfigError(
                f"{full}={show(value)}: '{key}' is not a key of {where} ({signature.name}); "
                f"allowed keys: {allowed}"
            )
        if isinstance(value, Mapping) and "_target_" in value:
            if key not in (extra or {}):  # an extra key's node is checked by its own annotation
                check_node(value, full)  # a nested object: its own target decides
            continue
        check_value(value, parameters.get(key, Any), full)
    return target


def check_value(value: Any, annotation: Any, full: str) -> None:
    why = problem(value, annotation)
    if why is not None:
        raise ConfigError(refusal(full, value, annotation, why))


def checked(target: F) -> F:
    """Check every call's arguments against the annotations of `target` (a class's `__init__`
    or a function), as the config check does: Python callers get the same ranges and choices.
    A bad argument raises ValueError naming it (`p=1.5 is not allowed ...`)."""
    function = target.__init__ if inspect.isclass(target) else target
    bind = inspect.signature(function).bind

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        hints = _call_hints(function)
        for name, value in bind(*args, **kwargs).arguments.items():
            why = problem(_plain(value), hints.get(name, Any))
            if why is not None:
                raise ValueError(refusal(name, value, hints[name], why))
        return function(*args, **kwargs)

    if inspect.isclass(target):
        target.__init__ = call  # type: ignore[misc]
        return target
    return call  # type: ignore[return-value]


@functools.cache
def _call_hints(function: Callable[..., Any]) -> dict[str, Any]:
    return _hints(function)


def _plain(value: Any) -> Any:
    """Config containers (what Hydra passes to a constructor) as plain lists and dicts."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value
