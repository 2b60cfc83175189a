"""Whether the curvature agrees with the gap-based verdict, when `diagnostics=sharpness` ran.

The flat-minima reading: a network that overfits moves into a sharper minimum, so the top Hessian
eigenvalue rises after the validation minimum while the gap grows; one that does not overfit
keeps it flat or falling. The clause compares the last measurement at or before the verdict's
`min_epoch` with the last one after it (both needed: no clause otherwise) and calls a change of
at least `min_change` (the verdict's `min_rise`, relative) a rise or a fall. It is a second
opinion beside the verdict, not a rule of it: the kind and the onset stay the gap's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

KEY = "sharpness/top_eigenvalue"
GAP = "gap/loss"
JUDGED = ("overfitting", "improving", "none")  # the kinds that say whether it overfits


def sharpness_opinion(
    kind: str, min_epoch: int | None, rows: Sequence[dict[str, float]], min_change: float
) -> tuple[str, dict[str, Any]] | None:
    """(the verdict's clause, the numbers behind it), or None when there is nothing to compare."""
    if kind not in JUDGED or min_epoch is None:
        return None
    measured = [r for r in rows if math.isfinite(r.get(KEY, math.nan)) and "epoch" in r]
    before = [r for r in measured if r["epoch"] <= min_epoch]
    after = [r for r in measured if r["epoch"] > min_epoch]
    if not before or not after or before[-1][KEY] <= 0:
        return None
    start, end = before[-1], after[-1]
    change = end[KEY] / start[KEY] - 1.0
    rose = change >= min_change
    agrees = rose == (kind == "overfitting")
    numbers: dict[str, Any] = {
        "agrees": agrees,
        "from_epoch": int(start["epoch"]),
        "to_epoch": int(end["epoch"]),
        "top_eigenvalue_change": change,
    }
    gap = ""
    if GAP in start and GAP in end:
        numbers["gap_change"] = end[GAP] - start[GAP]
        gap = f" while gap/loss went from {start[GAP]:.3g} to {end[GAP]:.3g}"
    trend = "rose" if rose else ("fell" if change <= -min_change else "stayed flat")
    clause = (
        f"; sharpness {'agrees' if agrees else 'disagrees'}: the top Hessian eigenvalue {trend} "
        f"({change:+.0%}) from epoch {numbers['from_epoch']} to {numbers['to_epoch']}{gap}"
    )
    return clause, numbers
