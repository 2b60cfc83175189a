"""The error of a bad configuration value: its own module, so that the checks raising it and
`cli_errors` reporting it import neither each other."""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad configuration value, found before anything heavy is imported or trained."""
