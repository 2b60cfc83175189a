"""regopt.stack_room: the call is unchanged, and a loop that goes deep and back on every pass
stops page-faulting (CPython maps and frees a frame-stack chunk at every crossing of its edge)."""

from __future__ import annotations

import resource
import sys

import pytest

from regopt.stack_room import with_room


def _depth(n: int) -> int:
    return 0 if n == 0 else _depth(n - 1) + 1


def _faults_of_loop(passes: int = 3000, depth: int = 400) -> int:
    """Page faults of `passes` calls 400 frames deep (about 40 KiB of frames: wider than a
    16 KiB chunk wherever the loop starts, and well inside the room)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(passes):
        assert _depth(depth) == depth
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_the_call_is_unchanged() -> None:
    assert with_room(divmod, 17, 5) == (3, 2)
    assert with_room(dict, a=1, b=2) == {"a": 1, "b": 2}
    assert with_room(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
    with pytest.raises(ZeroDivisionError):
        with_room(divmod, 1, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="page faults read on Linux")
def test_a_deep_loop_stops_mapping_frame_chunks() -> None:
    _faults_of_loop(passes=10)  # the first pass maps what stays mapped
    plain = _faults_of_loop()
    if plain < 3000:  # at least one fault a pass: this CPython keeps a spare chunk
        pytest.skip(f"this CPython does not free its frame chunks at every pass ({plain} faults)")
    roomy = with_room(_faults_of_loop)
    assert roomy < plain / 20, (roomy, plain)
