"""How long a call of each of a few steps takes, timed side by side on a busy machine.

Used by the CPU probe (regopt.stacked.probe: a stack against one member) and by the stack's
forward pass (regopt.stacked.forward: batched against in turn). Each call is timed and the
fastest kept: other work on the cores only slows a call, and a stack's call can be longer than
a whole round. The steps' rounds alternate, so that a slow spell slows both alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable

ROUNDS = 3  # rounds of each step, alternating
ROUND_S = 0.01  # about this long each (at least two calls)


def fastest(steps: list[Callable[[], None]]) -> list[float]:
    """Seconds of the fastest call of each step over ROUNDS rounds of about ROUND_S each."""
    calls = []
    for step in steps:
        step()  # the first call builds what later calls reuse (vmap's batching, allocations)
        start = time.perf_counter()
        step()
        calls.append(max(2, int(ROUND_S / max(time.perf_counter() - start, 1e-6))))
    best = [float("inf")] * len(steps)
    for _ in range(ROUNDS):
        for index, step in enumerate(steps):
            for _ in range(calls[index]):
                start = time.perf_counter()
                step()
                best[index] = min(best[index], time.perf_counter() - start)
    return best
