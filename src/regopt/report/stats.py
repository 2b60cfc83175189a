"""95% t-intervals for a cell's mean and for the effect of one setting against a baseline.

Why t and why paired: a sweep has few seeds (3 is typical), so the normal approximation is too
narrow; Student's t with n - 1 degrees of freedom is the exact interval for the mean of normal
noise and still close for the mildly skewed losses of real runs. Runs with the same seed share
initial weights and data order, so most of the seed-to-seed spread is common to both sides of a
comparison: the paired difference (setting minus baseline, seed by seed) removes it, and its
interval is mean ± t(0.975, n-1) · sd(differences) / sqrt(n). When fewer than two seeds are
shared (different seed lists), the runs cannot be paired and Welch's interval is used: the
difference of the means ± t(0.975, df) · sqrt(s1²/n1 + s2²/n2), df by Welch-Satterthwaite, which
does not assume equal variances. Either way the width shrinks as 1/sqrt(n) with the number of
seeds. An interval that contains 0 is "within seed noise": the sweep cannot tell the setting
from its baseline at the 95% level.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.95
PAIRED, WELCH = "paired", "welch"


@dataclass(frozen=True)
class Interval:
    """A mean (or a difference of means) with its 95% interval; low/high None under 2 values."""

    mean: float
    low: float | None
    high: float | None
    n: int  # values (pairs for a paired difference; the smaller side for Welch)
    method: str = "mean"  # "mean", PAIRED or WELCH

    @property
    def within_noise(self) -> bool | None:
        """True when the interval contains 0; None when there is no interval (one seed)."""
        if self.low is None or self.high is None:
            return None
        return self.low <= 0.0 <= self.high


def _t(df: float) -> float:
    return float(scipy_stats.t.ppf(0.5 + LEVEL / 2, df))


def mean_interval(values: Sequence[float], method: str = "mean") -> Interval | None:
    """The t-interval of the mean of `values` (None when empty)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return None
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, None, None, 1, method)
    half = _t(x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return Interval(mean, mean - half, mean + half, int(x.size), method)


def welch_interval(a: Sequence[float], b: Sequence[float]) -> Interval | None:
    """mean(a) - mean(b) with Welch's interval (None when a side is empty)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        return None
    diff = float(x.mean() - y.mean())
    n = int(min(x.size, y.size))
    if n < 2:
        return Interval(diff, None, None, n, WELCH)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    if se == 0.0:
        return Interval(diff, diff, diff, n, WELCH)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    half = _t(df) * se
    return Interval(diff, diff - half, diff + half, n, WELCH)


def effect(
    setting: Mapping[Hashable, float], baseline: Mapping[Hashable, float]
) -> Interval | None:
    """The setting's effect against the baseline, both keyed by seed: paired over the shared seeds
    when at least two are shared (unshared runs are left out), else Welch over all values."""
    shared = [k for k in setting if k in baseline]
    if len(shared) >= 2:
        return mean_interval([setting[k] - baseline[k] for k in shared], PAIRED)
    return welch_interval(list(setting.values()), list(baseline.values()))


def half_width_factor(n: int) -> float:
    """The paired interval's half-width in units of the differences' sd: t(0.975, n-1)/sqrt(n)."""
    return _t(n - 1) / math.sqrt(n)


def main() -> None:
    """`python -m regopt.report.stats`: how the half-width shrinks with the number of seeds."""
    print("| seeds | t(0.975, n-1) | half-width / sd of the differences |")
    print("| --- | --- | --- |")
    for n in (2, 3, 5, 10, 20):
        print(f"| {n} | {_t(n - 1):.2f} | {half_width_factor(n):.2f} |")


if __name__ == "__main__":
    main()
