"""The CPU probe that decides whether a would-be stack runs (regopt.stacked.probe): what it times,
and that it leaves the launcher's process as it found it."""

from __future__ import annotations

import time

import torch

from conftest import compose_config
from regopt.stacked import probe, timing


def test_the_timing_is_the_fastest_call_of_a_step() -> None:
    """A step that sleeps 2 ms, except once in a while 20 ms (other work on the core): its
    fastest call, near 2 ms."""
    calls = []

    def step() -> None:
        calls.append(None)
        time.sleep(0.02 if len(calls) % 7 == 0 else 0.002)

    (seconds,) = timing.fastest([step])
    assert 0.002 <= seconds < 0.004
    assert len(calls) >= 2 + 2 * timing.ROUNDS  # a warm-up call, a sizing call, then the rounds


def test_a_probe_leaves_the_generators_and_threads_and_is_measured_once(tmp_path, monkeypatch):
    cfg = compose_config(["model.widths=[16,16]", "data.batch_size=8"], tmp_path)
    torch.manual_seed(3)
    before, threads = torch.get_rng_state(), torch.get_num_threads()
    measured = []
    real = probe._measure
    monkeypatch.setattr(probe, "_measure", lambda c, k: measured.append(k) or real(c, k))
    first = probe.probe_stack(cfg, 3, threads=1)
    assert torch.equal(torch.get_rng_state(), before) and torch.get_num_threads() == threads
    assert first.members == 3 and first.one_s > 0 and first.stack_s > 0
    seed_two = compose_config(["model.widths=[16,16]", "data.batch_size=8", "seed=2"], tmp_path)
    assert probe.probe_stack(seed_two, 3, threads=1) is first  # seeds share a member's size
    probe.probe_stack(cfg, 4, threads=1)
    assert measured == [3, 4]


def test_the_probe_times_the_stacks_pass_against_one_members(tmp_path, monkeypatch) -> None:
    """Each side is timed on its own step: a stack's pass made to sleep 20 ms (its own arithmetic
    takes a few ms) makes the stack's time at least that, and the member's alone stays below it."""
    cfg = compose_config(["model.widths=[16,16]", "data.batch_size=8", "seed=5"], tmp_path)
    real_call = probe.StackedForward.__call__

    def slowed(self, *args, **kwargs):
        time.sleep(0.02)
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(probe.StackedForward, "__call__", slowed)
    slow = probe._measure(cfg, 2)
    assert slow.stack_s >= 0.02 > slow.one_s
