"""How many jobs one stack may hold: a cap, the memory the machine has, and on a CPU a cost rule
that says when stacking would be slower than running the jobs in turn.

The cost rule: stacking saves each member the per-step work of the framework (Lightning's loop,
regopt's records), about a millisecond a step on these CPUs, and pays for it in the batched
arithmetic. A member whose working set (weights, gradients, optimiser state, one batch's
activations: the engine's `estimate_bytes`) fits in one core's cache spends its steps mostly on
that per-step work, so the stack wins (6.7x at width 32, 4.6x at 128 in scripts/bench_ensemble.py;
an Adam member of the default digits job needs about 0.14 and 0.7 MiB there). A member larger than
the cache is bound by its matrix products already when it runs alone, and K of them stacked stream
K times the bytes through the cache: at width 512 (about 6.5 MiB an Adam member, against a 1 MiB
L2 cache) the stack ran at 0.61x. So on a CPU a
member larger than `cpu_cache_bytes` runs in turn; on a GPU only the memory bounds a stack.

Pure decisions (`stack_size`, `split_evenly`) apart from the two facts read from the machine
(`available_memory`, `core_cache_bytes`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FALLBACK_CACHE_BYTES = 1 << 20  # when the machine does not say (1 MiB, a common L2 per core)


@dataclass(frozen=True)
class StackBudget:
    max_members: int  # hydra.launcher.max_members
    memory_bytes: int  # what one stack may take: memory_fraction x the memory available now
    cpu_cache_bytes: int | None  # a CPU member above this runs in turn; None: no cost rule
    workers: int = 1  # hydra.launcher.n_jobs: worker processes, each training a stack at a time


def mib(count: float) -> str:
    return f"{count / (1 << 20):.1f} MiB"


def stack_size(per_member_bytes: float, jobs: int, budget: StackBudget) -> tuple[int, str | None]:
    """Members per stack for `jobs` jobs whose members need `per_member_bytes` each, and why it
    is fewer than `jobs` (None when all fit). Below 2 the jobs run in turn."""
    cache = budget.cpu_cache_bytes
    if cache is not None and per_member_bytes > cache:
        return 1, (
            f"stacking would be slower than running them in turn on a CPU: one member's working "
            f"set ({mib(per_member_bytes)}) exceeds hydra.launcher.cpu_cache_bytes ({mib(cache)})"
        )
    by_memory = int(budget.memory_bytes // max(per_member_bytes, 1.0))
    units = 2 * budget.workers if budget.workers > 1 else 1  # two stacks a worker balance them
    per_worker = max(2, -(-jobs // units))  # and never a stack of one
    size = min(jobs, budget.max_members, by_memory, per_worker)
    if size >= jobs:
        return size, None
    if size == by_memory:
        return size, (
            f"memory: {size} members of {mib(per_member_bytes)} fit in the "
            f"{mib(budget.memory_bytes)} a stack may use (hydra.launcher.memory_fraction)"
        )
    if size == per_worker:
        return size, f"hydra.launcher.n_jobs={budget.workers}: two stacks for each worker"
    return size, f"hydra.launcher.max_members={budget.max_members}"


def split_evenly(jobs: list[int], size: int) -> list[list[int]]:
    """`jobs` in consecutive stacks of at most `size`, as even as possible (27 by 16: 14 + 13)."""
    count = -(-len(jobs) // max(size, 1))
    base, extra = divmod(len(jobs), count)
    stacks, start = [], 0
    for index in range(count):
        end = start + base + (index < extra)
        stacks.append(jobs[start:end])
        start = end
    return stacks


def available_memory(gpu: bool) -> int:
    """Bytes free now: on the GPU (torch.cuda.mem_get_info), else the system's MemAvailable."""
    if gpu:
        import torch

        free, _ = torch.cuda.mem_get_info()
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, as SLURM and taskset set it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def core_cache_bytes(cpu: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int:
    """One core's L2 cache (Linux sysfs), or 1 MiB where the machine does not say."""
    for index in sorted(cpu.glob("index*")):
        try:
            if (index / "level").read_text().strip() != "2":
                continue
            size = (index / "size").read_text().strip().upper()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20}.get(size[-1:], 1)
        return int(size.rstrip("KM")) * scale
    return FALLBACK_CACHE_BYTES
