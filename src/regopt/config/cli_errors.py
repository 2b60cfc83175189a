"""Turn configuration mistakes into one line that names the key and what is allowed.

Hydra prints multi-line messages (and sometimes tracebacks) for a bad override. regopt asks Hydra
to raise instead (HYDRA_FULL_ERROR), then reports configuration errors in one line and exits 2.
Any other failure (an unwritable run dir, an error in training) is one line too, with its cause and
the run's record, and exits 1. `REGOPT_DEBUG=1` (or HYDRA_FULL_ERROR=1 set by the user) shows the
full traceback for everything.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.errors import (
    ConfigCompositionException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from regopt.config.errors import ConfigError

EXIT_CONFIG_ERROR = 2
EXIT_FAILURE = 1
# regopt/conf: in a checkout a link to the top-level conf/, in an installed wheel a copy of it
CONFIG_DIR = Path(__file__).resolve().parents[1] / "conf"


def run_reporting_config_errors(app: Callable[[], Any]) -> None:
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        os.environ["REGOPT_DEBUG"] = "1"  # the user asked Hydra for full tracebacks
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises; regopt decides how to report
    try:
        app()
    except (ConfigError, ConfigCompositionException, OverrideParseException, ValidationError) as ex:
        from regopt.sweep.progress import sweep_refused

        sweep_refused()
        exit_on_config_error(ex)
    except Exception as ex:  # a failure outside the config check: one line too, with the cause
        if wants_traceback():
            raise
        print(f"regopt-train: failed: {describe_failure(ex)}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)


def wants_traceback() -> bool:
    return os.environ.get("REGOPT_DEBUG") == "1"


def exit_on_config_error(ex: BaseException) -> None:
    """Print one line and exit 2; with REGOPT_DEBUG=1, re-raise for the whole traceback."""
    if wants_traceback():
        raise ex
    print(f"regopt-train: config error: {describe_config_error(ex)}", file=sys.stderr)
    sys.exit(EXIT_CONFIG_ERROR)


def describe_config_error(ex: BaseException) -> str:
    """One line: which key or option is wrong, and what is allowed instead."""
    if isinstance(ex, MissingConfigException) and ex.missing_cfg_file:
        group, _, name = ex.missing_cfg_file.rpartition("/")
        options = ex.options if ex.options is not None else _group_options(group)
        allowed = ", ".join(sorted(options))
        return f"{group}={name} is not an option of '{group}'; allowed: {allowed}"
    cause = ex.__cause__
    if isinstance(cause, ConfigKeyError | ConfigAttributeError) and "not in struct" in str(cause):
        return _unknown_key(cause, _override_of(ex))
    if isinstance(ex, OmegaConfBaseException):
        return _omegaconf_message(ex)
    if isinstance(cause, OmegaConfBaseException):
        return _omegaconf_message(cause)
    return " ".join(str(ex).split())


def describe_failure(ex: BaseException) -> str:
    """The cause in one line, where the run's record is (a note the pipeline added), and how to
    see the traceback."""
    if isinstance(ex, OSError) and ex.filename is not None:  # a run dir that cannot be written
        cause = f"cannot write {ex.filename}: {ex.strerror or ex}"
    else:
        cause = f"{type(ex).__name__}: {' '.join(str(ex).split())}"
    notes = [note for note in getattr(ex, "__notes__", []) if note.startswith("record: ")]
    return f"{cause} ({'; '.join([*notes, 'REGOPT_DEBUG=1 shows the traceback'])})"


def _group_options(group: str) -> list[str]:
    """The group's YAML files (Hydra names no options when a list selection misses)."""
    return [path.stem for path in (CONFIG_DIR / group).glob("*.yaml")]


def _override_of(ex: BaseException) -> tuple[str, str] | None:
    """The key and value of the override Hydra could not apply, from its message."""
    match = re.search(r"use \+(?P<key>[^=\s]+)=(?P<value>.*)", str(ex))
    return (match["key"], match["value"].strip()) if match else None


def _unknown_key(cause: OmegaConfBaseException, override: tuple[str, str] | None) -> str:
    full_key = getattr(cause, "full_key", None) or getattr(cause, "key", "?")
    parent = getattr(cause, "parent_node", None)
    keys = []
    if parent is not None and hasattr(parent, "keys"):
        keys = sorted(str(k) for k in parent if not str(k).startswith("_"))
    key, value = override or (full_key, "...")
    if key.startswith("regularizer.") and full_key.count(".") <= 1:
        name = key.split(".")[1]
        selected = keys if full_key != "regularizer" else []
        return (
            f"{key}={value} sets regulariser '{name}', which is not selected (selected: "
            f"{', '.join(selected) or 'none'}); allowed: select it, e.g. "
            f"'regularizer=[{','.join([*selected, name])}]', or drop the override"
        )
    allowed = f"; allowed keys here: {', '.join(keys)}" if keys else ""
    hint = ""
    if parent is not None and _target_accepts(full_key, parent):
        hint = f" (its _target_ accepts it: add it with +{key}={value})"
    return f"'{full_key}' is not a config key ({key}={value}){allowed}{hint}"


def _target_accepts(full_key: str, parent: Any) -> bool:
    """Whether the `_target_` of the node this key would go in takes a parameter of that name
    (the YAML leaves it out, so it keeps the target's default until added with `+`)."""
    from regopt.config.signature import accepted, locate

    target = parent.get("_target_") if hasattr(parent, "get") else None
    try:
        signature = accepted(locate(target, full_key))
    except Exception:  # noqa: BLE001 (no target, or one that does not import: no hint)
        return False
    return full_key.rpartition(".")[2] in signature.parameters


def _omegaconf_message(ex: OmegaConfBaseException) -> str:
    first_line = str(ex).strip().splitlines()[0] if str(ex).strip() else type(ex).__name__
    full_key = getattr(ex, "full_key", None)
    if full_key and full_key not in first_line:
        return f"{full_key}: {first_line}"
    return re.sub(r"\s+", " ", first_line)
