"""The verdict says whether the top Hessian eigenvalue agrees with the gap, when it was measured:
rising after the validation minimum agrees with overfitting, flat or falling with none."""

from __future__ import annotations

import numpy as np

from regopt.diagnostics.verdict import diagnose_rows

EPOCHS = 60


def rows(sharpness, overfit: bool, every: int = 10) -> list[dict[str, float]]:
    """A U-shaped validation loss (minimum at epoch 20) or a falling one; training loss falls."""
    out = []
    for epoch in range(EPOCHS):
        train = 2.0 * np.exp(-epoch / 10)
        val = 0.5 + 0.002 * (epoch - 20) ** 2 if overfit else 0.5 + 1.5 * np.exp(-epoch / 10)
        row = {"epoch": epoch, "val/loss": val, "train_eval/loss": train, "gap/loss": val - train}
        if sharpness is not None and epoch % every == 0:
            row["sharpness/top_eigenvalue"] = sharpness(epoch)
        out.append(row)
    return out


def test_rising_sharpness_agrees_with_overfitting() -> None:
    diagnosis = diagnose_rows(rows(lambda e: 1.0 + e / 10, overfit=True))
    assert diagnosis.kind == "overfitting" and diagnosis.min_epoch == 20
    change = (1.0 + 50 / 10) / (1.0 + 20 / 10) - 1  # from epoch 20 (at the minimum) to 50
    assert diagnosis.sharpness["agrees"] is True
    assert diagnosis.sharpness["top_eigenvalue_change"] == change
    assert (diagnosis.sharpness["from_epoch"], diagnosis.sharpness["to_epoch"]) == (20, 50)
    assert diagnosis.sharpness["gap_change"] > 0
    assert diagnosis.verdict.startswith("overfitting from epoch 20: ")
    assert diagnosis.verdict.endswith(
        f"; sharpness agrees: the top Hessian eigenvalue rose ({change:+.0%}) from epoch 20 to 50"
        f" while gap/loss went from {rows(None, True)[20]['gap/loss']:.3g} to "
        f"{rows(None, True)[50]['gap/loss']:.3g}"
    )
    assert diagnosis.to_dict()["sharpness"] == diagnosis.sharpness


def test_falling_sharpness_disagrees_with_overfitting() -> None:
    diagnosis = diagnose_rows(rows(lambda e: 10.0 - e / 10, overfit=True))
    assert diagnosis.kind == "overfitting" and diagnosis.sharpness["agrees"] is False
    assert "; sharpness disagrees: the top Hessian eigenvalue fell (-" in diagnosis.verdict


def plateau(sharpness) -> list[dict[str, float]]:
    """Validation loss lowest in the first epochs, then flat (1% above): no overfitting."""
    out = rows(sharpness, overfit=False)
    for row in out:
        row["val/loss"] = 0.5 + (0.0 if row["epoch"] < 5 else 0.005)
    return out


def test_without_overfitting_flat_sharpness_agrees_and_rising_disagrees() -> None:
    flat = diagnose_rows(plateau(lambda e: 3.0))
    assert flat.kind == "none" and flat.sharpness["agrees"] is True
    assert "; sharpness agrees: the top Hessian eigenvalue stayed flat (+0%)" in flat.verdict
    rising = diagnose_rows(plateau(lambda e: 3.0 + (e > 30) * 2.0))
    assert rising.kind == "none" and rising.sharpness["agrees"] is False
    assert "sharpness disagrees: the top Hessian eigenvalue rose (+67%)" in rising.verdict
    at_the_end = diagnose_rows(rows(lambda e: 3.0, overfit=False))
    assert at_the_end.kind == "none" and at_the_end.sharpness is None  # nothing after its minimum


def test_no_sharpness_or_nothing_after_the_minimum_leaves_the_verdict_alone() -> None:
    plain = diagnose_rows(rows(None, overfit=True))
    assert plain.sharpness is None and "sharpness" not in plain.to_dict()
    only_before = [
        {k: v for k, v in r.items() if r["epoch"] <= 20 or k != "sharpness/top_eigenvalue"}
        for r in rows(lambda e: 1.0 + e, overfit=True)
    ]
    assert diagnose_rows(only_before).verdict == plain.verdict
