"""The verdict describes the curve truthfully at every run length (10 to 200 epochs).

The reference for each case is the curve's own shape, computed here: where its minimum is, how far
its end lies above it, whether it still falls at the end.
"""

from __future__ import annotations

import numpy as np
import pytest

from regopt.diagnostics.verdict import VerdictRules, diagnose

LENGTHS = (10, 11, 15, 20, 50, 200)


def still_falling(n: int) -> np.ndarray:
    """10% lower every epoch, to the last: a run stopped while it still learns."""
    return 2.0 * 0.9 ** np.arange(n)


def u_shaped(n: int, low_at: float = 0.4, rise: float = 0.5) -> np.ndarray:
    """Falls to 0.3 at `low_at` of the run, then rises linearly to (1 + rise) x 0.3 at the end."""
    e = np.arange(n, dtype=float)
    m = round(low_at * (n - 1))
    down = 0.3 + 1.5 * ((m - e) / max(m, 1)) ** 2
    up = 0.3 * (1 + rise * (e - m) / (n - 1 - m))
    return np.where(e <= m, down, up)


def noisy(curve: np.ndarray, level: float, seed: int) -> np.ndarray:
    return curve * np.random.default_rng(seed).lognormal(0.0, level, size=len(curve))


def percent(value: float) -> str:
    return f"{value:.0%}"


@pytest.mark.parametrize("n", LENGTHS)
def test_a_run_still_improving_says_so_and_ends_at_its_minimum(n: int) -> None:
    val, train = still_falling(n), still_falling(n) * 0.8
    d = diagnose(range(n), val, train)
    assert d.kind == "improving", d.verdict
    assert d.min_epoch == n - 1 and d.onset_epoch is None
    assert d.val_rise == pytest.approx(0.0, abs=1e-12)  # the end is the minimum
    assert d.train_fall == pytest.approx(0.0, abs=1e-12)
    assert d.verdict.startswith(f"still improving after {n} epochs: validation loss ")
    assert f"lowest at epoch {n - 1}" in d.verdict
    assert "above its minimum" not in d.verdict


@pytest.mark.parametrize("n", LENGTHS)
def test_a_u_shaped_curve_is_overfitting_from_its_minimum(n: int) -> None:
    val, train = u_shaped(n), still_falling(n)
    true_min = int(np.argmin(val))
    d = diagnose(range(n), val, train)
    assert d.kind == "overfitting", d.verdict
    assert abs(d.onset_epoch - true_min) <= max(1, n // 20)
    # the rise it reports lies between the smoothed and the raw rise of the curve itself
    assert 0.1 <= d.val_rise <= val[-1] / val.min() - 1 + 1e-9
    assert percent(d.val_rise) in d.verdict and 0 < d.train_fall <= 1


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("seed", range(5))
def test_a_noisy_plateau_is_neither_overfitting_nor_improving(n: int, seed: int) -> None:
    val = noisy(np.full(n, 0.4), 0.03, seed)
    train = still_falling(n) + 0.01
    d = diagnose(range(n), val, train)
    assert d.kind == "none", d.verdict
    assert d.val_rise < 0.1 and d.verdict.startswith(f"no overfitting within {n} epochs")
    assert f"ends {percent(d.val_rise)} above its minimum at epoch {d.min_epoch}" in d.verdict


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("seed", range(5))
def test_a_noisy_u_is_overfitting_near_its_minimum(n: int, seed: int) -> None:
    clean = u_shaped(n, rise=1.0)
    d = diagnose(range(n), noisy(clean, 0.03, seed), noisy(still_falling(n), 0.03, seed + 50))
    assert d.kind == "overfitting", d.verdict
    assert abs(d.onset_epoch - int(np.argmin(clean))) <= max(2, n // 10)


@pytest.mark.parametrize("n", LENGTHS)
def test_the_numbers_never_contradict_the_curve(n: int) -> None:
    """Whatever the shape: the rise is measured from the smoothed minimum, so it is >= 0, and the
    end of a curve that never rose is reported at its minimum."""
    shapes = [still_falling(n), u_shaped(n), np.full(n, 0.4), np.linspace(1.0, 2.0, n)]
    for val in shapes:
        d = diagnose(range(n), val, still_falling(n))
        assert d.val_rise is not None and d.val_rise >= 0
        if np.all(np.diff(val) <= 0):
            assert d.val_rise == pytest.approx(0.0, abs=1e-12), d.verdict
            assert d.kind in ("improving", "none")


def test_patience_is_capped_at_a_third_of_the_run() -> None:
    d = diagnose(range(10), u_shaped(10), still_falling(10))
    assert d.patience == 3
    d = diagnose(range(200), u_shaped(200), still_falling(200))
    assert d.patience == VerdictRules().patience


def test_a_rise_in_the_last_epochs_only_is_named_not_called_overfitting() -> None:
    val = np.concatenate([np.full(95, 0.3) - 1e-4 * np.arange(95), np.full(5, 0.6)])
    d = diagnose(range(100), val, still_falling(100))
    assert d.kind == "none", d.verdict
    assert d.verdict.startswith("no overfitting within 100 epochs yet")
    assert f"{percent(d.val_rise)} above its minimum at epoch {d.min_epoch}" in d.verdict
