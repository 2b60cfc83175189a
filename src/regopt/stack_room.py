"""A call given room on CPython's frame stack, so that a training loop does not map and unmap
memory at every step.

CPython 3.11 to 3.13 keep Python frames in chunks of 16 KiB and free a chunk as soon as the first
frame in it returns (python/cpython#142183; 3.14 and later 3.13 releases keep one spare chunk).
A loop whose calls go back and forth across a chunk's edge then maps a fresh chunk, touches its
pages and unmaps it again on every pass. A stacked sweep trains deep inside Hydra's nested
`run_job` calls (regopt.sweep.job_chain), where Lightning's loop crossed such an edge: 135,000
`mmap` calls and about a million page faults in the 36-job lr x weight-decay sweep; with room, its
system time fell from 6.5-7.1 s to 3.7-4.1 s (docs/benchmarks.md).

CPython makes a new chunk at least as large as the frame that needs it. So `with_room` calls
through a function whose frame is about 130 KiB (its unused local variables): that frame starts a
256 KiB chunk, the call runs in the 125 KiB after it, and the chunk stays while the call lasts.
Nothing else changes: the same call, its result and its exceptions.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
ROOM_SLOTS = 16384  # local variables of 8 bytes each: a frame of about 130 KiB


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return fn(*args, **kwargs)


def _roomy(function: types.FunctionType, slots: int) -> types.FunctionType:
    """`function` with `slots` more local variables, never assigned: they only size its frame."""
    code = function.__code__
    names = code.co_varnames + tuple(f"_room{i}" for i in range(slots))
    roomy = code.replace(co_varnames=names, co_nlocals=len(names))
    return types.FunctionType(roomy, function.__globals__, function.__name__)


_call_with_room = _roomy(_call, ROOM_SLOTS)


def with_room(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, called with room on the frame stack."""
    return _call_with_room(fn, args, kwargs)
