"""Measures of coupling on a loss landscape over learning rate x a regulariser's strength
(regopt.analysis.decoupling): where each lr's best strength lies (the ridge), how it moves with
the lr, and how far the landscape is from a sum of an lr term and a strength term.

Both axes are read in log10; a ridge slope of 0 means the best strength does not depend on the lr
(the two hyperparameters separate), -1 means it falls as 1 / lr (a diagonal valley).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

GOOD = 0.10  # the good region: cells within 10% of the grid's lowest loss


@dataclass
class Grid:
    """One pair's mean loss per (strength, lr) cell; nan where a seed diverged."""

    lrs: list[float]
    strengths: list[float]
    values: list[list[float]]  # [strength index][lr index]
    steps: int


def ridge(g: Grid) -> list[tuple[float, float]]:
    """(log10 lr, log10 best strength) per lr: the column's argmin, moved to the vertex of the
    parabola in log loss through it and its two neighbours (kept between them)."""
    points = []
    xs = [math.log10(s) for s in g.strengths]
    for col, lr in enumerate(g.lrs):
        ys = [math.log(row[col]) for row in g.values]  # nan stays nan
        finite = [i for i, y in enumerate(ys) if not math.isnan(y)]
        if not finite:
            continue
        i = min(finite, key=lambda k: ys[k])
        best = xs[i]
        if 0 < i < len(xs) - 1 and not (math.isnan(ys[i - 1]) or math.isnan(ys[i + 1])):
            (x0, x1, x2), (y0, y1, y2) = xs[i - 1 : i + 2], ys[i - 1 : i + 2]
            den = (x0 - x1) * (x0 - x2) * (x1 - x2)
            a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
            b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / den
            if a > 0:
                best = min(max(-b / (2 * a), x0), x2)
        points.append((math.log10(lr), best))
    return points


def slope_and_r(points: list[tuple[float, float]]) -> tuple[float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if len(points) < 2:
        return math.nan, math.nan
    slope = statistics.linear_regression(xs, ys).slope
    r = statistics.correlation(xs, ys) if len(set(ys)) > 1 else math.nan
    return slope, r


def interaction_share(g: Grid) -> float:
    """Residual variance of an additive fit to log loss; a diverged cell counts as the worst."""
    worst = max(v for row in g.values for v in row if not math.isnan(v))
    y = [[math.log(worst if math.isnan(v) else v) for v in row] for row in g.values]
    grand = statistics.fmean(v for row in y for v in row)
    rows = [statistics.fmean(row) for row in y]
    cols = [statistics.fmean(col) for col in zip(*y, strict=True)]
    total = sum((v - grand) ** 2 for row in y for v in row)
    resid = sum(
        (v - rows[i] - cols[j] + grand) ** 2 for i, row in enumerate(y) for j, v in enumerate(row)
    )
    return resid / total if total > 0 else 0.0


def summarise(g: Grid, per_step: bool) -> dict[str, object]:
    """The grid's lowest cell and its coupling measures; `per_step`: the strength is a decay per
    step, also given normalised as the paper does (d x sqrt(steps))."""
    cells = [
        (v, s, lr)
        for row, s in zip(g.values, g.strengths, strict=True)
        for v, lr in zip(row, g.lrs, strict=True)
    ]
    finite = [c for c in cells if not math.isnan(c[0])]
    loss, strength, lr = min(finite)
    points = ridge(g)
    slope, r = slope_and_r(points)
    # the ridge where it matters: the lrs with a cell in the good region (an lr too small to
    # train at all prefers no decay, whatever the form)
    good = [
        math.log10(lr)
        for col, lr in enumerate(g.lrs)
        if any(row[col] <= (1 + GOOD) * loss for row in g.values)
    ]
    good_slope, _ = slope_and_r([p for p in points if p[0] in good])
    return {
        "cells": len(cells),
        "diverged_cells": len(cells) - len(finite),
        "min_loss": loss,
        "lr_at_min": lr,
        "strength_at_min": strength,
        "strength_norm_at_min": strength * math.sqrt(g.steps) if per_step else "",
        "ridge_slope": slope,
        "ridge_r": r,
        "good_lrs": len(good),
        "good_ridge_slope": good_slope,
        "interaction_share": interaction_share(g),
    }
