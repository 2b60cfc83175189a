"""Hydra's sweep overrides as Optuna distributions, as Hydra's Optuna sweeper reads them.

`interval(a, b)`: a float in [a, b] (`int(interval(a, b))`: an int); `tag(log, interval(...))`: on
a log scale; `choice(x, y, ...)`: categorical; `range(a, b[, step])`: ints (floats when a bound
is a float) from a to b, b included, as Hydra's Optuna sweeper has it; `shuffle(range(...))`:
categorical. Hydra's own override parser builds the sweep objects; a plain value is passed to
every trial unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


def distribution(override: Override) -> BaseDistribution:
    """The distribution of one sweep override (`override.is_sweep_override()`)."""
    value = override.value()
    if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(
            list(override.sweep_iterator(transformer=Transformer.encode))
        )
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        if any(isinstance(x, float) for x in (start, stop, step)):
            return FloatDistribution(float(start), float(stop), step=float(step))
        return IntDistribution(int(start), int(stop), step=int(step))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    raise ValueError(f"{override.input_line}: not a sweep Optuna can sample")


def search_space(arguments: Iterable[str]) -> tuple[dict[str, BaseDistribution], dict[str, Any]]:
    """(distributions, fixed overrides) of `key=value` lines; a later line for a key wins, so
    the command line overrides `hydra.sweeper.params`."""
    distributions: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(list(arguments)):
        key = override.get_key_element()
        distributions.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            distributions[key] = distribution(override)
        else:
            fixed[key] = override.get_value_element_as_str()
    return distributions, fixed
