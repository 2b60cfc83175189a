"""The power-law fit of an eigenvalue spectrum's tail, as WeightWatcher fits it (Martin & Mahoney):
the continuous maximum-likelihood exponent of Clauset, Shalizi & Newman (2009) with `xmin`
chosen by the smallest Kolmogorov-Smirnov distance between the tail and its fitted law.

For a tail x_1..x_n >= xmin the density p(x) ~ x^-alpha has the MLE
alpha = 1 + n / sum(log(x_i / xmin)); every sample value but the largest is tried as xmin, and the
one whose fitted CDF 1 - (x / xmin)^(1 - alpha) lies closest (KS) to the tail's empirical CDF wins.
numpy only, vectorised over the candidates in blocks (O(n^2) work, bounded memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 256  # candidate xmins evaluated at once


@dataclass(frozen=True)
class PowerLawFit:
    alpha: float
    xmin: float
    ks_distance: float
    tail_size: int


def fit_power_law(samples: np.ndarray) -> PowerLawFit:
    """The CSN fit of the positive `samples` (at least two distinct values)."""
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    x = x[x > 0]
    if len(np.unique(x)) < 2:
        raise ValueError(f"a power-law fit needs two distinct positive values; got {len(x)}")
    n_all = len(x)
    logs = np.log(x)
    tail_log_sums = np.cumsum(logs[::-1])[::-1]  # sum of log x_j over j >= i
    # candidates: the first index of each distinct value, but the largest
    starts = np.flatnonzero(np.r_[True, np.diff(x) > 0])[:-1]
    best = PowerLawFit(np.nan, np.nan, np.inf, 0)
    for block in range(0, len(starts), BLOCK):
        i = starts[block : block + BLOCK]
        n = n_all - i
        alpha = 1.0 + n / (tail_log_sums[i] - n * logs[i])
        j = np.arange(n_all)
        rank = j[None, :] - i[:, None]  # position of x_j within the tail of candidate i
        inside = rank >= 0
        ratio = np.where(inside, x[None, :] / x[i][:, None], 1.0)
        theory = 1.0 - ratio ** (1.0 - alpha[:, None])
        empirical = rank / n[:, None]
        distance = np.where(inside, np.abs(theory - empirical), 0.0).max(axis=1)
        k = int(np.argmin(distance))
        if distance[k] < best.ks_distance:
            best = PowerLawFit(float(alpha[k]), float(x[i[k]]), float(distance[k]), int(n[k]))
    return best
