"""The stack's forward pass (regopt.stacked.forward) against each member's own model run in its
own random stream, as its separate run runs it: outputs, gradients and the streams afterwards."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
from torch import Tensor, nn

from regopt.models.mlp import MLP
from regopt.stacked import forward as forward_module
from regopt.stacked.forward import StackedForward

BATCH = 12
SEEDS = [10, 11, 12, 13]


class NoisyMLP(nn.Module):
    """Dropout and a draw of its own (noise on the hidden units), so every member draws."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.first, self.drop, self.last = nn.Linear(8, 16), nn.Dropout(p), nn.Linear(16, 3)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.drop(torch.relu(self.first(x)))
        return self.last(hidden + 0.1 * torch.randn_like(hidden))


class Streams:
    """Each member's own generator state, swapped in while it draws (as regopt.stacked.member)."""

    def __init__(self, seeds: list[int]) -> None:
        self.states = [torch.Generator().manual_seed(s).get_state() for s in seeds]

    @contextmanager
    def own(self, index: int) -> Iterator[None]:
        outer = torch.get_rng_state()
        torch.set_rng_state(self.states[index])
        try:
            yield
        finally:
            self.states[index] = torch.get_rng_state()
            torch.set_rng_state(outer)


def full_batches_seen(model: nn.Module) -> list[int]:
    """Record the batch sizes `model`'s own forward pass is called with (not a copy's)."""
    seen: list[int] = []
    model.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].shape[0]) if module is model else None
    )
    return seen


def step(models, forward, streams, inputs) -> tuple[list[Tensor], list[list[Tensor]]]:
    for model in models:
        model.zero_grad()
    outputs = forward(range(len(models)), inputs, streams.own)
    sum((out**2).sum() for out in outputs).backward()
    return [o.detach() for o in outputs], [[p.grad.clone() for p in m.parameters()] for m in models]


def separate_step(models, streams, inputs) -> tuple[list[Tensor], list[list[Tensor]]]:
    outputs, grads = [], []
    for index, (model, x) in enumerate(zip(models, inputs, strict=True)):
        model.zero_grad()
        with streams.own(index):
            out = model(x)
        (out**2).sum().backward()
        outputs.append(out.detach())
        grads.append([p.grad.clone() for p in model.parameters()])
    return outputs, grads


def check_against_separate(make_model, ps: list[float], batched: bool = True) -> list[list[int]]:
    """Two training steps of a stack against each member alone, the stack's timing of its
    batched pass against its members' own passes one after another saying `batched` is faster;
    the batch sizes each stacked member's own model saw."""
    torch.manual_seed(0)
    models = [make_model(p).double().train() for p in ps]
    alone = [copy.deepcopy(m) for m in models]
    seen = [full_batches_seen(m) for m in models]
    stacked_streams, separate_streams = Streams(SEEDS[: len(ps)]), Streams(SEEDS[: len(ps)])
    forward = StackedForward(models)
    timed = []
    with pytest.MonkeyPatch.context() as patch:
        fake = [1.0, 2.0] if batched else [2.0, 1.0]  # seconds: batched, in turn
        patch.setattr(forward_module, "fastest", lambda steps: timed.append(steps) or fake)
        _two_steps(models, alone, forward, stacked_streams, separate_streams)
    assert len(timed) == (1 if sum(p == 0 for p in ps) > 1 else 0)  # once, for 2+ batchable
    return seen


def _two_steps(models, alone, forward, stacked_streams, separate_streams) -> None:
    for _ in range(2):
        inputs = [torch.randn(BATCH, 8, dtype=torch.float64) for _ in models]
        ours, our_grads = step(models, forward, stacked_streams, inputs)
        theirs, their_grads = separate_step(alone, separate_streams, inputs)
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
        for a, b in zip(our_grads, their_grads, strict=True):
            for ga, gb in zip(a, b, strict=True):
                torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-14)
        for a, b in zip(stacked_streams.states, separate_streams.states, strict=True):
            assert torch.equal(a, b)  # each member drew what its separate run drew
        for model, other in zip(models, alone, strict=True):  # an optimiser step between
            with torch.no_grad():
                for p, q in zip(model.parameters(), other.parameters(), strict=True):
                    p -= 0.1 * p.grad
                    q -= 0.1 * q.grad


def mlp(p: float) -> nn.Module:
    return MLP(input_dim=8, num_classes=3, widths=(16, 16), dropout=p)


def test_members_without_draws_share_one_pass_and_dropout_members_draw_their_own_masks() -> None:
    """Members at p = 0.5, 0, 0 and 0.3: the two at p = 0 share the batched pass (their own
    models see only the two rows their draws are measured on), the others run their own model
    in their own stream, drawing their separate runs' masks."""
    seen = check_against_separate(mlp, [0.5, 0.0, 0.0, 0.3])
    assert BATCH in seen[0] and BATCH in seen[3]
    assert BATCH not in seen[1] and BATCH not in seen[2]


def test_where_their_own_passes_are_faster_the_members_run_them_one_after_another() -> None:
    seen = check_against_separate(mlp, [0.5, 0.0, 0.0, 0.3], batched=False)
    assert all(BATCH in sizes for sizes in seen)


def test_the_timing_runs_both_passes_and_keeps_no_gradient() -> None:
    """The real timing at the first training batch: both passes run, and the members'
    gradients are what that batch's backward alone gives."""
    torch.manual_seed(0)
    models = [mlp(0.0).train() for _ in range(3)]
    seen = [full_batches_seen(m) for m in models]
    inputs = [torch.randn(BATCH, 8) for _ in models]
    forward = StackedForward(models)
    outputs = forward(range(3), inputs, Streams(SEEDS[:3]).own)
    assert forward.batched_faster is not None and all(BATCH in sizes for sizes in seen)
    assert all(p.grad is None for m in models for p in m.parameters())
    sum(o.sum() for o in outputs).backward()
    for model, x in zip(models, inputs, strict=True):
        reference = copy.deepcopy(model)
        reference.zero_grad()
        reference(x).sum().backward()
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-6)


def test_members_that_all_draw_each_run_their_own_model() -> None:
    seen = check_against_separate(NoisyMLP, [0.5, 0.0, 0.3])
    assert all(BATCH in sizes for sizes in seen)  # each draws noise; the rest run alone too


@pytest.mark.parametrize("layer", [nn.AlphaDropout, nn.Dropout1d])
def test_another_dropout_class_runs_its_own_model(layer) -> None:
    def make(p: float) -> nn.Module:
        return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), layer(p), nn.Linear(16, 3))

    seen = check_against_separate(make, [0.5, 0.0, 0.0, 0.3])
    assert BATCH in seen[0] and BATCH in seen[3]  # their own models draw their masks
    assert BATCH not in seen[1] and BATCH not in seen[2]
