"""Check the composed config before training, against the code that will read it.

Root keys against `regopt.settings.RunSettings`; each config group's node against its own
`_target_`'s signature (regopt.config.signature); then the cheap objects are built once on dummies,
so that what only a constructor checks (torch's "Invalid learning rate", a data set's size) is
refused here too (regopt.config.construct). Each failure is one ConfigError line naming the key.
This imports every `_target_`, so torch; `--help` and `--cfg job` never come here.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from regopt.config.annotations import show
from regopt.config.errors import ConfigError
from regopt.config.signature import accepted, check_node, check_value, locate
from regopt.settings import ArgsOf, Node, RunSettings


def validate_config(cfg: DictConfig) -> None:
    tree = resolved(cfg)
    check_tree(tree)
    from regopt.config.dummies import build_cheap_objects  # torch: only once the keys are good

    build_cheap_objects(tree)


def resolved(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain data, every interpolation resolved (as the run itself will)."""
    try:
        tree = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as ex:
        where = getattr(ex, "full_key", None) or "?"
        message = " ".join(str(ex).split("\n")[0].split())
        raise ConfigError(f"{where}: cannot be resolved: {message}") from ex
    assert isinstance(tree, dict)
    return {k: v for k, v in tree.items() if k != "hydra"}


@cache
def root_fields() -> dict[str, Any]:
    return typing.get_type_hints(RunSettings, include_extras=True)


def check_tree(tree: dict[str, Any]) -> None:
    """Every root key, and every node below it, against the code that reads it."""
    fields = root_fields()
    for key, value in tree.items():
        if key not in fields:
            raise ConfigError(
                f"{key}={show(value)}: '{key}' is not a root key of the config; allowed keys: "
                f"{', '.join(sorted(fields))}"
            )
        try:
            check_key(value, fields[key], key)
        except ConfigError as error:
            raise ConfigError(f"{error}{_not_typed_hint(str(error))}") from error


def _not_typed_hint(message: str) -> str:
    """For a key that is not a key of its target and not on the command line: one chosen option
    set it for another group's target (model=vae sets data.normalize), so name the choices."""
    if "is not a key of" not in message:
        return ""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return ""
    overrides = list(HydraConfig.get().overrides.task)
    key = message.split("=", 1)[0]
    if any(o.lstrip("+~").startswith(f"{key}=") for o in overrides):
        return ""
    choices = [o for o in overrides if "=" in o and "." not in o.split("=", 1)[0]]
    if not choices:
        return ""
    return f" (set by a chosen option, not on the command line: {', '.join(choices)})"


def check_key(value: Any, annotation: Any, where: str) -> None:
    """A value against its declared annotation: a Node, a mapping of a callable's arguments, or
    a plain type."""
    marker = _marker(annotation)
    if isinstance(marker, Node):
        check_group(value, marker, where)
    elif isinstance(marker, ArgsOf):
        check_arguments(value, marker, where)
    else:
        check_value(value, annotation, where)


def check_group(value: Any, node: Node, where: str) -> None:
    if node.may_be_empty and value in (None, {}):
        return
    entries = value.items() if node.named else [("", value)]
    if node.named and not isinstance(value, dict):
        raise ConfigError(f"{where}={show(value)} is not allowed; allowed: a mapping of names")
    extra = _extra_keys(node.extra) if node.extra else {}
    for name, entry in entries:
        full = f"{where}.{name}" if name else where
        if not isinstance(entry, dict) or "_target_" not in entry:
            raise ConfigError(
                f"{full}={show(entry)} is not allowed; allowed: a mapping with a _target_"
                f"{_option_hint(full, entry)}"
            )
        check_node(entry, full, {k: Any for k in extra}, node.supplied)
        for key, annotation in extra.items():
            if key in entry:
                check_key(entry[key], annotation, f"{full}.{key}")


def _option_hint(where: str, value: Any) -> str:
    """`optimizer.base=adam` names an option of a group: say how Hydra selects it there."""
    from regopt.config.cli_errors import CONFIG_DIR

    group = where.split(".")[0]
    if "." not in where or not isinstance(value, str) or not (CONFIG_DIR / group).is_dir():
        return ""
    if not (CONFIG_DIR / group / f"{value}.yaml").is_file():
        return ""
    return f" (select an option of '{group}' there with {group}@{where}={value})"


def check_arguments(value: Any, args_of: ArgsOf, where: str) -> None:
    """A mapping of keyword arguments of a callable; null keeps the callable's default."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise ConfigError(f"{where}={show(value)} is not allowed; allowed: a mapping")
    signature = accepted(_callable(args_of.target))
    for key, item in value.items():
        if key.startswith("_"):
            continue
        if key not in signature.parameters:
            raise ConfigError(
                f"{where}.{key}={show(item)}: '{key}' is not a key of {where} ({signature.name}); "
                f"allowed keys: {signature.allowed()}"
            )
        if item is not None:
            check_value(item, signature.parameters[key], f"{where}.{key}")


def _marker(annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Annotated:
        return next((m for m in annotation.__metadata__ if isinstance(m, Node | ArgsOf)), None)
    return None


@cache
def _callable(path: str) -> Any:
    module, _, name = path.partition(":")
    return locate(f"{module}.{name}", path)


@cache
def _extra_keys(path: str) -> dict[str, Any]:
    """The keyword-only parameters of the callable at `path`: keys regopt consumes itself."""
    import inspect

    function = _callable(path)
    hints = typing.get_type_hints(
        function.__init__ if inspect.isclass(function) else function, include_extras=True
    )
    parameters = inspect.signature(function).parameters.values()
    return {p.name: hints.get(p.name, Any) for p in parameters if p.kind is p.KEYWORD_ONLY}
