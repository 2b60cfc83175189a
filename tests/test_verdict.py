"""The overfitting verdict on synthetic curves: clean U, monotone, noisy, plateau, and the rest."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regopt.diagnostics.verdict import (
    VerdictRules,
    diagnose,
    diagnose_rows,
    running_median,
    smooth,
)

EPOCHS = list(range(100))


def u_curve(minimum_at: int, depth: float = 0.3, curvature: float = 2e-4) -> np.ndarray:
    e = np.arange(100, dtype=float)
    return depth + curvature * (e - minimum_at) ** 2


def falling(start: float = 2.0, scale: float = 10.0) -> np.ndarray:
    return start * np.exp(-np.arange(100) / scale) + 1e-4


def noisy(curve: np.ndarray, level: float, seed: int) -> np.ndarray:
    return curve * np.random.default_rng(seed).lognormal(0.0, level, size=len(curve))


def test_clean_u_is_overfitting_from_its_minimum_with_the_numbers_in_the_sentence() -> None:
    val, train = u_curve(30), falling()
    d = diagnose(EPOCHS, val, train)
    assert d.kind == "overfitting" and d.onset_epoch == 30 and d.min_epoch == 30
    v_end, v_min = smooth(val, 5)[-1], smooth(val, 5).min()
    assert d.val_rise == pytest.approx(v_end / v_min - 1)
    assert d.train_fall == pytest.approx(1 - smooth(train, 5)[-1] / smooth(train, 5)[30])
    rise, fall = round(100 * d.val_rise), round(100 * d.train_fall)
    assert d.verdict == (
        f"overfitting from epoch 30: validation loss {rise}% above its minimum "
        f"while training loss fell {fall}%"
    )


def test_monotone_curves_are_not_overfitting() -> None:
    d = diagnose(EPOCHS, falling(1.0, 20.0) + 0.2, falling())
    assert d.kind == "none" and d.onset_epoch is None
    assert d.verdict.startswith("no overfitting within 100 epochs")


@pytest.mark.parametrize("seed", range(20))
def test_noisy_u_finds_the_onset_within_three_epochs(seed: int) -> None:
    val = noisy(u_curve(25, curvature=1e-3), 0.05, seed)
    train = noisy(falling(), 0.05, seed + 100)
    d = diagnose(EPOCHS, val, train)
    assert d.kind == "overfitting"
    assert abs(d.onset_epoch - 25) <= 3


@pytest.mark.parametrize("seed", range(20))
def test_noisy_plateau_with_spikes_never_cries_wolf(seed: int) -> None:
    rng = np.random.default_rng(seed)
    val = noisy(0.2 + 0.8 * np.exp(-np.arange(100) / 5.0), 0.05, seed)
    val[rng.choice(np.arange(20, 100), size=6, replace=False)] *= 1.4  # isolated spikes
    d = diagnose(EPOCHS, val, noisy(falling(), 0.05, seed + 1))
    assert d.kind == "none", d.verdict


def test_a_rise_below_min_rise_or_too_close_to_the_end_is_not_overfitting() -> None:
    small = 0.3 + 0.015 * np.clip(np.arange(100) - 50, 0, None) / 50  # ends 5% up
    assert diagnose(EPOCHS, small, falling()).kind == "none"
    late = np.where(np.arange(100) < 94, 0.3, 0.6)  # a jump in the last 6 epochs only
    late = late - 1e-4 * np.arange(100)
    assert diagnose(EPOCHS, late, falling()).kind == "none"
    # the same jump with a lower bar and a shorter patience is overfitting
    rules = VerdictRules(patience=4, min_rise=0.05)
    assert diagnose(EPOCHS, late, falling(), rules).kind == "overfitting"


def test_underfitting_unstable_diverged_and_too_short() -> None:
    flat_train = 2.3 - 0.3 * (1 - np.exp(-np.arange(100) / 30))
    d = diagnose(EPOCHS, flat_train + 0.05, flat_train)
    assert d.kind == "underfitting" and d.verdict.startswith(
        "underfitting: training loss fell only"
    )
    rising_train = 0.5 + 0.01 * np.arange(100)
    assert diagnose(EPOCHS, u_curve(30), rising_train).kind == "unstable"
    val = u_curve(30)
    val[42] = math.nan
    d = diagnose(EPOCHS, val, falling())
    assert d.kind == "diverged" and "epoch 42" in d.verdict
    d = diagnose(EPOCHS[:5], u_curve(30)[:5], falling()[:5])
    assert d.kind == "too_short" and d.onset_epoch is None


def test_rows_prefer_the_eval_mode_training_loss_and_skip_unvalidated_epochs() -> None:
    val, train = u_curve(30), falling()
    rows = []
    for e in EPOCHS:
        row = {"epoch": e, "train_eval/loss": train[e], "train/loss_data": 1.0}  # flat: unstable
        if e % 2 == 0:
            row["val/loss"] = val[e]
        rows.append(row)
    d = diagnose_rows(rows)
    assert d.kind == "overfitting" and d.onset_epoch == 30
    for row in rows:
        del row["train_eval/loss"]
    assert diagnose_rows(rows).kind == "unstable"  # falls back to train/loss_data


def test_smoothing_ignores_a_single_spike_and_keeps_the_length() -> None:
    values = np.array([1.0, 1.0, 9.0, 1.0, 1.0, 1.0])
    assert running_median(values, 5).tolist() == [1.0] * 6
    assert smooth(values, 5).tolist() == [1.0] * 6
    assert len(smooth(values[:2], 5)) == 2


def sparse_rows(every: int, epochs: int, val: np.ndarray, train: np.ndarray) -> list[dict]:
    """Rows as a run with `trainer.check_val_every_n_epoch=every` leaves them: Lightning validates
    after epochs every-1, 2*every-1, ...; the eval-mode training loss is measured only then."""
    rows = []
    for e in range(epochs):
        row = {"epoch": e, "train/loss_data": train[e]}
        if (e + 1) % every == 0:
            row.update({"val/loss": val[e], "train_eval/loss": train[e]})
        rows.append(row)
    return rows


def test_sparse_validation_sentences_count_epochs_not_validations() -> None:
    e = np.arange(400, dtype=float)
    rows = sparse_rows(20, 400, 0.3 + 0.5 * np.exp(-e / 40), 2.0 * np.exp(-e / 40) + 1e-3)
    d = diagnose_rows(rows)  # 20 validations in 400 epochs
    assert d.kind == "none"
    assert d.verdict.startswith("no overfitting within 400 epochs (20 validations;"), d.verdict
    d = diagnose_rows(rows[:60])  # 3 validations in 60 epochs
    assert d.kind == "too_short"
    assert d.verdict == "too short to judge: 3 validations in 60 epochs (at least 10 needed)"
    flat = sparse_rows(20, 400, 2.3 - 0.001 * e, 2.3 - 0.001 * e)
    d = diagnose_rows(flat)
    assert d.kind == "underfitting"
    assert "in 400 epochs (2.28 at epoch 19 to " in d.verdict, d.verdict


def test_sparse_validation_patience_is_in_epochs() -> None:
    """Validated every 5 of 100 epochs, minimum at epoch 69, then 26% up by the end: the minimum
    lies 30 epochs (6 validations) before the end, more than `patience` = 10 epochs."""
    e = np.arange(100, dtype=float)
    val = 0.3 + 1e-3 * (e - 69) ** 2 / 9
    rows = sparse_rows(5, 100, val, falling())
    d = diagnose_rows(rows)
    assert d.kind == "overfitting" and d.onset_epoch == 69, d.verdict
    # the end level: the smoothed curve's last value
    smoothed = smooth(val[4::5], 5)
    assert d.val_rise == pytest.approx(smoothed[-1] / smoothed.min() - 1)
