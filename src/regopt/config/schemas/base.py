"""The schema registry: one dataclass per `_target_`, grouped by config group.

A new option whose `_target_` is new needs a schema, e.g. for conf/data/mnist1d.yaml:

    @schema("data", "regopt.data.mnist1d.Mnist1DDataModule")
    @dataclass
    class Mnist1D(DataSchema):
        n_samples: int = key(POSITIVE_INT)

tests/test_config_schemas.py composes every option of every group and fails, naming the
`_target_` or the key, until its schema exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from regopt.config.rules import NON_NEGATIVE_INT
from regopt.config.schema import key
from regopt.regularizers.schedule import KINDS  # imports no torch

T = TypeVar("T", bound=type)

# group -> _target_ -> schema
REGISTRY: dict[str, dict[str, type]] = {}


def schema(group: str, *targets: str) -> Callable[[T], T]:
    """Register a dataclass as the schema of a group's nodes with any of these `_target_`s."""

    def register(cls: T) -> T:
        for target in targets:
            REGISTRY.setdefault(group, {})[target] = cls
        return cls

    return register


@dataclass
class Target:
    """A node Hydra instantiates."""

    _target_: str = key()
    _partial_: bool = key()


PARAMS = Literal["weights", "all"]  # which parameters a penalty or weight decay covers
SCHEDULE_KINDS = Literal[KINDS]  # type: ignore[valid-type]


@dataclass
class Schedule(Target):
    """A regulariser's strength over epochs (regopt.regularizers.schedule)."""

    kind: SCHEDULE_KINDS = key()
    start: int = key(NON_NEGATIVE_INT)
    end: int | None = key(NON_NEGATIVE_INT)
