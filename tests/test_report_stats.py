"""The report's effect intervals: scipy's own t-tests as the reference, and calibration on
simulated sweeps with a known effect and known seed noise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from regopt.report.stats import effect, half_width_factor, mean_interval

SIMS = 200


def test_paired_and_welch_intervals_equal_scipys_t_tests() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.2, 0.05, 4), rng.normal(0.18, 0.05, 4)
    paired = effect(dict(enumerate(a)), dict(enumerate(b)))
    ci = scipy_stats.ttest_rel(a, b).confidence_interval(0.95)
    assert paired.method == "paired" and paired.n == 4
    assert (paired.mean, paired.low, paired.high) == pytest.approx((np.mean(a - b), *ci))
    # no shared seed: Welch's unequal-variance interval
    c = rng.normal(0.1, 0.2, 6)
    welch = effect({("x", i): v for i, v in enumerate(a)}, {("y", i): v for i, v in enumerate(c)})
    ci = scipy_stats.ttest_ind(a, c, equal_var=False).confidence_interval(0.95)
    assert welch.method == "welch"
    assert (welch.mean, welch.low, welch.high) == pytest.approx((a.mean() - c.mean(), *ci))
    one = mean_interval([0.3])
    assert one.low is None and one.within_noise is None  # one seed: no interval, no verdict


def _sweep(rng: np.random.Generator, true_effect: float, seeds: int) -> tuple[dict, dict]:
    """A baseline and a setting over the same seeds: the seed moves both runs alike (shared
    initial weights and data order, sd 0.04), each run adds its own noise (sd 0.004)."""
    seed_offset = rng.normal(0.0, 0.04, seeds)
    base = 0.17 + seed_offset + rng.normal(0.0, 0.004, seeds)
    setting = 0.17 + true_effect + seed_offset + rng.normal(0.0, 0.004, seeds)
    return dict(enumerate(setting)), dict(enumerate(base))


@pytest.mark.parametrize("seeds", [3, 5])
def test_paired_intervals_are_calibrated(seeds: int) -> None:
    rng = np.random.default_rng(seeds)
    known = [effect(*_sweep(rng, -0.012, seeds)) for _ in range(SIMS)]
    covered = sum(i.low <= -0.012 <= i.high for i in known) / SIMS
    assert 0.88 <= covered <= 0.98
    null = [effect(*_sweep(rng, 0.0, seeds)) for _ in range(SIMS)]
    false_effects = sum(not i.within_noise for i in null) / SIMS
    assert 0.02 <= false_effects <= 0.10
    large = [effect(*_sweep(rng, 0.08, seeds)) for _ in range(SIMS)]
    assert not any(i.within_noise for i in large)
    # unpaired (the seeds relabelled apart), the same known effect is mostly lost in seed noise
    unpaired = []
    for _ in range(SIMS):
        setting, base = _sweep(rng, -0.012, seeds)
        unpaired.append(effect({("s", k): v for k, v in setting.items()}, base))
    assert all(i.method == "welch" for i in unpaired)
    assert sum(i.within_noise for i in unpaired) / SIMS > 0.5


def test_welch_intervals_are_calibrated_with_unequal_spreads() -> None:
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(SIMS):
        a, b = rng.normal(0.30, 0.02, 4), rng.normal(0.25, 0.06, 6)
        i = effect({("a", k): v for k, v in enumerate(a)}, {("b", k): v for k, v in enumerate(b)})
        hits += i.low <= 0.05 <= i.high
    assert 0.88 <= hits / SIMS <= 0.98


def test_the_width_table_in_docs_is_the_commands_output() -> None:
    """docs/report.md quotes `python -m regopt.report.stats` row for row; the factors are
    t(0.975, n-1)/sqrt(n), so the width falls about as 1/sqrt(n) once n is past a few seeds."""
    command = [sys.executable, "-m", "regopt.report.stats"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    page = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text()
    assert len(rows) == 7 and all(row in page for row in rows)
    assert half_width_factor(20) == pytest.approx(scipy_stats.t.ppf(0.975, 19) / np.sqrt(20))
    # ~1/sqrt(n) once t is near the normal quantile: 4 times the seeds, about half the width
    assert half_width_factor(400) * np.sqrt(400) == pytest.approx(1.96, rel=0.01)
    assert half_width_factor(100) / half_width_factor(400) == pytest.approx(2.0, rel=0.02)
