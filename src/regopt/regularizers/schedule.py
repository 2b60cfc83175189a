"""One schedule for every regulariser's strength: the factor (0 to 1) its configured strength is
multiplied by in each epoch.

Epochs count from 0, as Lightning's `current_epoch`. The strength is set once, at the start of
each training epoch, and holds for the whole epoch (no per-step work).

| kind       | factor at epoch e                                              |
|------------|----------------------------------------------------------------|
| constant   | 1                                                              |
| delayed    | 0 for e < start, then 1  (off until epoch `start`, then on)    |
| linear     | 0 for e <= start, 1 for e >= end, (e - start) / (end - start) between |
| cosine     | 0 for e <= start, 1 for e >= end, (1 - cos(pi t)) / 2 between, t as linear |
| switch_off | 1 for e < start, then 0  (on until epoch `start`, then off)    |
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from regopt.config.annotations import show
from regopt.config.signature import checked
from regopt.ranges import NonNegativeInt
from regopt.settings import SCHEDULE, ArgsOf

Kind = Literal["constant", "delayed", "linear", "cosine", "switch_off"]
KINDS = typing.get_args(Kind)
RAMPS = ("linear", "cosine")


@checked
@dataclass(frozen=True)
class Schedule:
    kind: Kind = "constant"
    start: NonNegativeInt = 0
    end: NonNegativeInt | None = None

    def __post_init__(self) -> None:
        if self.kind in RAMPS and (self.end is None or self.end <= self.start):
            raise ValueError(
                f"end={show(self.end)} with kind={self.kind}; allowed: a whole number > start "
                f"({self.start})"
            )

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant"

    def factor(self, epoch: int) -> float:
        """The fraction of the configured strength in effect during `epoch`."""
        if self.kind == "constant":
            return 1.0
        if self.kind == "delayed":
            return 0.0 if epoch < self.start else 1.0
        if self.kind == "switch_off":
            return 1.0 if epoch < self.start else 0.0
        assert self.end is not None
        t = min(max((epoch - self.start) / (self.end - self.start), 0.0), 1.0)
        return t if self.kind == "linear" else 0.5 * (1.0 - math.cos(math.pi * t))

    def unreached(self, epochs: int) -> str | None:
        """What this schedule never gets to within a run of `epochs` epochs (0 to epochs - 1),
        in words; None when it plays out in full."""
        last = epochs - 1
        after = f"after the last epoch ({last})"
        if self.kind == "delayed" and self.start > last:
            return f"kind=delayed starts at epoch {self.start}, {after}: never on"
        if self.kind == "switch_off" and self.start > last:
            return f"kind=switch_off stops at epoch {self.start}, {after}: never off"
        if self.kind in RAMPS and self.end is not None and self.end > last:
            reached = self.factor(last)
            return (
                f"kind={self.kind} reaches full strength at epoch {self.end}, {after}: at most "
                f"{reached:.0%} of it"
            )
        return None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end}


def own_keys(*, schedule: Annotated[dict[str, Any] | None, ArgsOf(SCHEDULE)] = None) -> None:
    """The keys of a regulariser's node that regopt consumes beside its constructor's: its own
    `schedule` (the config check reads this signature). Each conf/regularizer/*.yaml takes an
    all-null `schedule` node (conf/regularizer/schedule/inherit.yaml), so one key of it can be set
    from the command line without `+`."""


def merged_schedule(default: dict[str, Any] | None, own: dict[str, Any] | None) -> Schedule:
    """The root schedule, with the keys the regulariser sets itself (not null) replacing its."""
    settings = {k: v for k, v in (default or {}).items() if not k.startswith("_")}
    settings.update({k: v for k, v in (own or {}).items() if v is not None})
    return Schedule(**settings)
