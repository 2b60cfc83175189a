"""How many jobs one stack may hold: a cap, the memory the machine has, and the number of workers.

Whether a stack would be faster than its jobs in turn at all is measured, not ruled, on a CPU
(regopt.stacked.probe); on a GPU only the memory bounds a stack. Pure decisions (`stack_size`,
`split_evenly`) apart from the facts read from the machine (`available_memory`, `usable_cpus`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackBudget:
    max_members: int  # hydra.launcher.max_members
    memory_bytes: int  # what one stack may take: memory_fraction x the memory available now
    workers: int = 1  # hydra.launcher.n_jobs: worker processes, each training a stack at a time


def mib(count: float) -> str:
    return f"{count / (1 << 20):.1f} MiB"


def stack_size(per_member_bytes: float, jobs: int, budget: StackBudget) -> tuple[int, str | None]:
    """Members per stack for `jobs` jobs whose members need `per_member_bytes` each, and why it
    is fewer than `jobs` (None when all fit). Below 2 the jobs run in turn."""
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
