"""regularizer=shift: each training input moved as torch.roll (circular) or a zero pad and crop
(F.pad) moves it, by offsets within max_shift drawn per sample; 0 changes and draws nothing; it
refuses data without a spatial shape; and on a small-data job it narrows the gap (slow)."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from conftest import run_job
from regopt.regularizers.base import FitContext
from regopt.regularizers.shift import RandomShift, shift
from regopt.tasks import Classification

SHAPES = [(1, 8, 8), (3, 5, 7), (1, 40), (2, 9)]  # digits, a colour image, MNIST-1D, two channels


def moved(x: Tensor, offset: tuple[int, ...], circular: bool) -> Tensor:
    """One sample (channels, *spatial) moved by `offset`: torch.roll, or F.pad then a crop."""
    spatial = tuple(range(1, x.ndim))
    if circular:
        return torch.roll(x, shifts=offset, dims=spatial)
    s = max(abs(o) for o in offset) + 1
    padded = F.pad(x, [s] * (2 * len(offset)))  # F.pad lists the last axis first
    sizes = x.shape[1:]
    crop = [slice(None)] + [slice(s - o, s - o + n) for o, n in zip(offset, sizes, strict=True)]
    return padded[tuple(crop)]


@pytest.mark.parametrize("circular", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_shift_moves_each_sample_as_roll_or_pad_does(shape, circular) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, *shape, generator=generator)
    offsets = torch.randint(-3, 4, (6, len(shape) - 1), generator=generator)
    flat = x.reshape(6, -1)  # digits are stored flat: the shape comes from the data
    out = shift(flat, offsets, shape, circular)
    assert out.shape == flat.shape
    for i in range(6):
        expected = moved(x[i], tuple(offsets[i].tolist()), circular)
        assert torch.equal(out[i].reshape(shape), expected)


def fitted(shape: tuple[int, ...], **settings) -> RandomShift:
    regularizer = RandomShift(**settings)
    context = FitContext(model=nn.Linear(1, 10), task=Classification(10), train_size=100)
    regularizer.prepare(FitContext(**{**vars(context), "input_shape": shape}))
    return regularizer


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 40)])
def test_each_sample_is_moved_within_max_shift(shape) -> None:
    torch.manual_seed(0)
    x, y = torch.randn(64, *shape), torch.randint(0, 10, (64,))
    regularizer = fitted(shape, max_shift=2)
    out, targets = regularizer.transform_batch(x, y)
    assert targets is y
    circular = len(shape) == 2  # auto: circular for sequences, zeros for images
    seen = set()
    for i in range(64):
        found = [
            offset
            for offset in itertools.product(range(-2, 3), repeat=len(shape) - 1)
            if torch.equal(out[i], moved(x[i], offset, circular))
        ]
        assert found, f"sample {i} is no shift of at most 2 of its input"
        seen.add(found[0])
    assert len(seen) > len(shape)  # drawn per sample, not one offset for the batch


def test_max_shift_zero_changes_and_draws_nothing() -> None:
    x, y = torch.randn(8, 64), torch.randint(0, 10, (8,))
    regularizer = fitted((1, 8, 8), max_shift=0)
    state = torch.get_rng_state()
    out, targets = regularizer.transform_batch(x, y)
    assert out is x and targets is y
    assert torch.equal(torch.get_rng_state(), state)  # the random stream is regularizer=none's


@pytest.mark.parametrize(
    ("shape", "max_shift", "message"),
    [(None, 1, "needs inputs with a spatial shape"), ((64,), 1, r"input_shape is \(64,\)")]
    + [((1, 8, 8), 8, r"max_shift=8 moves every input out of its \(8, 8\) frame")],
)
def test_it_refuses_inputs_it_cannot_shift(shape, max_shift, message) -> None:
    with pytest.raises(ValueError, match=message):
        fitted(shape, max_shift=max_shift)


@pytest.mark.slow
def test_shifts_narrow_the_gap_on_a_small_digits_job(tmp_path) -> None:
    """10% of the digits (179 samples, scaled to [0, 1]: a shift moves pixels of one scale), a
    256-unit MLP, 40 epochs: shifts of one pixel at least halve the final loss gap (val - train;
    measured: 0.17 without, 0.06 with)."""
    job = ["data.train_fraction=0.1", "data.normalize=scale", "model.widths=[256]"]
    job += ["trainer.max_epochs=40", "threads=1"]
    job += ["callbacks=none", "diagnostics=default", "~diagnostics.gradients"]
    gaps = {
        name: run_job([*job, f"regularizer={name}"], tmp_path / name)["final"]["gap/loss"]
        for name in ("none", "shift")
    }
    assert gaps["shift"] < 0.5 * gaps["none"], gaps
