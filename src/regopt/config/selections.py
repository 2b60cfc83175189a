"""Checks of the options selected on the command line that the config itself cannot show.

Hydra composes `'regularizer=[l2,l2]'` into one `l2` node, or fails on an inner default that now
appears twice, naming neither the override nor the option: the check reads the overrides first.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser

from regopt.config.cli_errors import CONFIG_DIR
from regopt.config.errors import ConfigError


def check_selections(overrides: Sequence[str]) -> None:
    """A group option selected twice in one list is refused, naming the override."""
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        group, value = override.key_or_group, override.value()
        if not isinstance(value, list) or not (CONFIG_DIR / group).is_dir():
            continue
        twice = sorted({str(v) for v in value if value.count(v) > 1})
        if twice:
            raise ConfigError(
                f"{override.input_line} selects {', '.join(twice)} more than once; allowed: each "
                f"option of '{group}' once (set its keys: {group}.{twice[0]}.<key>=...)"
            )
