"""How many jobs one stack holds (regopt.sweep.stack_budget): the cap, the memory and the workers,
each decided on a case either side of it (no timing)."""

from __future__ import annotations

from regopt.sweep.stack_budget import StackBudget, split_evenly, stack_size

MIB = 1 << 20
GIB = 1 << 30


def mlp_bytes(widths: list[int], inputs: int = 64, classes: int = 10) -> int:
    """fp32 weights, gradients and Adam's two moments of an MLP (no activations)."""
    sizes = [inputs, *widths, classes]
    params = sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))
    return 4 * 4 * params


def test_only_the_memory_and_the_cap_bound_a_stack() -> None:
    gpu = StackBudget(max_members=32, memory_bytes=8 * GIB)
    assert stack_size(mlp_bytes([512, 512]), 27, gpu) == (27, None)
    size, why = stack_size(mlp_bytes([512, 512]), 40, gpu)
    assert size == 32 and why == "hydra.launcher.max_members=32"


def test_memory_bounds_the_members_of_a_stack() -> None:
    tight = StackBudget(max_members=32, memory_bytes=10 * MIB)
    size, why = stack_size(3 * MIB, 9, tight)
    assert size == 3  # 3 x 3 MiB fit in 10 MiB, 4 do not
    assert why.startswith("memory: 3 members") and "memory_fraction" in why
    assert stack_size(11 * MIB, 9, tight)[0] == 0


def test_with_several_workers_each_gets_two_stacks_of_two_or_more() -> None:
    two = StackBudget(max_members=32, memory_bytes=8 * GIB, workers=2)
    size, why = stack_size(mlp_bytes([32, 32]), 36, two)
    assert size == 9 and "hydra.launcher.n_jobs=2" in why  # 4 stacks of 9, two a worker
    assert stack_size(mlp_bytes([32, 32]), 27, two)[0] == 7  # 7 + 7 + 7 + 6
    assert stack_size(mlp_bytes([32, 32]), 3, two)[0] == 2
    many = StackBudget(max_members=32, memory_bytes=8 * GIB, workers=8)
    assert stack_size(mlp_bytes([32, 32]), 4, many)[0] == 2  # never a stack of one
    assert stack_size(mlp_bytes([32, 32]), 200, two)[0] == 32  # the cap still holds


def test_a_group_is_cut_into_even_consecutive_stacks() -> None:
    jobs = list(range(27))
    stacks = split_evenly(jobs, 16)
    assert [len(s) for s in stacks] == [14, 13]
    assert [j for s in stacks for j in s] == jobs
    assert split_evenly([4, 5, 6], 3) == [[4, 5, 6]]
    assert [len(s) for s in split_evenly(list(range(10)), 3)] == [3, 3, 2, 2]
