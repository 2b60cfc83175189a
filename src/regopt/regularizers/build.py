"""Build a configured regulariser, with its strength's schedule: the root `schedule` of the
config, or the regulariser's own where it sets one (`regularizer.l2.schedule.kind=delayed`).

Each conf/regularizer/*.yaml takes an all-null `schedule` node (conf/regularizer/schedule/
inherit.yaml), so that one key of it can be set from the command line without `+`; a null key
keeps the root schedule's value.
"""

from __future__ import annotations

from typing import Annotated, Any

from hydra.utils import instantiate

from regopt.regularizers.base import Regularizer
from regopt.regularizers.schedule import Schedule
from regopt.settings import SCHEDULE, ArgsOf


def own_keys(*, schedule: Annotated[dict[str, Any] | None, ArgsOf(SCHEDULE)] = None) -> None:
    """The keys of a regulariser's node that regopt consumes beside its constructor's (the
    config check reads this signature)."""


def merged_schedule(default: dict[str, Any] | None, own: dict[str, Any] | None) -> Schedule:
    """The root schedule, with the keys the regulariser sets itself (not null) replacing its."""
    settings = {k: v for k, v in (default or {}).items() if not k.startswith("_")}
    settings.update({k: v for k, v in (own or {}).items() if v is not None})
    return Schedule(**settings)


def build_regularizer(spec: dict[str, Any], default_schedule: dict[str, Any] | None) -> Regularizer:
    """The regulariser of `spec` (plain data, resolved), following its schedule (one Schedule
    class for all: the regulariser's own constructor never sees it)."""
    body = dict(spec)
    own = body.pop("schedule", None)
    regularizer = instantiate(body)
    sets_its_own = any(v is not None for v in (own or {}).values())
    if sets_its_own or regularizer.strength_attr is not None:  # a constraint has no strength
        regularizer.set_schedule(merged_schedule(default_schedule, own))
    return regularizer
